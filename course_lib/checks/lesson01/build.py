"""Lesson 01's "build" exercises: the autoencoder class and one training step.

* ``TinyAutoencoder(n_in, n_latent)``: ``encode`` (Linear + ReLU), ``decode`` (Linear),
  ``forward(x) -> (x_hat, z)``. The check receives the class; it is graded by what an instance
  does (:func:`_observe_class`): shapes, signs, outputs with the reference's weights, parameter
  count, gradients.
* ``train_step(model, optimizer, x, penalty=None) -> float``: one step on the reconstruction
  loss; graded by running it and the reference on identical copies (:func:`_observe_step`).

Both observers report a dict with always the same keys; an exception inside the learner's code
(other than ``NotImplementedError``, a stub) becomes a value of the report, so a mistake that
raises is matched by behaviour like any other.
"""
from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from course_lib import metrics, models, train

from ..core import Case, Mistake, check, images
from ..compare import describe_type
from ..observe import NA, PAIR, forward, stale_optimizer, step_twice

LESSON = "01"


# ---------------------------------------------------------------- TinyAutoencoder


def _build(cls: Any, n_in: int, n_latent: int) -> nn.Module:
    if isinstance(cls, nn.Module):
        raise TypeError("pass the class itself, not an instance: check_tiny_autoencoder(TinyAutoencoder)")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = cls(n_in, n_latent)
    if not isinstance(model, nn.Module):
        raise TypeError(f"TinyAutoencoder({n_in}, {n_latent}) gave {describe_type(model)}, not an nn.Module: "
                        "write `class TinyAutoencoder(nn.Module):` and pass the class to the check")
    return model


