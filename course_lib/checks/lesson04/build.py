"""Lesson 04's build and goal exercises.

* ``feature_dashboard(Z, y, j, n_top, bins, n_classes) -> dict``: the numbers behind one latent's
  dashboard (reference :func:`course_lib.interpret.feature_dashboard`), compared key by key.
* ``bars_goal_settings() -> {"lam": float, "n_latent": int}``: an L1 sparse autoencoder on the
  bars that disentangles them; the check trains with the settings
  (:func:`course_lib.interpret.bars_goal`, seeded, cached by settings) and reports which
  targets of :data:`course_lib.interpret.dashboard.BARS_GOAL` were reached.
"""
from __future__ import annotations

import functools
import math
from typing import Any, Callable

import torch

from course_lib.device import get_device
from course_lib.interpret import dashboard

from ..core import Case, Mistake, check, rand
from ..observe import NA, chosen_settings
from .latents import LESSON

# ------------------------------------------------------------------ feature_dashboard


def _codes(n: int, h: int, seed: int, **kw) -> torch.Tensor:
    """ReLU-like codes: about half the entries exactly 0."""
    return rand(n, h, seed=seed, **kw).clamp_min(0)


def _labels(n: int, n_classes: int, seed: int, device: Any = "cpu") -> torch.Tensor:
    """Labels with classes of unequal sizes (class 0 about three times as frequent)."""
    gen = torch.Generator().manual_seed(seed)
    y = torch.randint(0, n_classes + 2, (n,), generator=gen)
    y = torch.where(y >= n_classes, torch.zeros_like(y), y)  # the two extra draws go to class 0
    return y.to(device)


def _dash_as_written(Z, y, j, n_top=8, bins=10, n_classes=10, *, top=None, rate=None, hist=None,
                     profile=None, select=None):
    """A dashboard as a learner writes it; each catalogued mistake swaps one part."""
    a = Z[:, j]
    active = a[a != 0]
    out = dashboard.feature_dashboard(Z, y, j, n_top, bins, n_classes)
    if top:
        out["top"] = top(a, n_top)
    if rate:
        out["firing_rate"] = rate(a)
    if hist:
        out["histogram"] = hist(a, active, bins)
    if profile:
        out["class_profile"] = profile(a, y, n_classes)
    if select:
        out["selectivity"] = select(a, y, n_classes)
    return out


def _class_sums(a, y, n_classes):
    return torch.stack([a[y == c].abs().sum() for c in range(n_classes)])


def _class_means(a, y, n_classes):
    return torch.stack([a[y == c].abs().sum() / max(int((y == c).sum()), 1) for c in range(n_classes)])


def _selectivity_present(a, y, n_classes):
    p = _class_means(a, y, n_classes)
    if p.sum() == 0:
        return 0.0
    p = p / p.sum()
    present = len(torch.unique(y))
    return (1 - (-torch.xlogy(p, p).sum()) / math.log(present)).item()


