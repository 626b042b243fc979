"""Lesson 05's "build" exercise: the class ``TopKSAE(n_in, n_latent, k)``.

Interface (pinned in the exercise): attributes ``encoder`` (``nn.Linear(n_in, n_latent)``),
``decoder`` (``nn.Linear(n_latent, n_in, bias=False)``) and ``b_pre`` (an ``nn.Parameter`` of
shape (n_in,)); methods ``normalize_decoder_()`` (unit-norm columns, in place), ``encode``,
``decode`` and ``forward(x) -> (x_hat, z)``.

The check builds a model from a seed and reports what its initialisation looks like (parameter
shapes, decoder column norms, how the encoder relates to the decoder); then it gives the model
the reference's weights, with ``b_pre`` at the data mean, compares the code and reconstruction,
and trains it for a few steps with :func:`course_lib.topk.topk_sae_step` and AuxK (in float64,
with SGD) beside the reference. Each observation is one entry of a report with fixed keys, so a
catalogued mistake is recognised by behaving the same.
"""
from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from course_lib import topk

from ..compare import describe_type
from ..core import Case, Mistake, check, images
from ..observe import NA, PAIR, forward, raised

LESSON = "05"
STEPS = 4


def _build(cls: Any, n_in: int, n_latent: int, k: int, seed: int) -> nn.Module:
    if isinstance(cls, nn.Module):
        raise TypeError("pass the class itself, not an instance: check_topk_sae(TopKSAE)")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = cls(n_in, n_latent, k)
    if not isinstance(model, nn.Module):
        raise TypeError(f"TopKSAE({n_in}, {n_latent}, {k}) gave {describe_type(model)}, not an nn.Module")
    return model.double()


def _param(model: nn.Module, name: str) -> torch.Tensor | None:
    try:
        p = model.get_parameter(name)
    except (AttributeError, TypeError):
        return None
    return p


def _columns(W: torch.Tensor | None) -> str:
    if W is None:
        return NA
    cols = W.norm(dim=0)
    if torch.allclose(cols, torch.ones_like(cols), atol=1e-6):
        return "unit norm"
    rows = W.norm(dim=1)
    if torch.allclose(rows, torch.ones_like(rows), atol=1e-6):
        return "rows of unit norm, columns not"
    return "not unit norm"


def _encoder_vs_decoder(E: torch.Tensor | None, W: torch.Tensor | None) -> str:
    if E is None or W is None or E.shape != W.t().shape:
        return NA
    if torch.allclose(E, W.t(), atol=1e-6):
        return "the decoder's transpose"
    cos = nn.functional.cosine_similarity(E, W.t(), dim=1)
    if bool((cos > 1 - 1e-6).all()):
        return "parallel to the decoder's columns, other lengths"
    return "unrelated to the decoder"


def _copy_reference(model: nn.Module, ref: nn.Module) -> None:
    with torch.no_grad():
        for name, q in ref.named_parameters():
            p = _param(model, name)
            if p is not None and p.shape == q.shape:
                p.copy_(q)
        for name, p in model.named_parameters():
            if _param(ref, name) is None:
                p.zero_()  # an extra parameter (e.g. a decoder bias) starts at 0


