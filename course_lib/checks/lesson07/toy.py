"""Lesson 07's toy-model exercises: the importance-weighted loss and the ToyModel class.

``ToyModel(n_features, n_hidden)`` is graded like lesson 01's ``TinyAutoencoder``: the check
receives the class and reports what an instance does (:func:`_observe_class`): parameter
shapes, outputs with the reference's weights, signs, gradients. An exception in the learner's
code (other than ``NotImplementedError``, a stub) becomes a value of the report, so a mistake
that raises is matched by behaviour like any other.
"""
from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from course_lib import superposition

from ..compare import describe_type
from ..core import Case, Mistake, check, images, rand, with_grad
from ..observe import NA, raised

LESSON = "07"


# ---------------------------------------------------------------- importance_weighted_loss


def _sq(x, x_hat):
    return (x - x_hat).pow(2)


LOSS_MISTAKES = [
    Mistake("Your loss ignores the importance: every feature counts the same. Multiply each squared "
            "error by its feature's importance before summing: `(importance * (x - x_hat)**2)`.",
            lambda x, x_hat, imp: _sq(x, x_hat).sum(-1).mean()),
    Mistake("You weighted the error before squaring it, `(importance * (x - x_hat))**2`, so the weights "
            "count squared. The weight multiplies the squared error: `importance * (x - x_hat)**2`.",
            lambda x, x_hat, imp: (imp * (x - x_hat)).pow(2).sum(-1).mean()),
    Mistake("You averaged over the features too (`.mean()` of everything): the loss sums over the "
            "features, `.sum(-1)`, then averages over the samples, `.mean()`.",
            lambda x, x_hat, imp: (imp * _sq(x, x_hat)).mean()),
    Mistake("You summed over the samples as well: average over them instead (`.sum(-1).mean()`), so "
            "the loss does not grow with the batch size.",
            lambda x, x_hat, imp: (imp * _sq(x, x_hat)).sum()),
    Mistake("You used the absolute error `|x - x_hat|`; this loss squares the error.",
            lambda x, x_hat, imp: (imp * (x - x_hat).abs()).sum(-1).mean()),
    Mistake("You weighted by the square root of the importance. Use the importance itself.",
            lambda x, x_hat, imp: (imp.sqrt() * _sq(x, x_hat)).sum(-1).mean()),
    Mistake("You returned the loss of each sample, one value per row: average them with `.mean()`.",
            lambda x, x_hat, imp: (imp * _sq(x, x_hat)).sum(-1)),
]


@check(LESSON, reference=superposition.importance_weighted_loss, mistakes=LOSS_MISTAKES, returns="number",
       grad_cases=("x_hat that requires grad", "three sets of 5 samples (3, 5, 4)"))
def check_importance_weighted_loss():
    """Grade ``importance_weighted_loss(x, x_hat, importance)``."""
    imp4 = superposition.feature_importance(4, 0.7)
    return [
        Case("batch of 6, 4 features", lambda: (images(6, 4, seed=700), images(6, 4, seed=701), imp4)),
        Case("importance all ones", lambda: (images(5, 3, seed=702), images(5, 3, seed=703), torch.ones(3))),
        Case("one sample", lambda: (images(1, 4, seed=704), rand(1, 4, seed=705), imp4)),
        Case("x_hat that requires grad",
             lambda: (images(8, 4, seed=706),) + with_grad(rand(8, 4, seed=707)) + (imp4,)),
        Case("three sets of 5 samples (3, 5, 4)",
             lambda: (images(15, 4, seed=708).reshape(3, 5, 4),)
             + with_grad(images(15, 4, seed=709).reshape(3, 5, 4)) + (imp4,)),
        Case("float64, 20 features", lambda: (images(7, 20, seed=710, dtype=torch.float64),
                                              images(7, 20, seed=711, dtype=torch.float64),
                                              superposition.feature_importance(20).double())),
        Case("perfect reconstruction gives 0", lambda: (images(4, 4, seed=712),) * 2 + (imp4,)),
    ]


# ---------------------------------------------------------------- ToyModel


def _build(cls: Any, n_features: int, n_hidden: int) -> nn.Module:
    if isinstance(cls, nn.Module):
        raise TypeError("pass the class itself, not an instance: check_toy_model(ToyModel)")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = cls(n_features, n_hidden)
    if not isinstance(model, nn.Module):
        raise TypeError(f"ToyModel({n_features}, {n_hidden}) gave {describe_type(model)}, not an nn.Module: "
                        "write `class ToyModel(nn.Module):` and pass the class to the check")
    return model