def _copy_reference_weights(model: nn.Module, n_in: int, n_latent: int) -> None:
    """Give each parameter the value of an unused reference parameter of the same shape."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        ref = models.TinyAutoencoder(n_in, n_latent)
    pool = list(ref.parameters())
    with torch.no_grad():
        for p in model.parameters():
            for i, q in enumerate(pool):
                if q.shape == p.shape:
                    p.copy_(pool.pop(i))
                    break


def _observe_class(cls: Any) -> Callable:
    def observe(n_in: int, n_latent: int, x: torch.Tensor) -> dict:
        model = _build(cls, n_in, n_latent)  # an __init__ that raises is reported by the harness
        report = {"forward returns": NA, "x_hat shape (1st item)": NA, "z shape (2nd item)": NA,
                  "z >= 0": NA, "number of parameters": sum(p.numel() for p in model.parameters()),
                  "x_hat with the reference's weights": NA, "parameters without a gradient": NA}
        _copy_reference_weights(model, n_in, n_latent)
        out, report["forward returns"] = forward(model, x)
        if out is None:
            return report
        pair = report["forward returns"] == PAIR
        x_hat, z = (out[0], out[1]) if pair else (out if isinstance(out, torch.Tensor) else None, None)
        if x_hat is not None:
            report["x_hat shape (1st item)"] = str(tuple(x_hat.shape))
            report["x_hat with the reference's weights"] = x_hat.detach().clone()
            params = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
            if x_hat.requires_grad and params:
                grads = torch.autograd.grad(x_hat.float().pow(2).sum(), [p for _, p in params], allow_unused=True)
                missing = [name for (name, _), g in zip(params, grads) if g is None or not bool(g.abs().sum() > 0)]
                report["parameters without a gradient"] = ", ".join(missing) or "none"
            else:
                report["parameters without a gradient"] = "all (no graph)"
        if z is not None:
            report["z shape (2nd item)"] = str(tuple(z.shape))
            report["z >= 0"] = "yes" if bool((z >= 0).all()) else "no"
        return report

    return observe


class _NoReLU(nn.Module):
    def __init__(self, n_in, n_latent):
        super().__init__()
        self.encoder, self.decoder = nn.Linear(n_in, n_latent), nn.Linear(n_latent, n_in)

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        z = self.encode(x)
        return self.decode(z), z


class _ReLUOnOutput(_NoReLU):
    def encode(self, x):
        return torch.relu(self.encoder(x))

    def decode(self, z):
        return torch.relu(self.decoder(z))


class _SwappedOutputs(_ReLUOnOutput):
    decode = _NoReLU.decode

    def forward(self, x):
        z = self.encode(x)
        return z, self.decode(z)


class _NoBias(_SwappedOutputs):
    def __init__(self, n_in, n_latent):
        super().__init__(n_in, n_latent)
        self.encoder = nn.Linear(n_in, n_latent, bias=False)
        self.decoder = nn.Linear(n_latent, n_in, bias=False)

    forward = _NoReLU.forward


class _SwappedSizes(_NoBias):
    def __init__(self, n_in, n_latent):
        super().__init__(n_in, n_latent)
        self.encoder, self.decoder = nn.Linear(n_latent, n_in), nn.Linear(n_in, n_latent)


class _Sigmoid(_SwappedSizes):
    __init__ = _NoReLU.__init__

    def encode(self, x):
        return torch.sigmoid(self.encoder(x))


class _TiedNoDecoder(nn.Module):
    def __init__(self, n_in, n_latent):
        super().__init__()
        self.encoder = nn.Linear(n_in, n_latent)

    def encode(self, x):
        return torch.relu(self.encoder(x))

    def decode(self, z):
        return z @ self.encoder.weight

    def forward(self, x):
        z = self.encode(x)
        return self.decode(z), z


class _OnlyXHat(_Sigmoid):
    encode = _ReLUOnOutput.encode

    def forward(self, x):
        return self.decode(self.encode(x))


class _DetachedCode(_OnlyXHat):
    def forward(self, x):
        z = self.encode(x)
        return self.decode(z.detach()), z


TINY_AUTOENCODER_MISTAKES = [
    Mistake("Your code z has negative entries: `encode` must apply the ReLU after the encoder's "
            "Linear layer (`torch.relu(self.encoder(x))`).", _NoReLU),
    Mistake("You applied a ReLU to the reconstruction too: `decode` is only the Linear layer, so "
            "x_hat can take any value.", _ReLUOnOutput),
    Mistake("`forward` returns (z, x_hat); the course's models return `(x_hat, z)`, the "
            "reconstruction first.", _SwappedOutputs),
    Mistake("Your layers have no bias (`bias=False`): `nn.Linear`'s default bias=True is part of "
            "the model (z = relu(W x + b)).", _NoBias),
    Mistake("Your layer sizes are swapped: the encoder maps n_in -> n_latent "
            "(`nn.Linear(n_in, n_latent)`), the decoder n_latent -> n_in.", _SwappedSizes),
    Mistake("Your `encode` applies a sigmoid; this autoencoder's code is a ReLU, `torch.relu(...)`.",
            _Sigmoid),
    Mistake("Your decoder reuses the encoder's weight (tied weights) and has no layer of its own: "
            "give the model a second `nn.Linear(n_latent, n_in)` for `decode`.", _TiedNoDecoder),
    Mistake("`forward` returns only x_hat; return both, `return self.decode(z), z`: the training "
            "loop needs the code for the penalties of later lessons.", _OnlyXHat),
    Mistake("No gradient reaches the encoder: you detached z (or used `.data`) before decoding.",
            _DetachedCode),
]


@check(LESSON, reference=models.TinyAutoencoder, mistakes=TINY_AUTOENCODER_MISTAKES,
       returns="any", observe=_observe_class,
       mismatch_hint="Build it from two `nn.Linear` layers: encode = relu(encoder(x)), "
                     "decode = decoder(z), forward returns (decode(z), z).")
def check_tiny_autoencoder():
    """Grade the class ``TinyAutoencoder(n_in, n_latent)`` by what its instances do."""
    return [
        Case("6 inputs -> 10 latents, batch of 4", lambda: (6, 10, images(4, 6, seed=40))),
        Case("12 inputs -> 5 latents, batch of 3", lambda: (12, 5, images(3, 12, seed=41))),
        Case("batch of 1", lambda: (7, 9, images(1, 7, seed=42))),
    ]


# ---------------------------------------------------------------- train_step


def _observe_step(fn: Callable) -> Callable:
    def observe(x: torch.Tensor, optimizer: str, lam: float) -> dict:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(3)
            model = models.TinyAutoencoder(x.shape[1], 2 * x.shape[1])
        params = list(model.parameters())
        opt = stale_optimizer(params, optimizer, sgd_lr=0.05, adam_lr=0.01)
        penalty = (lambda z: lam * z.abs().sum(-1).mean()) if lam else None
        report: dict = {"returns": NA, "losses of two calls": NA, "parameters after two calls": NA}
        step_twice(lambda: fn(model, opt, x) if penalty is None else fn(model, opt, x, penalty), params, report)
        return report

    return observe


def _step_as_written(model, optimizer, x, penalty=None, *, loss_fn=metrics.reconstruction_error, sign=1.0,
                     zero_grad=True, step=True, item_first=False, as_float=True, loss_after=False):
    """A training step as a learner writes it; each catalogued mistake below changes one part."""
    x_hat, z = model(x)
    loss = loss_fn(x_hat, x) + sign * (penalty(z) if penalty else 0)
    if item_first:
        loss = loss.item()
    if zero_grad:
        optimizer.zero_grad()
    loss.backward()
    if step:
        optimizer.step()
    if loss_after:  # a second forward pass, after the step
        with torch.no_grad():
            x_hat, z = model(x)
            loss = metrics.reconstruction_error(x, x_hat) + (penalty(z) if penalty else 0)
    return loss.item() if as_float else loss


def _step_without_zero_grad(model, optimizer, x, penalty=None):
    return _step_as_written(model, optimizer, x, penalty, zero_grad=False)


def _step_without_step(model, optimizer, x, penalty=None):
    return _step_as_written(model, optimizer, x, penalty, step=False)


def _step_mse_loss(model, optimizer, x, penalty=None):
    return _step_as_written(model, optimizer, x, penalty, loss_fn=F.mse_loss)


def _step_penalty_subtracted(model, optimizer, x, penalty=None):
    return _step_as_written(model, optimizer, x, penalty, sign=-1.0)


def _step_item_before_backward(model, optimizer, x, penalty=None):
    return _step_as_written(model, optimizer, x, penalty, item_first=True)


def _step_returns_tensor(model, optimizer, x, penalty=None):
    return _step_as_written(model, optimizer, x, penalty, as_float=False)


def _step_loss_after(model, optimizer, x, penalty=None):
    return _step_as_written(model, optimizer, x, penalty, loss_after=True)


TRAIN_STEP_MISTAKES = [
    Mistake("You never cleared the old gradients: call `optimizer.zero_grad()` before "
            "`loss.backward()`, otherwise the gradients of earlier steps add up.", _step_without_zero_grad),
    Mistake("Your parameters do not change: call `optimizer.step()` after `loss.backward()`.",
            _step_without_step),
    Mistake("You averaged over the pixels too (`F.mse_loss`): the loss is "
            "`metrics.reconstruction_error(x, x_hat)`, summed over pixels, averaged over the batch.",
            _step_mse_loss),
    Mistake("You subtracted the penalty: add it, `loss = reconstruction + penalty(z)`, so that "
            "training makes it smaller.", _step_penalty_subtracted),
    Mistake("You took `.item()` before `backward()`: a float has no graph. Keep the tensor for "
            "`loss.backward()` and return `loss.item()` at the end.", _step_item_before_backward),
    Mistake("You returned the loss tensor; return a Python float, `loss.item()` (a tensor keeps "
            "its graph, and the memory, alive).", _step_returns_tensor),
    Mistake("You returned the loss after the step (a second forward pass): return the loss you "
            "computed before `optimizer.step()`.", _step_loss_after),
]


@check(LESSON, reference=train.train_step, mistakes=TRAIN_STEP_MISTAKES, returns="any",
       observe=_observe_step, rtol=1e-4, atol=1e-6,
       mismatch_hint="forward, loss, `optimizer.zero_grad()`, `loss.backward()`, "
                     "`optimizer.step()`, return `loss.item()`.")
def check_train_step():
    """Grade ``train_step(model, optimizer, x, penalty=None)``, called twice on a seeded model."""
    return [
        Case("SGD, batch of 5 images with 8 pixels", lambda: (images(5, 8, seed=50), "SGD", 0.0)),
        Case("Adam, batch of 3", lambda: (images(3, 6, seed=51), "Adam", 0.0)),
        Case("SGD with an L1 penalty", lambda: (images(4, 8, seed=52), "SGD", 0.1)),
    ]


__all__ = ["check_tiny_autoencoder", "check_train_step"]