def _observe_class(cls: Any) -> Callable:
    def observe(n_in: int, n_latent: int, k: int, X: torch.Tensor) -> dict:
        model = _build(cls, n_in, n_latent, k, seed=0)
        shapes = {name: tuple(p.shape) for name, p in model.named_parameters()}
        report: dict = {
            "parameters": ", ".join(f"{name} {shape}" for name, shape in sorted(shapes.items())),
            "decoder columns at init": _columns(_param(model, "decoder.weight")),
            "encoder weight at init": _encoder_vs_decoder(_param(model, "encoder.weight"),
                                                          _param(model, "decoder.weight")),
            "forward returns": NA, "active latents per sample": NA, "z >= 0": NA,
            "z with the reference's weights": NA, "x_hat with the reference's weights": NA,
            "losses of the training steps": NA, "decoder columns after training": NA,
            "parameters after training": NA,
        }
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(1)
            ref = topk.TopKSAE(n_in, n_latent, k).double()
        with torch.no_grad():  # biases that leave some samples with fewer than k positive pre-activations
            ref.b_pre.copy_(X.mean(0))
            ref.encoder.bias.copy_(torch.linspace(-0.9, 0.1, n_latent, dtype=torch.float64))
        _copy_reference(model, ref)
        out, report["forward returns"] = forward(model, X)
        if report["forward returns"] != PAIR:
            return report
        x_hat, z = out
        report["x_hat with the reference's weights"] = x_hat.detach().clone()
        report["z with the reference's weights"] = z.detach().clone()
        if z.dim() == 2:
            report["active latents per sample"] = (z != 0).sum(1).tolist()
        report["z >= 0"] = "yes" if bool((z >= 0).all()) else "no"
        params = [p for _, p in sorted(model.named_parameters())]
        optimizer = torch.optim.SGD(params, lr=0.05)
        aux = topk.AuxK(n_latent, k_aux=4, coef=0.5, window=len(X) // 2)
        losses = []
        try:
            for step in range(STEPS):
                batch = X[(step * 8) % len(X):][:8]
                losses.append(topk.topk_sae_step(model, optimizer, batch, aux))
        except NotImplementedError:
            raise
        except Exception as err:
            report["losses of the training steps"] = raised(err)
            return report
        report["losses of the training steps"] = torch.tensor(losses, dtype=torch.float64)
        report["decoder columns after training"] = _columns(_param(model, "decoder.weight"))
        report["parameters after training"] = [p.detach().clone() for p in params]
        return report

    return observe


# ---------------------------------------------------------------- the catalogue, as learners write it


class _AsWritten(nn.Module):
    """A TopKSAE as a learner writes it; each catalogued mistake changes one part."""

    normalize_at_init = True
    tie_after_normalising = True
    tie = True
    decoder_bias = False
    norm_dim = 0

    def __init__(self, n_in, n_latent, k):
        super().__init__()
        self.k = k
        self.b_pre = nn.Parameter(torch.zeros(n_in))
        self.encoder = nn.Linear(n_in, n_latent)
        self.decoder = nn.Linear(n_latent, n_in, bias=self.decoder_bias)
        if self.tie and not self.tie_after_normalising:
            with torch.no_grad():
                self.encoder.weight.copy_(self.decoder.weight.t())
        if self.normalize_at_init:
            self.normalize_decoder_()
        with torch.no_grad():
            if self.tie and self.tie_after_normalising:
                self.encoder.weight.copy_(self.decoder.weight.t())
            self.encoder.bias.zero_()

    @torch.no_grad()
    def normalize_decoder_(self):
        W = self.decoder.weight
        W.copy_(W / W.norm(dim=self.norm_dim, keepdim=True))

    def pre(self, x):
        return self.encoder(x - self.b_pre)

    def select(self, h):
        values, indices = h.topk(self.k, dim=-1)
        return torch.relu(torch.zeros_like(h).scatter(-1, indices, values))

    def encode(self, x):
        return self.select(self.pre(x))

    def decode(self, z):
        return self.decoder(z) + self.b_pre

    def forward(self, x):
        z = self.encode(x)
        return self.decode(z), z


class _NoPreBias(_AsWritten):
    def pre(self, x):
        return self.encoder(x)


class _NoBiasBack(_AsWritten):
    def decode(self, z):
        return self.decoder(z)


class _NoReLU(_AsWritten):
    def select(self, h):
        values, indices = h.topk(self.k, dim=-1)
        return torch.zeros_like(h).scatter(-1, indices, values)


class _TopKOfAbs(_AsWritten):
    def select(self, h):
        indices = h.abs().topk(self.k, dim=-1).indices
        return torch.relu(torch.zeros_like(h).scatter(-1, indices, h.gather(-1, indices)))


class _ReLUOnOutput(_AsWritten):
    def decode(self, z):
        return torch.relu(self.decoder(z) + self.b_pre)


class _TopKOverBatch(_AsWritten):
    def select(self, h):
        values, indices = h.topk(min(self.k, h.shape[0]), dim=0)
        return torch.relu(torch.zeros_like(h).scatter(0, indices, values))


class _NotNormalisedAtInit(_AsWritten):
    normalize_at_init = False


class _NormaliseACopy(_AsWritten):
    @torch.no_grad()
    def normalize_decoder_(self):
        W = self.decoder.weight
        W = W / W.norm(dim=0, keepdim=True)  # a new tensor: the model's weight is unchanged


class _NormaliseRows(_AsWritten):
    norm_dim = 1


class _EncoderNotTied(_AsWritten):
    tie = False


class _TiedBeforeNormalising(_AsWritten):
    tie_after_normalising = False


class _DecoderWithBias(_AsWritten):
    decoder_bias = True


class _SwappedOutputs(_AsWritten):
    def forward(self, x):
        z = self.encode(x)
        return z, self.decode(z)


TOPK_SAE_MISTAKES = [
    Mistake("You never subtract the pre-encoder bias: encode `self.encoder(x - self.b_pre)`, so "
            "the encoder sees each image's difference from the data mean.", _NoPreBias),
    Mistake("Your reconstruction lacks the pre-encoder bias: `decode` is `self.decoder(z) + self.b_pre` "
            "(the bias subtracted before encoding is added back after decoding).", _NoBiasBack),
    Mistake("Your code keeps negative values: apply the ReLU after the top-K selection, "
            "`torch.relu(topk(h))`, so that a selected negative pre-activation contributes 0.", _NoReLU),
    Mistake("You selected the k pre-activations of largest absolute value, so strongly negative ones "
            "take places in the top k and the ReLU then zeroes them: fewer than k latents fire. "
            "Take the top k of h itself, then the ReLU.", _TopKOfAbs),
    Mistake("You put a ReLU on the reconstruction. The ReLU belongs to the code, after the top-K; "
            "`decode` is linear: `self.decoder(z) + self.b_pre`.", _ReLUOnOutput),
    Mistake("You took the top k over the batch (dim 0): each *sample* keeps its own k largest "
            "pre-activations, `h.topk(k, dim=-1)`.", _TopKOverBatch),
    Mistake("The decoder's columns do not have unit norm at initialisation: call "
            "`self.normalize_decoder_()` in `__init__` (before copying its transpose into the encoder).",
            _NotNormalisedAtInit),
    Mistake("Your `normalize_decoder_` changes nothing: `W = W / W.norm(...)` makes a new tensor. "
            "Write into the weight in place: `self.decoder.weight.copy_(...)` (under `torch.no_grad()`).",
            _NormaliseACopy),
    Mistake("You normalised the decoder's rows. Each latent's feature is a *column* of "
            "`decoder.weight` (shape (n_in, n_latent)): divide by `W.norm(dim=0, keepdim=True)`.",
            _NormaliseRows),
    Mistake("Your encoder is not initialised from the decoder: copy the decoder's transpose, "
            "`self.encoder.weight.copy_(self.decoder.weight.t())`, under `torch.no_grad()`.",
            _EncoderNotTied),
    Mistake("You copied the decoder's transpose into the encoder *before* normalising the decoder: "
            "normalise first, then copy, so the encoder's rows are the unit-norm features.",
            _TiedBeforeNormalising),
    Mistake("Your decoder has a bias of its own: create it with `nn.Linear(n_latent, n_in, bias=False)`; "
            "`b_pre` is the only bias on the output side.", _DecoderWithBias),
    Mistake("`forward` returns (z, x_hat); like every model of the course it returns `(x_hat, z)`.",
            _SwappedOutputs),
]


@check(LESSON, reference=topk.TopKSAE, mistakes=TOPK_SAE_MISTAKES, returns="any",
       observe=_observe_class, rtol=1e-6, atol=1e-9,
       mismatch_hint="Compare with the recipe: z = relu(topk(encoder(x - b_pre), k)), "
                     "x_hat = decoder(z) + b_pre, unit-norm decoder columns, encoder = decoder transposed.")
def check_topk_sae():
    """Grade the class ``TopKSAE(n_in, n_latent, k)`` by building, running and training instances."""
    def data(n, d, seed):
        return images(n, d, seed=seed, dtype=torch.float64)

    return [
        Case("12 pixels, 32 latents, k=4, 16 images", lambda: (12, 32, 4, data(16, 12, 530))),
        Case("20 pixels, 16 latents, k=3, 16 images", lambda: (20, 16, 3, data(16, 20, 531))),
        Case("10 pixels, 24 latents, k=1, 16 images", lambda: (10, 24, 1, data(16, 10, 532))),
    ]


__all__ = ["check_topk_sae"]
