"""A graded exercise's check, declared once: :class:`Check` and the :func:`check` decorator.

A check calls the learner's function on a few cases, compares each output with the reference
(a public function of the library module where the concept lives) and, when they differ, names
the first catalogued :class:`~course_lib.checks.cases.Mistake` that behaves the same. Feedback is
printed, recorded once with :mod:`course_lib.progress` and returned as a :class:`CheckResult`.

A lesson's check, in ``course_lib/checks/lessonNN.py``::

    @check(LESSON, reference=sparsity.l1_penalty, mistakes=L1_MISTAKES, grad_cases=("batch of 4",))
    def check_l1_penalty():
        \"\"\"Grade ``l1_penalty(z, lam)``.\"\"\"
        return [Case("batch of 4", lambda: (rand(4, 8, seed=0), 0.3)), ...]

The decorated function returns the cases (built when the check runs, so device cases use the
device of the moment); its name gives the exercise's name (``l1_penalty``), and the decorator
replaces it with the :class:`Check`, which registers itself. In a notebook::

    checks.check_l1_penalty(l1_penalty)                   # grade, print, record
    use_l1 = checks.check_l1_penalty.or_reference(l1_penalty)   # yours once it passes

With ``COURSE_STRICT_CHECKS=1`` a check that does not pass raises ``AssertionError`` (the test
suite's solution notebooks run so).
"""
from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch

from course_lib import config, progress

from .cases import After, Case, Mistake, images, rand, with_grad
from .harness import Fail, grade_case

__all__ = ["Check", "CheckResult", "check", "run_check", "REGISTRY", "registered", "exported",
           "After", "Case", "Mistake", "images", "rand", "with_grad"]

DEFAULT_MISMATCH_HINT = "Compare your code with the formula in the lesson, one step at a time."


@dataclass
class CheckResult:
    """Outcome of one check; truthy when it passed."""

    exercise: str
    lesson: str
    passed: bool
    status: str  # "pass" | "fail" | "not_implemented" | "error"
    message: str  # short feedback shown to the learner
    hint: str = ""  # optional second line of feedback
    error: BaseException | None = field(default=None, repr=False, compare=False)  # a bug in the check itself

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"CheckResult({self.exercise}: {self.status})"

    def _ipython_display_(self) -> None:
        """Show nothing: the check has already printed its feedback."""


class Registry:
    """Every declared check, in declaration order, by exercise name."""

    def __init__(self) -> None:
        self._checks: dict[str, Check] = {}

    def add(self, item: "Check") -> None:
        other = self._checks.get(item.name)
        if other is not None and other.lesson != item.lesson:
            raise ValueError(f"exercise {item.name!r} is declared by lessons {other.lesson} and {item.lesson}")
        self._checks[item.name] = item

    def get(self, name: str) -> "Check":
        try:
            return self._checks[name]
        except KeyError:
            raise KeyError(f"no check named {name!r}; known: {', '.join(self._checks)}") from None

    def by_lesson(self) -> dict[str, list[str]]:
        """``{lesson: [exercise, ...]}`` in declaration order."""
        out: dict[str, list[str]] = {}
        for item in self._checks.values():
            out.setdefault(item.lesson, []).append(item.name)
        return out

    def __iter__(self) -> Iterator["Check"]:
        return iter(list(self._checks.values()))


REGISTRY = Registry()


def registered() -> dict[str, list[str]]:
    """Every registered check: ``{lesson: [exercise, ...]}``."""
    return REGISTRY.by_lesson()


def exported(lesson: str) -> list[str]:
    """The public names (``check_<exercise>``) of one lesson's checks: its module's ``__all__``."""
    return [f"check_{name}" for name in REGISTRY.by_lesson().get(str(lesson), [])]


@contextlib.contextmanager
def _preserved_rng() -> Iterator[None]:
    """Restore torch (CPU and CUDA), numpy and ``random`` RNG states afterwards."""
    py_state, np_state = random.getstate(), np.random.get_state()
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    try:
        with torch.random.fork_rng(devices=devices):
            yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)


def _report(result: CheckResult) -> None:
    if result.status == "pass":
        print(f"✅ {result.exercise}: {result.message}")
    elif result.status == "not_implemented":
        print(f"⏳ {result.message}")
    elif result.status == "error":
        print(f"⚠️  {result.exercise}: {result.message}")
    else:
        print(f"❌ {result.exercise}: {result.message}")
    if result.hint and result.status != "pass":
        print(f"   Hint: {result.hint}")


