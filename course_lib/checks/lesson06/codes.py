"""Lesson 06 checks on codes and logits: ``class_profile``, ``set_feature``, ``prediction_shift``."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from course_lib import capstone
from course_lib.device import get_device

from ..core import Case, Mistake, check, rand, with_grad

LESSON = "06"


# ---------------------------------------------------------------- class_profile


def _class_means(A, y, n_classes):
    onehot = nn.functional.one_hot(y, n_classes).to(A.dtype)
    return (onehot.t() @ A) / onehot.sum(0).clamp_min(1)[:, None]


def _profile_sums(A, y, n_classes):
    sums = nn.functional.one_hot(y, n_classes).to(A.dtype).t() @ A
    total = sums.sum(0, keepdim=True)
    return torch.where(total > 0, sums / total.clamp_min(1e-30), torch.full_like(sums, 1 / n_classes))


def _profile_over_units(A, y, n_classes):
    means = _class_means(A, y, n_classes)
    return means / means.sum(1, keepdim=True).clamp_min(1e-30)


def _profile_global(A, y, n_classes):
    means = _class_means(A, y, n_classes)
    return means / means.sum().clamp_min(1e-30)


def _profile_firing(A, y, n_classes):
    return capstone.class_profile((A > 0).to(A.dtype), y, n_classes)


def _profile_nan_dead(A, y, n_classes):
    means = _class_means(A, y, n_classes)
    return means / means.sum(0, keepdim=True)


def _profile_zero_dead(A, y, n_classes):
    means = _class_means(A, y, n_classes)
    total = means.sum(0, keepdim=True)
    return torch.where(total > 0, means / total.clamp_min(1e-30), torch.zeros_like(means))


def _profile_inferred_classes(A, y, n_classes):
    return capstone.class_profile(A, y, int(y.max()) + 1)


CLASS_PROFILE_MISTAKES = [
    Mistake("You summed each class's activations; with classes of different sizes the biggest class "
            "wins. Use the *mean* activation over each class's images, then normalise.",
            _profile_sums),
    Mistake("You returned the raw per-class means; divide each unit's column by its sum over the "
            "classes so that it sums to 1.",
            _class_means),
    Mistake("You normalised across the units (each row sums to 1); normalise each unit's column over "
            "the classes: `means / means.sum(0, keepdim=True)`.",
            _profile_over_units),
    Mistake("You divided by the sum over everything; divide each unit's column by its own sum over "
            "the classes: `means.sum(0, keepdim=True)`.",
            _profile_global),
    Mistake("You counted how often each unit fires (A > 0); the profile weighs the activation values "
            "themselves: a strong response counts more than a weak one.",
            _profile_firing),
    Mistake("A unit that is zero on every image gives 0 / 0 = nan. It has no preference: give its "
            "column the uniform value 1 / n_classes (e.g. with `torch.where`).",
            _profile_nan_dead),
    Mistake("A unit that never fires has no preference, so its column should be uniform, "
            "1 / n_classes for each class, not zeros.",
            _profile_zero_dead),
    Mistake("You took the number of classes from the labels (`y.max() + 1`); use `n_classes`: a class "
            "may have no images in the batch, and its row must still be there (with share 0).",
            _profile_inferred_classes),
    Mistake("Your result is transposed: return one row per class and one column per unit, shape "
            "(n_classes, H).",
            lambda A, y, n_classes: capstone.class_profile(A, y, n_classes).t()),
]


def _labels(values: list[int], device: Any = "cpu") -> torch.Tensor:
    return torch.tensor(values, dtype=torch.long, device=device)


def _hand_activations() -> tuple:
    # Unit 0 fires for class 0, unit 1 for classes 1 and 2, unit 2 for everything; class 0 has 3
    # images, classes 1 and 2 have 2 and 1.
    A = torch.tensor([[2.0, 0.0, 1.0],
                      [2.0, 0.0, 1.0],
                      [2.0, 0.0, 1.0],
                      [0.0, 1.0, 1.0],
                      [0.0, 1.0, 1.0],
                      [0.5, 3.0, 1.0]])
    return A, _labels([0, 0, 0, 1, 1, 2]), 3


def _relu_acts(n: int, h: int, seed: int, **kw) -> torch.Tensor:
    return torch.relu(rand(n, h, seed=seed, low=-0.5, high=1.5, **kw))


def _unbalanced(n: int, n_classes: int, seed: int, device: Any = "cpu") -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    weights = torch.arange(1, n_classes + 1, dtype=torch.float64)
    y = torch.multinomial(weights, n, replacement=True, generator=gen)
    y[:n_classes] = torch.arange(n_classes)  # every class present
    return y.to(device)


def _with_dead_unit(A: torch.Tensor, j: int) -> torch.Tensor:
    A = A.clone()
    A[:, j] = 0
    return A


@check(LESSON, reference=capstone.class_profile, mistakes=CLASS_PROFILE_MISTAKES,
       grad_cases=("activations that require grad",))
def check_class_profile():
    """Grade ``class_profile(A, y, n_classes) -> (n_classes, H)``."""
    device = get_device()
    cases = [
        Case("6 images, 3 classes of sizes 3, 2, 1, 3 units", _hand_activations),
        Case("40 images, unbalanced classes, 7 units",
             lambda: (_relu_acts(40, 7, seed=1), _unbalanced(40, 4, seed=1), 4)),
        Case("a unit that never fires (unit 2)",
             lambda: (_with_dead_unit(_relu_acts(30, 5, seed=2), 2), _unbalanced(30, 3, seed=2), 3)),
        Case("class 3 has no images (n_classes=4)",
             lambda: (_relu_acts(12, 4, seed=3), _labels([0, 1, 2] * 4), 4)),
        Case("one image", lambda: (rand(1, 6, seed=4, low=0.1, high=1.5), _labels([1]), 3)),
        Case("all-zero activations", lambda: (torch.zeros(8, 5), _labels([0, 1, 2, 0, 1, 2, 0, 1]), 3)),
        Case("float64", lambda: (_relu_acts(25, 6, seed=5, dtype=torch.float64), _unbalanced(25, 5, seed=5), 5)),
        Case("activations that require grad",
             lambda: (*with_grad(_relu_acts(20, 4, seed=6) + 0.1), _unbalanced(20, 3, seed=6), 3)),
        Case(f"2000 x 256 activations on {device}, 10 classes", lambda: (
            _relu_acts(2000, 256, seed=7, device=device), _unbalanced(2000, 10, seed=7, device=device), 10)),
    ]
    return cases


# ---------------------------------------------------------------- set_feature


def _set_row(z, j, value):
    out = z.clone()
    out[j] = value
    return out


def _set_add(z, j, value):
    out = z.clone()
    out[:, j] = out[:, j] + value
    return out


def _set_multiply(z, j, value):
    out = z.clone()
    out[:, j] = out[:, j] * value
    return out


def _set_keep_only(z, j, value):
    out = torch.zeros_like(z)
    out[:, j] = value
    return out


def _set_column_only(z, j, value):
    return torch.full_like(z[:, j], value)


def _set_where_active(z, j, value):
    out = z.clone()
    out[:, j] = torch.where(z[:, j] != 0, torch.full_like(z[:, j], value), z[:, j])
    return out


def _set_others(z, j, value):
    out = torch.full_like(z, value)
    out[:, j] = z[:, j]
    return out


SET_FEATURE_MISTAKES = [
    Mistake("You changed row (image) j; latents are the columns of the code: set `z[:, j]`.",
            _set_row),
    Mistake("You added `value` to the latent; set it to `value` (on every row).",
            _set_add),
    Mistake("You multiplied the latent by `value`. For an ablation (value 0) that is the same, but an "
            "amplification must *set* the latent, also on rows where it was 0.",
            _set_multiply),
    Mistake("You set the latent only where it was already active; set it on every row, so that "
            "amplifying it also affects the images where it was off.",
            _set_where_active),
    Mistake("You zeroed every other latent; keep the rest of the code as it is and change only latent j.",
            _set_keep_only),
    Mistake("You changed every latent except j; change only latent j.",
            _set_others),
    Mistake("You returned only column j; return the whole edited code, shape (B, n_latent).",
            _set_column_only),
]


def _signed_code(n: int, h: int, seed: int, **kw) -> torch.Tensor:
    return rand(n, h, seed=seed, low=-1.0, high=2.0, **kw)


def _sparse_code(n: int, h: int, seed: int, **kw) -> torch.Tensor:
    return torch.relu(rand(n, h, seed=seed, low=-1.5, high=1.0, **kw) * 3)


@check(LESSON, reference=capstone.set_feature, mistakes=SET_FEATURE_MISTAKES, grad_cases=("code that requires grad",))
def check_set_feature():
    """Grade ``set_feature(z, j, value) -> (B, n_latent)``, a new tensor."""
    device = get_device()
    cases = [
        Case("ablate latent 2 of a sparse code (4 x 6)", lambda: (_sparse_code(4, 6, seed=20), 2, 0.0)),
        Case("amplify latent 1 to 3.5", lambda: (_sparse_code(5, 6, seed=21), 1, 3.5)),
        Case("several latents [0, 3] set to 0.5", lambda: (_sparse_code(4, 5, seed=22), [0, 3], 0.5)),
        Case("code with negative entries, latent 4 set to -2.0", lambda: (_signed_code(3, 7, seed=23), 4, -2.0)),
        Case("one row", lambda: (_sparse_code(1, 8, seed=24), 5, 1.25)),
        Case("all-zero code, latent 0 set to 2.0", lambda: (torch.zeros(3, 4), 0, 2.0)),
        Case("float64", lambda: (_sparse_code(4, 6, seed=25, dtype=torch.float64), 3, 0.75)),
        Case("code that requires grad", lambda: (*with_grad(_signed_code(4, 6, seed=26)), 2, 1.5)),
        Case(f"1000 x 1024 code on {device}", lambda: (_sparse_code(1000, 1024, seed=27, device=device), 700, 4.0)),
    ]
    return cases


# ---------------------------------------------------------------- prediction_shift


def _shift_over_all(before, after, c):
    b, a = before.argmax(1) == c, after.argmax(1) == c
    return (b & a).float().mean().item(), (~b & a).float().mean().item()


def _shift_swapped(before, after, c):
    kept, gained = capstone.prediction_shift(before, after, c)
    return gained, kept


def _shift_lost(before, after, c):
    kept, gained = capstone.prediction_shift(before, after, c)
    return 1 - kept, gained


def _shift_new_share(before, after, c):
    b, a = before.argmax(1) == c, after.argmax(1) == c
    return a[b].float().mean().item(), (~b[a]).float().mean().item()


def _shift_probability(before, after, c):
    b, a = before.softmax(1)[:, c] > 0.5, after.softmax(1)[:, c] > 0.5
    return a[b].float().mean().item(), a[~b].float().mean().item()


def _shift_dim0(before, after, c):
    b, a = before.argmax(0) == c, after.argmax(0) == c
    return a[b].float().mean().item(), a[~b].float().mean().item()


def _shift_counts(before, after, c):
    b, a = before.argmax(1) == c, after.argmax(1) == c
    return float((b & a).sum()), float((~b & a).sum())


def _shift_zero_when_empty(before, after, c):
    b, a = before.argmax(1) == c, after.argmax(1) == c
    kept = float((b & a).sum()) / max(int(b.sum()), 1)
    gained = float((~b & a).sum()) / max(int((~b).sum()), 1)
    return kept, gained


PREDICTION_SHIFT_MISTAKES = [
    Mistake("When a group is empty (no image was predicted c before, or every image was), its fraction "
            "is undefined: return nan, as `.mean()` of an empty tensor does, not 0.",
            _shift_zero_when_empty),
    Mistake("You divided by the number of all images; `kept` is a fraction of the images predicted c "
            "*before*, and `gained` a fraction of those *not* predicted c before.",
            _shift_over_all),
    Mistake("You returned the two numbers in the wrong order: `(kept, gained)`.",
            _shift_swapped),
    Mistake("Your first number is the fraction that *lost* the prediction; return the fraction that "
            "kept it.",
            _shift_lost),
    Mistake("For `gained` you divided by the images predicted c *after*; divide by the images that "
            "were not predicted c before.",
            _shift_new_share),
    Mistake("A prediction is the class with the largest logit (`argmax(1)`), not a class whose "
            "probability exceeds 0.5: with 10 classes the winner often has less than half.",
            _shift_probability),
    Mistake("You took the arg-max over the images (dim 0); each image's prediction is the arg-max over "
            "its classes: `logits.argmax(1)`.",
            _shift_dim0),
    Mistake("You returned counts of images; return fractions (divide by the size of each group).",
            _shift_counts),
]


def _logit_pair(n: int, n_classes: int, seed: int, **kw) -> tuple[torch.Tensor, torch.Tensor]:
    before = rand(n, n_classes, seed=seed, low=-2.0, high=2.0, **kw)
    after = before + rand(n, n_classes, seed=seed + 1, low=-1.5, high=1.5, **kw)
    return before, after


def _pushed_to(c: int, n: int, n_classes: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    # A strong push toward class c: many images switch to it, and few that had it lose it.
    before, _ = _logit_pair(n, n_classes, seed)
    after = before.clone()
    after[:, c] = after[:, c] + rand(n, seed=seed + 2, low=0.0, high=3.0)
    return before, after


@check(LESSON, reference=capstone.prediction_shift, mistakes=PREDICTION_SHIFT_MISTAKES, returns="any")
def check_prediction_shift():
    """Grade ``prediction_shift(logits_before, logits_after, c) -> (kept, gained)``."""
    device = get_device()

    def zeros_after():
        before, _ = _logit_pair(9, 3, seed=34)
        return before, torch.zeros(9, 3), 0

    cases = [
        Case("40 images pushed toward class 1 of 5", lambda: (*_pushed_to(1, 40, 5, seed=31), 1)),
        Case("60 images, 10 classes, c=2", lambda: (*_logit_pair(60, 10, seed=30), 2)),
        Case("one image (one of the fractions is nan)", lambda: (*_logit_pair(1, 4, seed=32), 3)),
        Case("all-zero logits before and after, c=0 (every image predicted 0; gained is nan)",
             lambda: (torch.zeros(5, 3), torch.zeros(5, 3), 0)),
        Case("all-zero logits after, c=0", zeros_after),
        Case("float64, c=4", lambda: (*_logit_pair(50, 6, seed=35, dtype=torch.float64), 4)),
        Case("logits that require grad, c=0", lambda: (*with_grad(*_logit_pair(30, 4, seed=36)), 0)),
        Case(f"10000 images on {device}, c=9", lambda: (*_logit_pair(10000, 10, seed=37, device=device), 9)),
    ]
    return cases
