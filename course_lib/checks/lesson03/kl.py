"""Checks for lesson 03, the KL sparsity penalty.

Graded functions (conventions of :mod:`course_lib.sparsity` and :mod:`course_lib.metrics`):

* ``mean_activation(a)``: (batch, n_latent) -> (n_latent,), each unit's mean over the batch.
* ``kl_divergence(rho, rho_hat)``: the Bernoulli KL(rho || rho_hat), elementwise, natural log.
* ``kl_sparsity_penalty(a, rho, beta)``: ``beta * sum_j KL(rho || rho_hat_j)`` with rho_hat
  clamped into (eps, 1 - eps); any small eps is accepted.
* ``lifetime_and_population_sparsity(Z, threshold)``: per unit, the fraction of inputs on which
  it is active, and per input, the fraction of units active (active: ``|z| > threshold``).
"""
from __future__ import annotations

import torch

from course_lib import metrics, sparsity
from course_lib.device import get_device

from ..core import Case, Mistake, check, exported, rand, with_grad

LESSON = "03"


def _code(*shape: int, seed: int, dtype: torch.dtype = torch.float32, device="cpu",
          low: float = 0.01, high: float = 0.99) -> torch.Tensor:
    """A sigmoid-like code: values strictly inside (0, 1)."""
    return rand(*shape, seed=seed, dtype=dtype, device=device, low=low, high=high)


# Formulas the mistakes are built from (rho: float, q: tensor of rates).

def _kl_raw(rho, q):
    """The correct KL(rho || q), without any clamping."""
    return rho * torch.log(rho / q) + (1 - rho) * torch.log((1 - rho) / (1 - q))


_kl_swapped = sparsity.kl_divergence_swapped  # KL(q || rho): the arguments in the wrong order


def _log2_kl(rho, q):
    return rho * torch.log2(rho / q) + (1 - rho) * torch.log2((1 - rho) / (1 - q))


def _clamped_mean(a, eps=1e-6):
    return a.mean(0).clamp(eps, 1 - eps)


# ---------------------------------------------------------------- mean_activation

_MEAN_MISTAKES = [
    Mistake("You averaged over the units (dim=1) instead of over the batch (dim=0): rho_hat must "
            "hold one number per unit, its mean activation over the examples.",
            lambda a: a.mean(1)),
    Mistake("You summed over the batch; divide by the batch size (use `.mean(0)`), otherwise "
            "rho_hat grows with the batch size and is no longer a firing rate.",
            lambda a: a.sum(0)),
    Mistake("You averaged over everything and returned one number; keep one value per unit: "
            "`a.mean(0)`.",
            lambda a: a.mean()),
    Mistake("You kept the batch dimension (`keepdim=True`); return shape (n_latent,).",
            lambda a: a.mean(0, keepdim=True)),
    Mistake("You applied a sigmoid to `a` again. The code is already the sigmoid output; "
            "average it as it is.",
            lambda a: torch.sigmoid(a).mean(0)),
    Mistake("You counted how often each unit is above 0.5; rho_hat is the mean activation "
            "itself, `a.mean(0)`, which is differentiable.",
            lambda a: (a > 0.5).to(a.dtype).mean(0)),
    Mistake("You averaged absolute values; average `a` itself.",
            lambda a: a.abs().mean(0)),
]


@check(LESSON, reference=sparsity.mean_activation, mistakes=_MEAN_MISTAKES, grad_cases=("requires grad",))
def check_mean_activation():
    """Grade ``mean_activation(a) -> rho_hat``: shape (n_latent,), the mean over the batch."""
    dev = get_device()
    shapes = {"batch of 6, 4 units": (6, 4), "square 5x5 code": (5, 5), "batch of 1": (1, 7),
              "batch of 300, 16 units": (300, 16)}
    return [Case(label, lambda shape=shape, seed=30 + i: (_code(*shape, seed=seed),))
            for i, (label, shape) in enumerate(shapes.items())] + [
        Case("values of both signs", lambda: (rand(8, 3, seed=34),)),
        Case("all-zero code", lambda: (torch.zeros(4, 6),)),
        Case("float64", lambda: (_code(9, 5, seed=35, dtype=torch.float64),)),
        Case("requires grad", lambda: with_grad(_code(10, 4, seed=36))),
        Case(f"on {dev}", lambda: (_code(12, 8, seed=37, device=dev),)),
    ]


# ---------------------------------------------------------------- kl_divergence