class Check:
    """One graded exercise: its reference, cases, catalogue of mistakes and post-conditions.

    Args:
        lesson: two-digit lesson number, e.g. ``"02"``.
        name: the exercise, i.e. the learner's function name (``"l1_penalty"``).
        reference: the correct implementation, a public library function.
        cases: a list of :class:`Case`, or a function returning one (built at each run).
        mistakes: realistic wrong implementations, each with its feedback.
        after: post-conditions tested after every case's call (e.g. no hook left behind).
        returns: "tensor" (must return a torch tensor), "number" (a float, int or one-element
            tensor) or "any" (compared item by item, or with ``compare``).
        grad_cases: labels of the cases where the gradient of the output's sum with respect to
            the float tensor arguments is compared with the reference's too.
        compare: ``compare(out, ref) -> bool`` on CPU copies, replacing the tolerance test
            (a case's own ``compare`` wins).
        observe: grade ``observe(fn)`` instead of ``fn`` (the reference and mistakes too): for
            exercises graded by properties of their behaviour rather than by equal outputs.
        check_inplace: False for exercises that are meant to modify their inputs.
        register: False for an ad-hoc check that does not count towards a lesson's score.
    """

    def __init__(self, lesson: str, name: str, reference: Callable, cases: Sequence[Case] | Callable,
                 *, mistakes: Sequence[Mistake] = (), after: Sequence[After] = (),
                 returns: str = "tensor", grad_cases: Sequence[str] = (), rtol: float = 1e-5,
                 atol: float = 1e-6, compare: Callable | None = None, observe: Callable | None = None,
                 check_inplace: bool = True, mismatch_hint: str = DEFAULT_MISMATCH_HINT,
                 doc: str = "", register: bool = True):
        if returns not in ("tensor", "number", "any"):
            raise ValueError(f"returns must be 'tensor', 'number' or 'any', not {returns!r}")
        self.lesson, self.name, self._reference, self._cases = str(lesson), name, reference, cases
        self._mistakes, self.after, self.returns = list(mistakes), tuple(after), returns
        self.grad_cases, self.rtol, self.atol = tuple(grad_cases), rtol, atol
        self.compare, self.observe, self.check_inplace = compare, observe, check_inplace
        self.mismatch_hint = mismatch_hint
        self.__doc__ = doc or f"Grade the learner's ``{name}``."
        self.__name__ = f"check_{name}"
        self._last: tuple[Any, CheckResult] | None = None
        if register:
            REGISTRY.add(self)

    def __repr__(self) -> str:
        return f"<check {self.name} of lesson {self.lesson}>"

    @property
    def reference(self) -> Callable:
        """The reference implementation, as graded (through ``observe`` when set)."""
        return self.observe(self._reference) if self.observe else self._reference

    @property
    def mistakes(self) -> list[Mistake]:
        """The catalogue, as graded (each through ``observe`` when set)."""
        if not self.observe:
            return self._mistakes
        return [Mistake(m.hint, self.observe(m.fn)) for m in self._mistakes]

    @property
    def catalogue(self) -> list[Mistake]:
        """The catalogue as a learner would write it (without ``observe``)."""
        return list(self._mistakes)

    def cases(self) -> list[Case]:
        return list(self._cases() if callable(self._cases) else self._cases)

    def grade(self, learner_fn: Any) -> CheckResult:
        """Grade without printing, recording or raising."""
        not_done = CheckResult(self.name, self.lesson, False, "not_implemented",
                               f"Not implemented yet: fill in `{self.name}` and run this cell again.")
        if not callable(learner_fn):
            return not_done
        fn = self.observe(learner_fn) if self.observe else learner_fn
        try:
            with _preserved_rng():
                cases = self.cases()
                for i, case in enumerate(cases):
                    grade_case(self, case, fn, first=i == 0)
        except Fail as fail:
            if fail.status == "not_implemented":
                return not_done
            return CheckResult(self.name, self.lesson, False, "fail", fail.message, fail.hint)
        except Exception as err:  # a bug in the check itself, not in the learner's code
            return CheckResult(self.name, self.lesson, False, "error",
                               f"the check itself failed ({type(err).__name__}: {err}); "
                               "please report this to the course maintainers.", error=err)
        passed = f"all {len(cases)} cases pass." if len(cases) != 1 else "the test case passes."
        return CheckResult(self.name, self.lesson, True, "pass", passed)

    def __call__(self, learner_fn: Any) -> CheckResult:
        """Grade ``learner_fn``; print the feedback, record the attempt and return the result.

        Mistakes made by the learner never raise, except in strict mode
        (``COURSE_STRICT_CHECKS=1``), where a check that does not pass raises ``AssertionError``
        after printing its feedback.
        """
        result = self.grade(learner_fn)
        self._last = (learner_fn, result)
        _report(result)
        progress.record(self.lesson, self.name, result.passed, kind="check")
        if config.strict_checks() and not result.passed:
            raise AssertionError(f"{self.name}: {result.message}") from result.error
        return result

    def or_reference(self, learner_fn: Any) -> Callable:
        """``learner_fn`` if it passes this check, else the reference (with a note saying so).

        The result of the last call of this check on the same function is reused, so an attempt
        is recorded once; a function not graded yet is graded (and recorded) silently.
        """
        if self._last is not None and self._last[0] is learner_fn:
            result = self._last[1]
        else:
            result = self.grade(learner_fn)
            self._last = (learner_fn, result)
            progress.record(self.lesson, self.name, result.passed, kind="check")
        if result.passed:
            return learner_fn
        print(f"Note: using the reference implementation of `{self.name}` until yours passes its check.")
        return self._reference


def check(lesson: str, *, reference: Callable, **options: Any) -> Callable[[Callable], Check]:
    """Declare the check of the function named after ``check_``; the decorated function gives the cases."""
    def declare(cases: Callable[[], list[Case]]) -> Check:
        name = cases.__name__.removeprefix("check_")
        return Check(lesson, name, reference, cases, doc=cases.__doc__ or "", **options)

    return declare


def run_check(*, lesson: str, exercise: str, learner_fn: Any, reference: Callable,
              cases: Sequence[Case] | Callable, **options: Any) -> CheckResult:
    """Grade ``learner_fn`` with an ad-hoc :class:`Check` (not registered); print, record, return."""
    return Check(lesson, exercise, reference, cases, register=False, **options)(learner_fn)
