"""Checks for lesson 01, overcomplete autoencoders: how to measure a code and a reconstruction.

Graded functions (the learner writes them in ``solutions/01_overcomplete_autoencoders.ipynb``):

* ``reconstruction_error(x, x_hat)``: squared error summed over features, mean over the batch.
* ``fraction_variance_unexplained(x, x_hat)``: error relative to predicting the mean image.
* ``l0(z)``: mean number of non-zero units per sample.
* ``dead_fraction(z)``: fraction of units that are zero on every sample.
"""
from __future__ import annotations

import torch

from course_lib.device import get_device

from course_lib import metrics

from ..core import Case, Mistake, check, exported, images, rand, with_grad

LESSON = "01"


# ---------------------------------------------------------------- inputs


def _pair(n: int, d: int, seed: int, **kw) -> tuple[torch.Tensor, torch.Tensor]:
    """An input batch and an imperfect reconstruction of it."""
    x = images(n, d, seed, **kw)
    return x, x + 0.3 * rand(n, d, seed=seed + 100, **kw)


def _relu_code(n: int, h: int, seed: int, active: float = 0.35, **kw) -> torch.Tensor:
    """A ReLU-like code: about ``active`` of the entries positive, the rest exactly zero."""
    return torch.relu(rand(n, h, seed=seed, low=active - 1.0, high=active, **kw))