_KL_MISTAKES = [
    Mistake("You swapped the arguments and computed KL(rho_hat || rho). The course's penalty is "
            "KL(rho || rho_hat) = rho*log(rho/rho_hat) + (1-rho)*log((1-rho)/(1-rho_hat)); the "
            "swapped one stays small as rho_hat -> 0, so it barely resists dead units.",
            _kl_swapped),
    Mistake("You used log base 2; the course uses the natural logarithm (`torch.log`), so your "
            "values are 1/ln(2) = 1.44 times too large.",
            _log2_kl),
    Mistake("You used log base 10; use the natural logarithm `torch.log`.",
            lambda rho, q: rho * torch.log10(rho / q) + (1 - rho) * torch.log10((1 - rho) / (1 - q))),
    Mistake("The second term is missing: a Bernoulli KL also compares the probabilities of the "
            "unit being OFF, + (1-rho)*log((1-rho)/(1-rho_hat)).",
            lambda rho, q: rho * torch.log(rho / q)),
    Mistake("The second term lost its weight (1 - rho): it is (1-rho)*log((1-rho)/(1-rho_hat)).",
            lambda rho, q: rho * torch.log(rho / q) + torch.log((1 - rho) / (1 - q))),
    Mistake("Your signs are flipped (the ratios are upside down): KL is never negative; use "
            "log(rho/rho_hat) and log((1-rho)/(1-rho_hat)).",
            lambda rho, q: rho * torch.log(q / rho) + (1 - rho) * torch.log((1 - q) / (1 - rho))),
    Mistake("You summed the KL over the units; kl_divergence is elementwise and returns a tensor "
            "shaped like rho_hat (the penalty does the summing).",
            lambda rho, q: sparsity.kl_divergence(rho, q).sum()),
    Mistake("You averaged the KL; kl_divergence is elementwise and returns a tensor shaped like "
            "rho_hat.",
            lambda rho, q: sparsity.kl_divergence(rho, q).mean()),
]


@check(LESSON, reference=sparsity.kl_divergence, mistakes=_KL_MISTAKES, grad_cases=("requires grad",))
def check_kl_divergence():
    """Grade ``kl_divergence(rho, rho_hat)``: elementwise Bernoulli KL(rho || rho_hat), natural log."""
    dev = get_device()
    return [
        Case("rho=0.05, 8 units", lambda: (0.05, _code(8, seed=40))),
        Case("rho=0.3, rho_hat of shape (3, 4)", lambda: (0.3, _code(3, 4, seed=41))),
        Case("rho_hat == rho (KL is 0)", lambda: (0.1, torch.full((5,), 0.1))),
        Case("one unit", lambda: (0.2, torch.tensor([0.7]))),
        Case("rho_hat near 0 and 1", lambda: (0.05, torch.tensor([1e-4, 1e-3, 0.5, 0.999, 0.9999]))),
        Case("float64", lambda: (0.05, _code(6, seed=42, dtype=torch.float64))),
        Case("requires grad", lambda: (0.05, *with_grad(_code(6, seed=43)))),
        Case(f"on {dev}", lambda: (0.1, _code(7, seed=44, device=dev))),
    ]


# ---------------------------------------------------------------- kl_sparsity_penalty

# The exercise lets the learner choose eps. On codes whose rho_hat lies well inside (0, 1) the
# clamp changes nothing and the value must match tightly. On saturated codes (some unit's mean
# activation exactly 0 or 1) the value depends on eps: there we only require a finite value
# within a factor of 3 of the reference's (eps = 1e-6; any eps in [1e-8, 1e-4] lands inside, as
# long as 1 - eps does not round to 1.0, which happens in float32 below eps ~ 6e-8).
# The two saturated cases therefore carry their own, looser comparison.
_SATURATED_RATIO = 3.0


def _penalty_compare(out, ref, *, ratio: float | None = None) -> bool:
    """Tight (rtol 1e-5) when ``ratio`` is None, else within a factor ``ratio`` of the reference."""
    if not isinstance(out, torch.Tensor) or not isinstance(ref, torch.Tensor) or out.shape != ref.shape:
        return False
    out, ref = out.to(torch.float64), ref.to(torch.float64)
    out_finite, ref_finite = bool(torch.isfinite(out).all()), bool(torch.isfinite(ref).all())
    if not ref_finite:  # only a catalogued mistake gives inf/NaN: match any non-finite output
        return not out_finite
    if not out_finite:
        return False
    if ratio is not None:
        r = out / ref
        return bool(((r >= 1 / ratio) & (r <= ratio)).all())
    return bool(torch.isclose(out, ref, rtol=1e-5, atol=1e-6).all())


