"""Lesson 04 checks on what one latent responds to: ``top_activating_examples``, ``class_selectivity``."""
from __future__ import annotations

import math

import torch

from course_lib import interpret
from course_lib.device import get_device

from ..core import Case, Mistake, check, rand

LESSON = "04"


# ------------------------------------------------------------------ top_activating_examples


def _relu_codes(n: int, h: int, seed: int, dtype=torch.float32, device="cpu") -> torch.Tensor:
    """ReLU-like codes: about half the entries are exactly 0, the rest distinct positives."""
    return rand(n, h, seed=seed, dtype=dtype, device=device).clamp_min(0)


def _desc(Z: torch.Tensor, j: int) -> torch.Tensor:
    return torch.argsort(Z[:, j].detach(), descending=True)


TOP_CASES = [
    Case("40 samples x 12 latents, j=3, n=5", lambda: (_relu_codes(40, 12, seed=401), 3, 5)),
    Case("negative activations, j=2, n=4", lambda: (rand(30, 6, seed=402), 2, 4)),
    Case("n = 1", lambda: (_relu_codes(25, 7, seed=403), 0, 1)),
    Case("last latent, n = all 9 samples", lambda: (rand(9, 4, seed=404), 3, 9)),
    Case("a single sample (N = 1)", lambda: (rand(1, 5, seed=405, low=0.1), 4, 1)),
    Case("float64 codes", lambda: (_relu_codes(50, 10, seed=406, dtype=torch.float64), 6, 7)),
    Case("codes that require grad", lambda: (_relu_codes(40, 8, seed=407).requires_grad_(), 1, 6)),
    Case("codes on the course device", lambda: (_relu_codes(60, 16, seed=408, device=get_device()), 9, 8)),
]

TOP_MISTAKES = [
    Mistake("You return the right samples in ascending order; list the largest activation first "
            "(`descending=True`, or `torch.topk`).",
            lambda Z, j, n: torch.argsort(Z[:, j].detach())[-n:]),
    Mistake("You picked the samples with the *smallest* activations (argmin / ascending sort); "
            "take the largest ones.",
            lambda Z, j, n: torch.argsort(Z[:, j].detach())[:n]),
    Mistake("You ranked the latents of sample j (a row of Z) instead of the samples for latent j "
            "(a column): use `Z[:, j]`.",
            lambda Z, j, n: torch.argsort(Z[j].detach(), descending=True)[:n]),
    Mistake("You returned the activation values; the exercise asks for the sample *indices* "
            "(`torch.topk(...).indices`).",
            lambda Z, j, n: torch.topk(Z[:, j].detach(), n).values),
    Mistake("You returned n + 1 indices: slicing `[:n]` already stops before index n.",
            lambda Z, j, n: _desc(Z, j)[: n + 1]),
    Mistake("You returned n - 1 indices (off by one): `[:n]` gives exactly n.",
            lambda Z, j, n: _desc(Z, j)[: n - 1]),
    Mistake("You skipped the top sample: `[1:n+1]` starts at the second largest; use `[:n]`.",
            lambda Z, j, n: _desc(Z, j)[1 : n + 1]),
    Mistake("You ranked by |activation|; a large negative value is not a strong response. Rank by "
            "the activation itself.",
            lambda Z, j, n: torch.argsort(Z[:, j].detach().abs(), descending=True)[:n]),
    Mistake("Your indices are floats; return integer indices (a LongTensor), as `topk` and "
            "`argsort` give them.",
            lambda Z, j, n: _desc(Z, j)[:n].float()),
    Mistake("Your indices start at 1; Python and torch count from 0.",
            lambda Z, j, n: _desc(Z, j)[:n] + 1),
]


def _same_indices(out, ref) -> bool:
    return (isinstance(out, torch.Tensor) and out.dtype == ref.dtype and out.shape == ref.shape
            and torch.equal(out, ref))


@check(LESSON, reference=interpret.top_activating_examples, mistakes=TOP_MISTAKES, returns="tensor",
       compare=_same_indices)
def check_top_activating_examples():
    """Grade ``top_activating_examples(Z, j, n) -> LongTensor (n,)`` (ties never occur here)."""
    return TOP_CASES


# ------------------------------------------------------------------ class_selectivity


def _labels(*values: int, device="cpu") -> torch.Tensor:
    return torch.tensor(values, dtype=torch.long, device=device)


# 20 samples with unequal class sizes (8, 7, 5) so that class sums and class means differ.
_Y20 = (0, 1, 0, 2, 1, 0, 0, 1, 2, 0, 1, 1, 0, 2, 1, 0, 2, 1, 0, 2)


def _one_hot_codes() -> tuple:
    y = _labels(0, 1, 2, 3, 1, 2, 0, 3, 2, 1)
    Z = torch.nn.functional.one_hot(y, 4).float() * torch.linspace(0.5, 1.4, 10)[:, None]
    return Z, y, 4


def _with_silent_latent() -> tuple:
    Z = _relu_codes(16, 5, seed=413) + 0.05
    Z[:, 2] = 0.0
    return Z, _labels(*(_Y20[:16])), 3


