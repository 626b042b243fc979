"""Goal exercises: the learner chooses settings, the check trains with them and says where they landed.

A goal exercise's graded function returns settings (a number such as ``lam``, or a dict such as
``{"beta": 20.0, "epochs": 10}``). :class:`GoalCheck` calls it (twice: settings must not change
from one call to the next), runs the goal's ``measure(settings)`` (a seeded training run and its
measurements) and reports the :class:`Landing`: the numbers reached against the numbers to beat,
and, when the goal is missed, the verdict's advice (which way to move a setting).

The catalogue of mistakes holds realistic bad settings, one per verdict: each mistake's hint is
the advice its verdict gives, so a learner landing in the same place gets the same feedback::

    @goal(LESSON, reference=lambda: 0.8, verdicts=VERDICTS,
          mistakes=[Mistake(VERDICTS["above"], lambda: 0.3), ...])
    def check_l1_lambda(lam, step=train.constrained_step) -> Landing:
        ...  # parse lam, train, measure: return Landing("pass" or a verdict, report)

In a notebook, ``checks.check_l1_lambda.trial(0.5)`` prints where a setting lands without
grading it, with the same training run as the check.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from course_lib import data
from course_lib.device import get_device

from .cases import Mistake
from .core import Check, CheckResult, _preserved_rng
from .harness import _one_line, _where_it_failed

__all__ = ["GoalCheck", "Landing", "goal", "PASS", "goal_data", "number", "read_settings"]

PASS = "pass"


@dataclass
class Landing:
    """Where one setting landed: ``verdict`` is :data:`PASS` or a key of the goal's verdicts."""

    verdict: str
    report: str  # the numbers reached and the numbers to beat, in one sentence

    @property
    def passed(self) -> bool:
        return self.verdict == PASS


class GoalCheck(Check):
    """A goal exercise's check: ``measure(settings, **parts) -> Landing`` decides and reports.

    Args:
        measure: runs the goal's experiment on the settings; ``parts`` (such as the learner's
            own training step) are used by :meth:`trial` only, grading uses the references.
        verdicts: ``{verdict: advice}`` for every way of missing the goal.
    """

    def __init__(self, lesson: str, name: str, reference: Callable, *, measure: Callable[..., Landing],
                 verdicts: Mapping[str, str], mistakes: Sequence[Mistake] = (), doc: str = ""):
        unknown = [m.hint for m in mistakes if m.hint not in dict(verdicts).values()]
        if unknown:
            raise ValueError(f"goal {name}: a mistake's hint must be one of its verdicts' advice: {unknown[0]!r}")
        super().__init__(lesson, name, reference, [], mistakes=mistakes, returns="any", doc=doc)
        self.measure, self.verdicts = measure, dict(verdicts)

    def _fail(self, message: str, hint: str = "") -> CheckResult:
        return CheckResult(self.name, self.lesson, False, "fail", message, hint)

    def grade(self, learner_fn: Any) -> CheckResult:
        """Read the settings, run the experiment, grade where it landed; never raises."""
        not_done = CheckResult(self.name, self.lesson, False, "not_implemented",
                               f"Not implemented yet: fill in `{self.name}` and run this cell again.")
        if not callable(learner_fn):
            return not_done
        with _preserved_rng():
            settings = []
            for _ in range(2):
                try:
                    settings.append(learner_fn())
                except NotImplementedError:
                    return not_done
                except Exception as err:
                    where = _where_it_failed(err)
                    text = _one_line(str(err))
                    return self._fail(f"`{self.name}()` raised {type(err).__name__}" + (f": {text}" if text else ""),
                                      f"It happened at: {where}" if where else "")
            first, second = settings
            if type(first) in (int, float, dict) and repr(first) != repr(second):
                return self._fail(f"`{self.name}()` returned {first!r}, then {second!r}: it must "
                                  "return the same settings every time (no random choice).",
                                  "Return fixed values, e.g. the best ones your search found.")
            try:
                landing = self.measure(first)
            except Exception as err:  # a bug in the check itself, not in the learner's settings
                return CheckResult(self.name, self.lesson, False, "error",
                                   f"the check itself failed ({type(err).__name__}: {err}); "
                                   "please report this to the course maintainers.", error=err)
        if landing.passed:
            return CheckResult(self.name, self.lesson, True, "pass", landing.report)
        return self._fail(self.verdicts.get(landing.verdict, "The goal is not reached yet."), landing.report)

    def trial(self, settings: Any, **parts: Any) -> Landing:
        """Run the goal's experiment on ``settings`` (with the learner's ``parts``), print where it landed.

        Nothing is graded or recorded: use it to search for settings, then hand the best in.
        """
        with _preserved_rng():
            landing = self.measure(settings, **parts)
        advice = "" if landing.passed else "  " + self.verdicts.get(landing.verdict, "")
        print(("✅ " if landing.passed else "·  ") + landing.report + advice)
        return landing


def goal(lesson: str, *, reference: Callable, verdicts: Mapping[str, str],
         mistakes: Sequence[Mistake] = ()) -> Callable[[Callable[..., Landing]], GoalCheck]:
    """Declare a goal exercise; the decorated ``check_<name>(settings, **parts)`` is its measurement."""
    def declare(measure: Callable[..., Landing]) -> GoalCheck:
        name = measure.__name__.removeprefix("check_")
        return GoalCheck(lesson, name, reference, measure=measure, verdicts=verdicts, mistakes=mistakes,
                         doc=measure.__doc__ or "")

    return declare


# ---------------------------------------------------------------- what goal experiments share

GOAL_TRAIN, GOAL_EVAL = 2000, 1000  # training images, held-out images of every goal experiment


def goal_data() -> tuple[Any, Any]:
    """The goal experiments' images on the course's device: the first 2000 training images and
    the first 1000 test images (held out)."""
    device = get_device()
    X = data.load_fashion_mnist("train", device="cpu")[0][:GOAL_TRAIN].to(device)
    X_eval = data.load_fashion_mnist("test", device="cpu")[0][:GOAL_EVAL].to(device)
    return X, X_eval


def number(value: Any) -> float | None:
    """``value`` as a finite float if it is a Python or numpy number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def read_settings(settings: Any, keys: Sequence[str], integers: Sequence[str] = ()) -> tuple[dict | None, str]:
    """``(values, problem)``: the dict's numbers by key, or None and what is wrong ("keys", "values")."""
    if not isinstance(settings, dict) or set(settings) != set(keys):
        return None, "keys"
    values = {}
    for key in keys:
        value = number(settings[key])
        if value is None or value <= 0 or (key in integers and (not isinstance(settings[key], int)
                                                                 or isinstance(settings[key], bool))):
            return None, "values"
        values[key] = int(value) if key in integers else value
    return values, ""