def _penalty_compare_saturated(out, ref) -> bool:
    return _penalty_compare(out, ref, ratio=_SATURATED_RATIO)


# The saturated cases compare loosely, so mistakes that only show there come first.
_PENALTY_MISTAKES = [
    Mistake("Your penalty is inf or NaN when a unit's mean activation is exactly 0 or 1 (a dead "
            "or saturated sigmoid unit). Clamp rho_hat first: `rho_hat.clamp(eps, 1 - eps)` with "
            "a small eps such as 1e-6 (in float32, 1 - 1e-8 rounds to exactly 1.0, so an eps "
            "below about 1e-7 leaves the upper end unprotected).",
            lambda a, rho, beta: beta * _kl_raw(rho, a.mean(0)).sum()),
    Mistake("Your eps is too large: clamping rho_hat into (0.01, 0.99) hides how bad a dead or "
            "saturated unit is. Use a small eps such as 1e-6.",
            lambda a, rho, beta: beta * _kl_raw(rho, a.mean(0).clamp(1e-2, 1 - 1e-2)).sum()),
    Mistake("You averaged over the units (dim=1), which gives one number per example; rho_hat "
            "is each unit's mean over the batch, `a.mean(0)`.",
            lambda a, rho, beta: beta * _kl_raw(rho, a.mean(1).clamp(1e-6, 1 - 1e-6)).sum()),
    Mistake("You swapped the arguments: the penalty is KL(rho || rho_hat), target first.",
            lambda a, rho, beta: beta * _kl_swapped(rho, _clamped_mean(a)).sum()),
    Mistake("You averaged the KL over the units; the penalty sums it: "
            "`beta * kl.sum()`.",
            lambda a, rho, beta: beta * _kl_raw(rho, _clamped_mean(a)).mean()),
    Mistake("You forgot to multiply by beta.",
            lambda a, rho, beta: _kl_raw(rho, _clamped_mean(a)).sum()),
    Mistake("You used log base 2; the course uses the natural logarithm.",
            lambda a, rho, beta: beta * _log2_kl(rho, _clamped_mean(a)).sum()),
    Mistake("The (1-rho)*log((1-rho)/(1-rho_hat)) term is missing from your KL.",
            lambda a, rho, beta: beta * (rho * torch.log(rho / _clamped_mean(a))).sum()),
    Mistake("You applied the KL to every activation and then averaged; the KL must be applied "
            "to the mean activation rho_hat = a.mean(0) (first average, then KL).",
            lambda a, rho, beta: beta * _kl_raw(rho, a.clamp(1e-6, 1 - 1e-6)).mean(0).sum()),
    Mistake("You applied a sigmoid to `a` again; the code is already in (0, 1).",
            lambda a, rho, beta: beta * _kl_raw(rho, _clamped_mean(torch.sigmoid(a))).sum()),
]


def _saturated_zero():
    return (torch.zeros(8, 5),)


def _saturated_one():
    a = _code(8, 5, seed=52)
    a = torch.cat([a[:, :4], torch.ones(8, 1)], dim=1)  # unit 4 fires at 1.0 for every example
    return (a,)


@check(LESSON, reference=sparsity.kl_sparsity_penalty, mistakes=_PENALTY_MISTAKES,
       grad_cases=("requires grad",), compare=_penalty_compare)
def check_kl_sparsity_penalty():
    """Grade ``kl_sparsity_penalty(a, rho, beta)``: a 0-d tensor, finite even for saturated codes."""
    dev = get_device()
    return [
        Case("batch of 16, 8 units, rho=0.05, beta=0.5",
             lambda: (_code(16, 8, seed=50), 0.05, 0.5)),
        Case("batch of 1, rho=0.1, beta=3", lambda: (_code(1, 6, seed=51), 0.1, 3.0)),
        Case("batch of 256, 32 units, rho=0.2, beta=2",
             lambda: (_code(256, 32, seed=53, low=0.0, high=0.6), 0.2, 2.0)),
        Case("code already at the target (penalty 0)", lambda: (torch.full((4, 6), 0.05), 0.05, 1.0)),
        Case("all-zero code (every unit dead)", lambda: _saturated_zero() + (0.05, 1.0),
                     compare=_penalty_compare_saturated),
        Case("a unit saturated at 1.0", lambda: _saturated_one() + (0.05, 1.0),
                     compare=_penalty_compare_saturated),
        Case("float64", lambda: (_code(10, 4, seed=54, dtype=torch.float64), 0.05, 1.5)),
        Case("requires grad", lambda: (*with_grad(_code(12, 5, seed=55)), 0.05, 0.7)),
        Case(f"on {dev}", lambda: (_code(12, 5, seed=56, device=dev), 0.1, 1.0)),
    ]


