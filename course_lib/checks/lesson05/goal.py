"""Lesson 05's goal exercise: settings for a top-K autoencoder that reconstructs well with few
dead latents.

The learner writes ``topk_goal_settings()`` returning ``{"k": int, "lr": float, "auxk": bool}``.
The check trains :class:`course_lib.topk.TopKSAE` with them (:func:`course_lib.topk.topk_goal`:
seeded, CPU, a fixed slice of Fashion-MNIST) and reports, on held-out images, whether the FVU is
below ``TOPK_GOAL["fvu"]`` and the dead fraction below ``TOPK_GOAL["dead_fraction"]``, with
``k`` within the sparsity budget ``TOPK_GOAL["max_k"]``. Measurements are cached by settings.
"""
from __future__ import annotations

import functools
import math
from typing import Any, Callable

from course_lib import topk

from ..core import Case, Mistake, check
from ..observe import NA, chosen_settings

LESSON = "05"
GOAL = topk.TOPK_GOAL
KEYS = ("k", "lr", "auxk")


@functools.lru_cache(maxsize=32)
def measure(k: int, lr: float, auxk: bool) -> dict[str, float]:
    """:func:`course_lib.topk.topk_goal` with these settings, computed once per process."""
    return topk.topk_goal(k, lr, auxk)


def settings_problem(settings: Any) -> str | None:
    """What is wrong with a settings dict (a short category), or None when it can be trained."""
    if not isinstance(settings, dict):
        return "not a dict"
    if any(key not in settings for key in KEYS):
        return "a dict without the keys 'k', 'lr' and 'auxk'"
    k, lr, auxk = (settings[key] for key in KEYS)
    if isinstance(k, bool) or not isinstance(k, int):
        return "k is not an int"
    if not 1 <= k <= GOAL["max_k"]:
        return f"k outside the budget 1..{GOAL['max_k']}"
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or not 0 < lr <= 0.1:
        return "lr not a number in (0, 0.1]"
    if not isinstance(auxk, bool):
        return "auxk not True or False"
    return None


def _observe(fn: Callable) -> Callable:
    def observe() -> dict:
        settings, problem = chosen_settings(fn, settings_problem)
        report = {"settings": "usable", "FVU on held-out images": NA, "dead latents on held-out images": NA}
        if problem:
            report["settings"] = problem
            return report
        result = measure(settings["k"], float(settings["lr"]), settings["auxk"])
        fvu_ok, dead_ok = result["fvu"] < GOAL["fvu"], result["dead_fraction"] < GOAL["dead_fraction"]
        report["FVU on held-out images"] = ("below" if fvu_ok else "not below") + f" {GOAL['fvu']}"
        dead_target = f"{GOAL['dead_fraction']:.0%}"
        report["dead latents on held-out images"] = ("below " if dead_ok else "not below ") + dead_target
        return report

    return observe


def reference_settings() -> dict:
    """Settings that reach the goal (lesson 05's solution)."""
    return {"k": 32, "lr": 3e-3, "auxk": True}


GOAL_MISTAKES = [
    Mistake(f"k is above the sparsity budget of {GOAL['max_k']} active latents: a larger K reconstructs "
            "better but the code is no longer sparse. Stay within the budget and tune the learning rate.",
            lambda: {"k": 64, "lr": 3e-3, "auxk": True}),
    Mistake(f"Both targets missed: with so few active latents the FVU stays above {GOAL['fvu']} and most "
            "latents never win a place in anyone's top K (they die). Raise K towards the budget.",
            lambda: {"k": 8, "lr": 3e-3, "auxk": True}),
    Mistake(f"The FVU is fine but {GOAL['dead_fraction']:.0%} or more of the latents are dead on held-out "
            "images: too large a learning rate throws latents out of every top K early, for good. "
            "Lower the learning rate (AuxK alone cannot undo that in three epochs).",
            lambda: {"k": 32, "lr": 1e-2, "auxk": True}),
    Mistake(f"No latent is dead, but the FVU stays above {GOAL['fvu']}: in three epochs the model has not "
            "learnt enough. Raise the learning rate a little (a few times 1e-3) or K.",
            lambda: {"k": 32, "lr": 1e-3, "auxk": True}),
    Mistake("Return a dict with the three keys, e.g. `{\"k\": 16, \"lr\": 1e-3, \"auxk\": True}`, not a "
            "tuple or list.", lambda: (32, 3e-3, True)),
    Mistake("k must be a Python int (the number of active latents), e.g. `32`, not `32.0`.",
            lambda: {"k": 32.0, "lr": 3e-3, "auxk": True}),
]


@check(LESSON, reference=reference_settings, mistakes=GOAL_MISTAKES, returns="any", observe=_observe,
       mismatch_hint="Print `topk.topk_goal(**topk_goal_settings())` to see where your settings land.")
def check_topk_goal_settings():
    """Grade ``topk_goal_settings()`` by training a TopKSAE with them and measuring it on held-out images."""
    target = (f"FVU < {GOAL['fvu']}, dead < {GOAL['dead_fraction']:.0%}, k <= {GOAL['max_k']}")
    return [Case(f"the goal: {target}", lambda: ())]


__all__ = ["check_topk_goal_settings"]