SEL_CASES = [
    Case("20 samples, 6 latents, 3 unequal classes", lambda: (_relu_codes(20, 6, seed=411) + 0.01, _labels(*_Y20), 3)),
    Case("a class with no samples (classes 0, 1, 3 of 5)",
         lambda: (_relu_codes(12, 4, seed=412) + 0.01, _labels(0, 1, 3, 3, 0, 1, 1, 3, 0, 3, 1, 0), 5)),
    Case("a silent latent (all-zero column)", _with_silent_latent),
    Case("negative activations", lambda: (rand(20, 5, seed=414), _labels(*_Y20), 3)),
    Case("perfectly selective one-hot codes", _one_hot_codes),
    Case("all-zero codes", lambda: (torch.zeros(10, 4), _labels(0, 1, 2, 0, 1, 2, 0, 1, 2, 0), 3)),
    Case("a single sample", lambda: (rand(1, 5, seed=415, low=0.1), _labels(2), 4)),
    Case("float64 codes", lambda: (_relu_codes(20, 6, seed=416, dtype=torch.float64) + 0.01, _labels(*_Y20), 3)),
    Case("codes that require grad",
         lambda: ((_relu_codes(20, 6, seed=417) + 0.01).requires_grad_(), _labels(*_Y20), 3)),
    Case("codes on the course device",
         lambda: (_relu_codes(20, 6, seed=418, device=get_device()) + 0.01, _labels(*_Y20, device=get_device()), 3)),
]


def _class_means(Z, y, n_classes, *, use_abs=True, mean=True):
    A = Z.abs() if use_abs else Z
    onehot = torch.nn.functional.one_hot(y, n_classes).to(A.dtype)
    sums = onehot.t() @ A
    return sums / onehot.sum(0).clamp_min(1)[:, None] if mean else sums


def _entropy(P, log=torch.log):
    safe = torch.where(P > 0, P, torch.ones_like(P))
    return -(P * log(safe)).sum(0)


def _selectivity_variant(Z, y, n_classes, *, use_abs=True, mean=True, log=torch.log, norm=None,
                         one_minus=True, silent=0.0, classes_present=False):
    M = _class_means(Z, y, n_classes, use_abs=use_abs, mean=mean)
    total = M.sum(0)
    alive = total != 0
    P = M / torch.where(alive, total, torch.ones_like(total))
    H = _entropy(P, log)
    if norm is None:
        C = torch.unique(y).numel() if classes_present else n_classes
        norm = math.log(C)
    S = H / norm if norm else H * float("inf")
    S = 1 - S if one_minus else S
    return torch.where(alive, S, torch.full_like(S, silent))


def _sel_unnormalised_bits(Z, y, C):
    return _selectivity_variant(Z, y, C, log=torch.log2, norm=1.0)


def _sel_unnormalised_nats(Z, y, C):
    return _selectivity_variant(Z, y, C, norm=1.0)


def _sel_bits_over_ln(Z, y, C):
    return _selectivity_variant(Z, y, C, log=torch.log2, norm=math.log(C))


def _sel_no_abs(Z, y, C):
    M = _class_means(Z, y, C, use_abs=False)
    total = M.sum(0)
    P = M / torch.where(total != 0, total, torch.ones_like(total))
    return torch.where(total != 0, 1 - (-torch.xlogy(P, P).sum(0)) / math.log(C), torch.zeros_like(total))


def _sel_relu(Z, y, C):
    return _selectivity_variant(Z.clamp_min(0), y, C)


def _sel_nan_silent(Z, y, C):
    M = _class_means(Z, y, C)
    P = M / M.sum(0)
    return 1 - (-torch.xlogy(P, P).sum(0)) / math.log(C)


def _sel_wrong_axis(Z, y, C):
    M = _class_means(Z, y, C)
    P = M / M.sum(1, keepdim=True).clamp_min(1e-12)
    return 1 - _entropy(P) / math.log(C)


SEL_MISTAKES = [
    Mistake("You used entropy in bits (log2) without normalising: divide by log(n_classes) (in the "
            "same base) so that the score lies in [0, 1].", _sel_unnormalised_bits),
    Mistake("You forgot to normalise the entropy: divide it by log(n_classes), the entropy of a "
            "uniform class distribution.", _sel_unnormalised_nats),
    Mistake("You mixed log bases: entropy in bits (log2) divided by the natural log(n_classes). "
            "Use one base for both.", _sel_bits_over_ln),
    Mistake("You returned the normalised entropy itself; selectivity is 1 minus it (1 = one class "
            "only, 0 = all classes alike).", lambda Z, y, C: 1 - _selectivity_variant(Z, y, C)),
    Mistake("You normalised by the log of the number of classes *present in y*; use n_classes, so "
            "a class with no samples still counts (with zero activation).",
            lambda Z, y, C: _selectivity_variant(Z, y, C, classes_present=True)),
    Mistake("You summed activations per class; use the *mean* per class, otherwise classes with "
            "more samples look preferred.", lambda Z, y, C: _selectivity_variant(Z, y, C, mean=False)),
    Mistake("You used the raw activations; use their magnitude |z| so negative values count as "
            "response instead of cancelling (and logs of negatives give NaN).", _sel_no_abs),
    Mistake("You clamped negative activations to 0; the definition uses their magnitude |z|.", _sel_relu),
    Mistake("A latent that never fires gives 0/0 = NaN in your version; return 0 for it (no class "
            "preference).", _sel_nan_silent),
    Mistake("A latent that never fires gets selectivity 1 in your version (its entropy is 0); "
            "return 0 for it, it prefers no class.",
            lambda Z, y, C: _selectivity_variant(Z, y, C, silent=1.0)),
    Mistake("You normalised the class means over latents (per class) instead of over classes (per "
            "latent): each latent's shares p_jc must sum to 1 over c.", _sel_wrong_axis),
]


@check(LESSON, reference=interpret.class_selectivity, mistakes=SEL_MISTAKES, returns="tensor", rtol=1e-4, atol=1e-5)
def check_class_selectivity():
    """Grade ``class_selectivity(Z, y, n_classes) -> (n_latent,)`` (definition in the lesson)."""
    return SEL_CASES