# ---------------------------------------------------------------- lifetime_and_population_sparsity

_sparsities = metrics.lifetime_and_population_sparsity


_SPARSITY_MISTAKES = [
    Mistake("Your two results are swapped: lifetime sparsity is per UNIT (average over the "
            "inputs, dim=0, shape (n_latent,)); population sparsity is per INPUT (average over the "
            "units, dim=1, shape (N,)). Return (lifetime, population).",
            lambda Z, threshold=0.5: _sparsities(Z, threshold)[::-1]),
    Mistake("You returned the fraction of INACTIVE entries; return the fraction of active ones "
            "(|z| > threshold): a low value means sparse.",
            lambda Z, threshold=0.5: tuple(1 - s for s in _sparsities(Z, threshold))),
    Mistake("You returned counts; divide by the number of inputs (lifetime) or units "
            "(population) to get fractions, e.g. with `.float().mean(...)`.",
            lambda Z, threshold=0.5: ((Z.abs() > threshold).float().sum(0),
                                      (Z.abs() > threshold).float().sum(1))),
    Mistake("Use a strict inequality: a unit is active when |z| > threshold, not >=.",
            lambda Z, threshold=0.5: ((Z.abs() >= threshold).float().mean(0),
                                      (Z.abs() >= threshold).float().mean(1))),
    Mistake("You ignored `threshold` and counted every non-zero entry as active.",
            lambda Z, threshold=0.5: ((Z != 0).float().mean(0), (Z != 0).float().mean(1))),
    Mistake("You compared z itself with the threshold; compare its magnitude, |z| > threshold "
            "(a strongly negative value is active too).",
            lambda Z, threshold=0.5: ((Z > threshold).float().mean(0), (Z > threshold).float().mean(1))),
    Mistake("You returned mean activations; these sparsities are fractions of ACTIVE entries "
            "(|z| > threshold), not average values.",
            lambda Z, threshold=0.5: (Z.mean(0), Z.mean(1))),
]


def _lp_compare(out, ref) -> bool:
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        return False
    for o, r in zip(out, ref):
        if not isinstance(o, torch.Tensor) or o.shape != r.shape:
            return False
        if o.dtype == torch.bool or not bool(torch.isclose(o.double(), r.double(), rtol=1e-5, atol=1e-6).all()):
            return False
    return True


@check(LESSON, reference=metrics.lifetime_and_population_sparsity, mistakes=_SPARSITY_MISTAKES, returns="any",
       compare=_lp_compare)
def check_lifetime_and_population_sparsity():
    """Grade ``lifetime_and_population_sparsity(Z, threshold) -> (lifetime (H,), population (N,))``."""
    dev = get_device()
    return [
        Case("6 inputs, 4 units, threshold 0.5", lambda: (_code(6, 4, seed=60, low=0.0, high=1.0), 0.5)),
        Case("square 5x5 code", lambda: (_code(5, 5, seed=61, low=0.0, high=1.0), 0.3)),
        Case("values exactly at the threshold",
             lambda: (torch.tensor([[0.5, 0.9, 0.0], [0.5, 0.5, 0.7], [0.1, 0.6, 0.5]]), 0.5)),
        Case("values of both signs, threshold 0.25", lambda: (rand(7, 3, seed=62), 0.25)),
        Case("threshold 0 (ReLU-style code)",
             lambda: (torch.relu(rand(9, 6, seed=63)), 0.0)),
        Case("one input", lambda: (_code(1, 8, seed=64, low=0.0, high=1.0), 0.5)),
        Case("all-zero code", lambda: (torch.zeros(4, 5), 0.5)),
        Case("float64", lambda: (_code(6, 3, seed=65, dtype=torch.float64, low=0.0, high=1.0), 0.5)),
        Case("requires grad", lambda: (*with_grad(_code(5, 4, seed=66, low=0.0, high=1.0)), 0.5)),
        Case(f"on {dev}", lambda: (_code(8, 6, seed=67, low=0.0, high=1.0, device=dev), 0.5)),
    ]


__all__ = exported(LESSON)