def _signed_code(seed: int = 5, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A code with negative entries (as a pre-activation or a linear code has) and exact zeros.

    Column 2 holds only negative values and zeros; column 4 holds +0.5 and -0.5, which cancel in a
    sum; columns 6 and 7 are zero everywhere.
    """
    z = rand(5, 8, seed=seed, dtype=dtype)
    z = torch.where(rand(5, 8, seed=seed + 1, low=0.0, high=1.0) < 0.3, torch.zeros_like(z), z)
    z[:, 2] = torch.tensor([-0.4, 0.0, -0.9, 0.0, -0.2], dtype=dtype)
    z[:, 4] = torch.tensor([0.5, 0.0, -0.5, 0.0, 0.0], dtype=dtype)
    z[:, 6:] = 0
    return z


def _code_with_dead(seed: int, dtype: torch.dtype = torch.float32, device="cpu") -> torch.Tensor:
    """A ReLU code of 6 samples and 10 units, of which units 1, 5 and 8 are dead."""
    z = _relu_code(6, 10, seed, active=0.5, dtype=dtype)
    z[0] = z[0].clamp_min(0.05)  # every sample has active units, so no row is all zero
    z[:, [1, 5, 8]] = 0
    return z.to(device)


def _tiny_code() -> torch.Tensor:
    z = _relu_code(5, 7, seed=21)
    z[:, 0] = 1e-7  # tiny but non-zero: active
    return z


# ---------------------------------------------------------------- reconstruction_error


RECONSTRUCTION_MISTAKES = [
    Mistake("You averaged over the pixels as well (like `F.mse_loss`): sum the squared error over "
            "the features of each sample, then average over the batch.",
            lambda x, x_hat: (x_hat - x).pow(2).mean()),
    Mistake("You summed over the batch too: the error should be the mean over samples, so that it "
            "does not grow with the batch size.",
            lambda x, x_hat: (x_hat - x).pow(2).sum()),
    Mistake("You summed over the batch dimension (dim 0) and averaged over the features: sum over "
            "the last dimension (`.sum(-1)`), then `.mean()`.",
            lambda x, x_hat: (x_hat - x).pow(2).sum(0).mean()),
    Mistake("You forgot to square the difference: positive and negative errors cancel out.",
            lambda x, x_hat: (x_hat - x).sum(-1).mean()),
    Mistake("You used the absolute error; the reconstruction error here is the squared error.",
            lambda x, x_hat: (x_hat - x).abs().sum(-1).mean()),
    Mistake("You took the Euclidean distance (a square root of the sum); use the squared "
            "distance, without the root.",
            lambda x, x_hat: (x_hat - x).norm(dim=-1).mean()),
]


@check(LESSON, reference=metrics.reconstruction_error, mistakes=RECONSTRUCTION_MISTAKES,
       grad_cases=("batch of 5 images with 12 pixels", "inputs that require grad"))
def check_reconstruction_error():
    """Grade ``reconstruction_error(x, x_hat)``: per-sample summed squared error, batch mean."""
    device = get_device()
    return [
        Case("batch of 5 images with 12 pixels", lambda: _pair(5, 12, seed=0)),
        Case("batch of 1", lambda: _pair(1, 12, seed=1)),
        Case("perfect reconstruction (all-zero error)", lambda: (lambda x: (x, x.clone()))(images(3, 12, 2))),
        Case("all-zero images", lambda: (torch.zeros(4, 9), torch.zeros(4, 9))),
        Case("float64", lambda: _pair(7, 16, seed=3, dtype=torch.float64)),
        Case("inputs that require grad", lambda: with_grad(*_pair(6, 10, seed=4))),
        Case(f"tensors on {device}", lambda: _pair(8, 784, seed=5, device=device)),
    ]


# ---------------------------------------------------------------- fraction_variance_unexplained


FVU_MISTAKES = [
    Mistake("Your denominator is not centred: divide by the squared distance of x from the mean "
            "image `x.mean(0)`, not by the squared values of x.",
            lambda x, x_hat: (x_hat - x).pow(2).sum() / x.pow(2).sum()),
    Mistake("You centred x with one overall mean (`x.mean()`); the baseline is the mean image, one "
            "mean per pixel: `x.mean(0)`.",
            lambda x, x_hat: (x_hat - x).pow(2).sum() / (x - x.mean()).pow(2).sum()),
    Mistake("You returned the fraction of variance *explained* (R², 1 - FVU); return the "
            "unexplained fraction.",
            lambda x, x_hat: 1 - (x_hat - x).pow(2).sum() / (x - x.mean(0)).pow(2).sum()),
    Mistake("Your ratio is upside down: the error goes in the numerator, the variance around the "
            "mean image in the denominator.",
            lambda x, x_hat: (x - x.mean(0)).pow(2).sum() / (x_hat - x).pow(2).sum()),
    Mistake("You averaged per-sample ratios; FVU divides the total squared error by the total "
            "variance (sum everything first, then divide once).",
            lambda x, x_hat: ((x_hat - x).pow(2).sum(-1) / (x - x.mean(0)).pow(2).sum(-1)).mean()),
    Mistake("You averaged per-pixel ratios; FVU divides the total squared error by the total "
            "variance (sum everything first, then divide once).",
            lambda x, x_hat: ((x_hat - x).pow(2).sum(0) / (x - x.mean(0)).pow(2).sum(0)).mean()),
    Mistake("`x.var()` divides by N - 1 (Bessel's correction) while your error is averaged over N: "
            "use sums of squares in both numerator and denominator.",
            lambda x, x_hat: (x_hat - x).pow(2).mean() / x.var(0).mean()),
    Mistake("You used the variance of all pixel values pooled together (`x.var()`); the baseline "
            "is the mean image, so centre each pixel on its own mean `x.mean(0)`.",
            lambda x, x_hat: (x_hat - x).pow(2).mean() / x.var()),
    Mistake("You centred on the mean of the reconstruction; the baseline is the mean of the data "
            "x, `x.mean(0)`.",
            lambda x, x_hat: (x_hat - x).pow(2).sum() / (x - x_hat.mean(0)).pow(2).sum()),
]


def _mean_image_prediction() -> tuple[torch.Tensor, torch.Tensor]:
    x = images(6, 10, seed=12)
    return x, x.mean(0, keepdim=True).expand_as(x).clone()


@check(LESSON, reference=metrics.fraction_variance_unexplained, mistakes=FVU_MISTAKES,
       returns="number", rtol=1e-4)
def check_fraction_variance_unexplained():
    """Grade ``fraction_variance_unexplained(x, x_hat)``: total error / total variance."""
    device = get_device()
    # No batch-of-1 case: with one sample the mean image is that sample, the variance is zero and
    # FVU is undefined.
    return [
        Case("batch of 6 images with 10 pixels", lambda: _pair(6, 10, seed=10)),
        Case("perfect reconstruction (FVU 0)", lambda: (lambda x: (x, x.clone()))(images(5, 10, 11))),
        Case("predicting the mean image (FVU 1)", _mean_image_prediction),
        Case("batch of 2", lambda: _pair(2, 10, seed=13)),
        Case("float64", lambda: _pair(9, 7, seed=14, dtype=torch.float64)),
        Case("inputs that require grad", lambda: with_grad(*_pair(6, 10, seed=15))),
        Case(f"tensors on {device}", lambda: _pair(16, 784, seed=16, device=device)),
    ]


# ---------------------------------------------------------------- l0


L0_MISTAKES = [
    Mistake("You counted the zeros; L0 counts the units that are *not* zero (`z != 0`).",
            lambda z: (z == 0).sum(-1).double().mean()),
    Mistake("You summed over the batch: L0 is the number of non-zero units per sample, averaged "
            "over the samples.",
            lambda z: (z != 0).sum().double()),
    Mistake("You returned the fraction of non-zero entries; L0 is a count per sample (sum over "
            "units, then mean over samples).",
            lambda z: (z != 0).double().mean()),
    Mistake("You counted over the wrong dimension: sum over the units (the last dimension, "
            "`.sum(-1)`), then average over the samples.",
            lambda z: (z != 0).sum(0).double().mean()),
    Mistake("You summed the magnitudes (that is the L1 norm). L0 counts how many entries are "
            "non-zero, whatever their size.",
            lambda z: z.abs().sum(-1).mean()),
    Mistake("`z > 0` misses negative entries: a code before the ReLU, or a linear code, can be "
            "non-zero and negative. Count `z != 0`.",
            lambda z: (z > 0).sum(-1).double().mean()),
    Mistake("You used a tolerance; L0 counts every entry that is not exactly zero, however small "
            "(a ReLU code is exactly 0 when a unit is off).",
            lambda z: (z.abs() > 1e-6).sum(-1).double().mean()),
]


@check(LESSON, reference=metrics.l0, mistakes=L0_MISTAKES, returns="number")
def check_l0():
    """Grade ``l0(z)``: mean over samples of the number of non-zero units."""
    device = get_device()
    return [
        Case("ReLU code, batch of 6, 10 units", lambda: (_relu_code(6, 10, seed=20),)),
        Case("batch of 1", lambda: (_relu_code(1, 10, seed=22, active=0.6),)),
        Case("code with negative entries (as before a ReLU)", lambda: (_signed_code(),)),
        Case("tiny non-zero values", lambda: (_tiny_code(),)),
        Case("all-zero code", lambda: (torch.zeros(4, 7),)),
        Case("float64", lambda: (_relu_code(5, 9, seed=23, dtype=torch.float64),)),
        Case("code that requires grad", lambda: with_grad(_relu_code(6, 8, seed=24))),
        Case(f"code on {device}", lambda: (_relu_code(64, 1024, seed=25, device=device),)),
    ]


# ---------------------------------------------------------------- dead_fraction


DEAD_MISTAKES = [
    Mistake("You looked along the wrong dimension: a *unit* is dead when its column is zero for "
            "every sample (`.any(0)` over the batch), not when a sample has no active unit.",
            lambda z: (~(z != 0).any(1)).double().mean()),
    Mistake("You returned the fraction of units that are alive; a dead unit is one that is zero "
            "for every sample.",
            lambda z: (z != 0).any(0).double().mean()),
    Mistake("You returned the number of dead units; divide by the number of units to get a "
            "fraction.",
            lambda z: (~(z != 0).any(0)).sum().double()),
    Mistake("You returned the fraction of zero entries. A unit is dead only when it is zero for "
            "every sample: reduce over the batch first (`.any(0)` or `.all(0)`).",
            lambda z: (z == 0).double().mean()),
    Mistake("`z > 0` treats negative values as inactive; a unit with non-zero (even negative) "
            "values is alive. Test `z != 0`.",
            lambda z: (~(z > 0).any(0)).double().mean()),
    Mistake("You summed each unit's values: positive and negative values can cancel. Test every "
            "entry for `!= 0` and reduce with `.any(0)`.",
            lambda z: (z.sum(0) == 0).double().mean()),
    Mistake("You divided the count of dead units by the batch size; divide by the number of units "
            "(`z.shape[1]`).",
            lambda z: (~(z != 0).any(0)).sum().double() / z.shape[0]),
]


@check(LESSON, reference=metrics.dead_fraction, mistakes=DEAD_MISTAKES, returns="number")
def check_dead_fraction():
    """Grade ``dead_fraction(z)``: fraction of units that are zero for every sample."""
    device = get_device()

    def no_dead() -> tuple[torch.Tensor]:
        z = _relu_code(4, 5, seed=31, active=0.5)
        z[0] = z[0].clamp_min(0.1)  # sample 0 activates every unit
        return (z,)

    return [
        Case("ReLU code, 6 samples, 3 of 10 units dead", lambda: (_code_with_dead(30),)),
        Case("code with negative entries (as before a ReLU)", lambda: (_signed_code(),)),
        Case("no dead unit", no_dead),
        Case("batch of 1", lambda: (_relu_code(1, 12, seed=32),)),
        Case("all-zero code", lambda: (torch.zeros(3, 8),)),
        Case("float64", lambda: (_code_with_dead(33, dtype=torch.float64),)),
        Case("code that requires grad", lambda: with_grad(_code_with_dead(34))),
        Case(f"code on {device}", lambda: (_code_with_dead(35, device=device),)),
    ]


__all__ = exported(LESSON)