DASHBOARD_MISTAKES = [
    Mistake("Your top samples come out smallest first: sort in descending order, "
            "`torch.topk(Z[:, j], n_top).indices` (largest activation first).",
            lambda Z, y, j, n_top=8, bins=10, n_classes=10: _dash_as_written(
                Z, y, j, n_top, bins, n_classes, top=lambda a, n: torch.argsort(a)[:n])),
    Mistake("You looked at row j (sample j) instead of column j (latent j): a latent's activations "
            "are `Z[:, j]`.",
            lambda Z, y, j, n_top=8, bins=10, n_classes=10: _dash_as_written(
                Z, y, j, n_top, bins, n_classes, top=lambda a, n: torch.topk(Z[j], min(n, Z.shape[1])).indices)),
    Mistake("You returned the top activations themselves; `\"top\"` holds the sample *indices* "
            "(`.indices` of `torch.topk`), so that the images can be looked up.",
            lambda Z, y, j, n_top=8, bins=10, n_classes=10: _dash_as_written(
                Z, y, j, n_top, bins, n_classes, top=lambda a, n: torch.topk(a, n).values)),
    Mistake("Your firing rate is a count: divide by the number of samples to get a fraction.",
            lambda Z, y, j, n_top=8, bins=10, n_classes=10: _dash_as_written(
                Z, y, j, n_top, bins, n_classes, rate=lambda a: float((a != 0).sum()))),
    Mistake("Your histogram counts the zeros too. Histogram only the non-zero activations, "
            "`a[a != 0]`: on a sparse latent the zeros would swamp the first bin.",
            lambda Z, y, j, n_top=8, bins=10, n_classes=10: _dash_as_written(
                Z, y, j, n_top, bins, n_classes,
                hist=lambda a, act, b: torch.histc(a, bins=b, min=0.0, max=float(a.max())))),
    Mistake("Your histogram's bins start at the smallest activation (`torch.histc`'s default range is "
            "the data's min and max): give the range explicitly, `min=0.0, max=active.max()`.",
            lambda Z, y, j, n_top=8, bins=10, n_classes=10: _dash_as_written(
                Z, y, j, n_top, bins, n_classes,
                hist=lambda a, act, b: torch.histc(act, bins=b) if len(act) else torch.zeros(b, dtype=a.dtype))),
    Mistake("Your class profile uses the *sum* of activations per class: a class with more samples "
            "would look preferred. Use the mean per class, then divide by the sum of the means.",
            lambda Z, y, j, n_top=8, bins=10, n_classes=10: _dash_as_written(
                Z, y, j, n_top, bins, n_classes, profile=lambda a, y_, c: _class_sums(a, y_, c) / _class_sums(
                    a, y_, c).sum().clamp_min(1e-30))),
    Mistake("Your class profile is not normalised: divide the per-class means by their sum, so the "
            "profile sums to 1.",
            lambda Z, y, j, n_top=8, bins=10, n_classes=10: _dash_as_written(
                Z, y, j, n_top, bins, n_classes, profile=_class_means)),
    Mistake("For a latent that never fires your profile is NaN (0 / 0): return all zeros there.",
            lambda Z, y, j, n_top=8, bins=10, n_classes=10: _dash_as_written(
                Z, y, j, n_top, bins, n_classes, profile=lambda a, y_, c: _class_means(a, y_, c) / _class_means(
                    a, y_, c).sum())),
    Mistake("Your selectivity divides by the log of the number of classes *present* in y; divide by "
            "log(n_classes), as in Exercise 2 (or call your `class_selectivity` on `Z[:, j:j+1]`).",
            lambda Z, y, j, n_top=8, bins=10, n_classes=10: _dash_as_written(
                Z, y, j, n_top, bins, n_classes, select=_selectivity_present)),
]


def _dead_latent_case():
    Z = _codes(30, 5, seed=443)
    Z[:, 2] = 0.0
    return Z, _labels(30, 4, seed=444), 2, 3, 5, 4


@check(LESSON, reference=dashboard.feature_dashboard, mistakes=DASHBOARD_MISTAKES, returns="any",
       mismatch_hint="Compare each entry with its definition above; `interpret.class_selectivity` "
                     "and Exercise 1 give two of them.")
def check_feature_dashboard():
    """Grade ``feature_dashboard(Z, y, j, n_top, bins, n_classes)``, a dict compared key by key."""
    device = get_device()
    return [
        Case("60 samples x 6 latents, 4 classes of unequal size, j=1",
             lambda: (_codes(60, 6, seed=440), _labels(60, 4, seed=441), 1, 5, 6, 4)),
        Case("a class with no sample (n_classes=5), j=4",
             lambda: (_codes(50, 8, seed=442), _labels(50, 4, seed=445), 4, 3, 4, 5)),
        Case("a latent that never fires", _dead_latent_case),
        Case("float64 codes, n_top=1", lambda: (_codes(40, 5, seed=446, dtype=torch.float64),
                                                _labels(40, 3, seed=447), 0, 1, 8, 3)),
        Case(f"codes on {device}", lambda: (_codes(80, 10, seed=448, device=device),
                                            _labels(80, 10, seed=449, device=device), 7, 8, 10, 10)),
    ]