def _observe_class(cls: Any) -> Callable:
    def observe(n_features: int, n_hidden: int, x: torch.Tensor) -> dict:
        model = _build(cls, n_features, n_hidden)
        params = dict(model.named_parameters())
        W = params.get("W")
        b = params.get("b", dict(model.named_buffers()).get("b"))
        report = {"parameters": ", ".join(f"{k} {tuple(v.shape)}" for k, v in params.items()) or "none",
                  "output": NA, "output shape": NA, "output >= 0": NA,
                  "parameters without a gradient": NA}
        ref = superposition.ToyModel(n_features, n_hidden, seed=1)
        with torch.no_grad():  # the reference's weights, where the shapes allow
            if W is not None and W.shape == ref.W.shape:
                W.copy_(ref.W)
            if b is not None and b.shape == ref.b.shape:
                b.copy_(ref.b + 0.1)  # a bias that is not zero, so that a missing one shows
        try:
            out = model(x)
        except NotImplementedError:
            raise
        except Exception as err:
            report["output"] = raised(err)
            return report
        if not isinstance(out, torch.Tensor):
            report["output"] = describe_type(out)
            return report
        report["output"] = out.detach().clone()
        report["output shape"] = str(tuple(out.shape))
        report["output >= 0"] = "yes" if bool((out >= 0).all()) else "no"
        trainable = [(k, p) for k, p in params.items() if p.requires_grad]
        if out.requires_grad and trainable:
            grads = torch.autograd.grad((out.float() * torch.linspace(1, 2, out.shape[-1])).sum(),
                                        [p for _, p in trainable], allow_unused=True)
            missing = [k for (k, _), g in zip(trainable, grads) if g is None or not bool(g.abs().sum() > 0)]
            report["parameters without a gradient"] = ", ".join(missing) or "none"
        else:
            report["parameters without a gradient"] = "all (no graph)"
        return report

    return observe


class _NoReLU(nn.Module):
    def __init__(self, n_features, n_hidden):
        super().__init__()
        self.W = nn.Parameter(nn.init.xavier_normal_(torch.empty(n_hidden, n_features)))
        self.b = nn.Parameter(torch.zeros(n_features))

    def forward(self, x):
        return x @ self.W.t() @ self.W + self.b


class _NoBias(_NoReLU):
    def __init__(self, n_features, n_hidden):
        super().__init__(n_features, n_hidden)
        del self.b

    def forward(self, x):
        return torch.relu(x @ self.W.t() @ self.W)


class _BiasAfterReLU(_NoReLU):
    def forward(self, x):
        return torch.relu(x @ self.W.t() @ self.W) + self.b


class _ReLUOnHidden(_NoReLU):
    def forward(self, x):
        return torch.relu(x @ self.W.t()) @ self.W + self.b


class _TransposedW(nn.Module):
    def __init__(self, n_features, n_hidden):
        super().__init__()
        self.W = nn.Parameter(nn.init.xavier_normal_(torch.empty(n_features, n_hidden)))
        self.b = nn.Parameter(torch.zeros(n_features))

    def forward(self, x):
        return torch.relu(x @ self.W @ self.W.t() + self.b)


class _Untied(_NoReLU):
    def __init__(self, n_features, n_hidden):
        super().__init__(n_features, n_hidden)
        self.W_out = nn.Parameter(nn.init.xavier_normal_(torch.empty(n_hidden, n_features)))

    def forward(self, x):
        return torch.relu(x @ self.W.t() @ self.W_out + self.b)


class _BiasNotAParameter(_NoReLU):
    def __init__(self, n_features, n_hidden):
        super().__init__(n_features, n_hidden)
        del self.b
        self.register_buffer("b", torch.zeros(n_features))

    def forward(self, x):
        return torch.relu(x @ self.W.t() @ self.W + self.b)


class _ReturnsHidden(_NoReLU):
    def forward(self, x):
        h = x @ self.W.t()
        return torch.relu(h @ self.W + self.b), h


TOY_MODEL_MISTAKES = [
    Mistake("Your output has negative entries: apply the ReLU to the readout, "
            "`torch.relu(x @ W.T @ W + b)`.", _NoReLU),
    Mistake("Your model has no bias `b` (an `nn.Parameter` of shape (n_features,), zeros at first): "
            "the bias is what lets the ReLU filter out the small interference between features.", _NoBias),
    Mistake("You added the bias after the ReLU. It goes inside: `torch.relu(x @ W.T @ W + b)`, so it can "
            "shift small, interfering values below zero.", _BiasAfterReLU),
    Mistake("You applied the ReLU to the hidden code `x @ W.T`. The toy model's hidden layer is linear; "
            "the only ReLU is on the readout.", _ReLUOnHidden),
    Mistake("Your `W` has shape (n_features, n_hidden). Use (n_hidden, n_features): column i of W is "
            "feature i's direction in the hidden space, h = x @ W.T.", _TransposedW),
    Mistake("Your model reads out with a second weight matrix. The toy model is tied: the same `W` "
            "writes (h = x @ W.T) and reads (h @ W).", _Untied),
    Mistake("Your bias `b` is not trained: make it an `nn.Parameter`, not a plain tensor or buffer.",
            _BiasNotAParameter),
    Mistake("`forward` returns more than x' (e.g. the hidden code too). Return only the "
            "reconstruction `torch.relu(x @ W.T @ W + b)`.", _ReturnsHidden),
]


@check(LESSON, reference=superposition.ToyModel, mistakes=TOY_MODEL_MISTAKES, returns="any",
       observe=_observe_class,
       mismatch_hint="Two parameters, W = nn.Parameter of shape (n_hidden, n_features) and b of shape "
                     "(n_features,); forward(x) = torch.relu(x @ W.T @ W + b).")
def check_toy_model():
    """Grade the class ``ToyModel(n_features, n_hidden)`` by what its instances do."""
    return [
        Case("5 features in 2 dimensions, batch of 4", lambda: (5, 2, images(4, 5, seed=720))),
        Case("20 features in 5 dimensions, batch of 3", lambda: (20, 5, images(3, 20, seed=721))),
        Case("batch of 1, 3 features in 3 dimensions", lambda: (3, 3, images(1, 3, seed=722))),
    ]