# ------------------------------------------------------------------ bars_goal_settings

GOAL = dashboard.BARS_GOAL


@functools.lru_cache(maxsize=32)
def measure(lam: float, n_latent: int) -> dict[str, float]:
    """:func:`course_lib.interpret.bars_goal` for these settings, computed once per process."""
    return dashboard.bars_goal(lam, n_latent)


def bars_settings_problem(settings: Any) -> str | None:
    """What is wrong with a settings dict (a short category), or None when it can be trained."""
    low, high = GOAL["widths"]
    if not isinstance(settings, dict):
        return "not a dict"
    if any(key not in settings for key in ("lam", "n_latent")):
        return "a dict without the keys 'lam' and 'n_latent'"
    lam, width = settings["lam"], settings["n_latent"]
    if isinstance(width, bool) or not isinstance(width, int):
        return "n_latent is not an int"
    if not low <= width <= high:
        return f"n_latent outside {low}..{high}"
    if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not math.isfinite(lam) or not 0 <= lam <= 10:
        return "lam not a number in [0, 10]"
    return None


def _observe_goal(fn: Callable) -> Callable:
    def observe() -> dict:
        settings, problem = chosen_settings(fn, bars_settings_problem)
        report = {"settings": "usable", "factor match score": NA, "FVU": NA}
        if problem:
            report["settings"] = problem
            return report
        result = measure(float(settings["lam"]), settings["n_latent"])
        above = result["score"] > GOAL["score"]
        report["factor match score"] = ("above " if above else "not above ") + str(GOAL["score"])
        report["FVU"] = ("below " if result["fvu"] < GOAL["fvu"] else "not below ") + str(GOAL["fvu"])
        return report

    return observe


def bars_reference_settings() -> dict:
    """Settings that reach the goal (lesson 04's solution)."""
    return {"lam": 0.3, "n_latent": 64}


BARS_GOAL_MISTAKES = [
    Mistake(f"The score stays at or below {GOAL['score']} although the reconstruction is good: latents "
            "still mix several bars. Raise lambda (sparser codes) or give the model more latents.",
            lambda: {"lam": 0.0, "n_latent": 64}),
    Mistake(f"The bars are separated, but the FVU is {GOAL['fvu']} or more: lambda is so large that the "
            "penalty shrinks the codes and the reconstruction suffers. Lower it a little.",
            lambda: {"lam": 1.0, "n_latent": 64}),
    Mistake("Both targets missed: with such a large lambda most latents switch off for good (look at "
            "the FVU). Lower lambda by a factor of ten.", lambda: {"lam": 3.0, "n_latent": 16}),
    Mistake(f"n_latent must be between {GOAL['widths'][0]} and {GOAL['widths'][1]}: there are 16 bars, "
            "and a much wider model takes longer to train than the goal allows.",
            lambda: {"lam": 0.3, "n_latent": 256}),
    Mistake("Return a dict, e.g. `{\"lam\": 0.1, \"n_latent\": 16}`, not a tuple or list.",
            lambda: (0.3, 64)),
    Mistake("n_latent must be a Python int (a number of latents), e.g. `32`, not `32.0`.",
            lambda: {"lam": 0.3, "n_latent": 64.0}),
]


@check(LESSON, reference=bars_reference_settings, mistakes=BARS_GOAL_MISTAKES, returns="any",
       observe=_observe_goal,
       mismatch_hint="Print `interpret.bars_goal(**bars_goal_settings())` to see where your settings land.")
def check_bars_goal_settings():
    """Grade ``bars_goal_settings()`` by training an L1 autoencoder on the bars with them."""
    target = f"score > {GOAL['score']}, FVU < {GOAL['fvu']}, {GOAL['widths'][0]}-{GOAL['widths'][1]} latents"
    return [Case(f"the goal: {target}", lambda: ())]


__all__ = ["check_feature_dashboard", "check_bars_goal_settings"]
