"""The grading harness behind every ``check_<name>(learner_fn)`` of the course.

A check calls the learner's function on a few cases, compares each output with a reference
implementation and, when they differ, runs a catalogue of known wrong implementations
(:class:`Mistake`) on the same inputs: the first one that reproduces the learner's output names
the likely mistake. Feedback is printed, recorded with :mod:`course_lib.progress` and returned
as a :class:`CheckResult`.

Typical lesson check::

    register("02", "l1_penalty")

    def check_l1_penalty(l1_penalty) -> CheckResult:
        return run_check(
            lesson="02", exercise="l1_penalty", learner_fn=l1_penalty, reference=_l1_penalty,
            cases=[Case("batch of 4", lambda: (rand(4, 8, seed=0),)),
                   Case("on device", lambda: (rand(4, 8, seed=1, device=get_device()),))],
            mistakes=[Mistake("You summed over the batch; average over it instead.",
                              lambda z: z.abs().sum())],
            grad_cases=("batch of 4",),
        )

Set ``COURSE_STRICT_CHECKS=1`` to make a failing check raise ``AssertionError`` (used by the
test suite so that a wrong solution notebook fails).
"""
from __future__ import annotations

import contextlib
import copy
import os
import random
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np
import torch

from course_lib import progress

STRICT_ENV = "COURSE_STRICT_CHECKS"

_REGISTRY: dict[str, list[str]] = {}


@dataclass
class CheckResult:
    """Outcome of one check; truthy when it passed."""

    exercise: str
    lesson: str
    passed: bool
    status: str  # "pass" | "fail" | "not_implemented" | "error"
    message: str  # short feedback shown to the learner
    hint: str = ""  # optional second line of feedback

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"CheckResult({self.exercise}: {self.status})"

    def _ipython_display_(self) -> None:
        """Show nothing: the check has already printed its feedback."""


@dataclass
class Case:
    """One input to grade on; ``make_args`` builds fresh arguments on every call."""

    label: str
    make_args: Callable[[], tuple]
    kwargs: dict = field(default_factory=dict)


@dataclass
class Mistake:
    """A realistic wrong implementation and the feedback to give when the learner matches it."""

    hint: str
    fn: Callable


class _Fail(Exception):
    """Internal: stop grading with a diagnosis (``status`` is "fail" or "not_implemented")."""

    def __init__(self, message: str, hint: str = "", status: str = "fail"):
        super().__init__(message)
        self.message, self.hint, self.status = message, hint, status


def register(lesson: str, exercise: str) -> None:
    """Declare that ``lesson`` has a check named ``exercise`` (the denominator of its score)."""
    names = _REGISTRY.setdefault(str(lesson), [])
    if exercise not in names:
        names.append(exercise)


def registered() -> dict[str, list[str]]:
    """Every registered check: ``{lesson: [exercise, ...]}``."""
    return {lesson: list(names) for lesson, names in _REGISTRY.items()}


def rand(*shape: int, seed: int, dtype: torch.dtype = torch.float32, device: Any = "cpu",
         low: float = -1.0, high: float = 1.0) -> torch.Tensor:
    """Uniform values in ``[low, high)`` of the given shape, from a private generator.

    The same ``seed`` gives the same values for every dtype and device, and the global RNG is
    left untouched.
    """
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(*shape, generator=gen, dtype=torch.float64)
    return (low + (high - low) * x).to(dtype=dtype, device=device)


def images(n: int, d: int, seed: int, **kw: Any) -> torch.Tensor:
    """Pixel-like values in ``[0, 1)``: ``n`` flattened images of ``d`` pixels (see :func:`rand`)."""
    return rand(n, d, seed=seed, low=0.0, high=1.0, **kw)


def with_grad(*tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Fresh leaf copies of ``tensors`` that require grad (the arguments a case differentiates)."""
    return tuple(t.detach().clone().requires_grad_(True) for t in tensors)


def _strict() -> bool:
    return os.environ.get(STRICT_ENV, "").strip().lower() in ("1", "true", "yes")


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


# ---------------------------------------------------------------- helpers on nested outputs


def _tensors(obj: Any) -> list[torch.Tensor]:
    """All tensors inside ``obj`` (tuples, lists and dict values are searched)."""
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for item in obj for t in _tensors(item)]
    if isinstance(obj, dict):
        return [t for item in obj.values() for t in _tensors(item)]
    return []


def _to_cpu(obj: Any) -> Any:
    """Detached CPU copy of every tensor in ``obj``; numpy arrays and scalars become tensors."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, (np.ndarray, np.number)):
        return torch.as_tensor(np.asarray(obj))
    if isinstance(obj, (tuple, list)):
        return type(obj)(_to_cpu(item) for item in obj)
    if isinstance(obj, dict):
        return {key: _to_cpu(value) for key, value in obj.items()}
    return obj


def _fmt_shape(t: torch.Tensor) -> str:
    return str(tuple(t.shape))


def _fmt_num(x: float) -> str:
    return f"{x:.4g}"


def _tensor_diff(out: torch.Tensor, ref: torch.Tensor, rtol: float, atol: float) -> str | None:
    """``None`` when ``out`` matches ``ref`` (shape and values), else a short description."""
    if out.shape != ref.shape:
        return f"shape {_fmt_shape(out)} but expected {_fmt_shape(ref)}"
    if out.is_complex() or ref.is_complex():
        a, b = out.to(torch.complex128), ref.to(torch.complex128)
    elif out.is_floating_point() or ref.is_floating_point():
        a, b = out.to(torch.float64), ref.to(torch.float64)
    else:
        a, b = out.to(torch.int64), ref.to(torch.int64)
    close = torch.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
    if bool(close.all()):
        return None
    bad = (~close).nonzero()
    first = tuple(bad[0].tolist())
    where = f" at index {list(first)}" if first else ""
    got, want = a[first].item(), b[first].item()
    text = f"expected {_fmt_num(want)}, got {_fmt_num(got)}{where}"
    if a.numel() > 1:
        text += f" ({len(bad)} of {a.numel()} values differ)"
    return text


def _diff(out: Any, ref: Any, rtol: float, atol: float, compare: Callable | None) -> str | None:
    """``None`` when ``out`` matches ``ref`` (both on CPU), else a short description."""
    if compare is not None:
        try:
            return None if compare(out, ref) else "does not match the expected result"
        except Exception as err:
            return f"could not be compared with the expected result ({type(err).__name__}: {err})"
    if isinstance(ref, torch.Tensor):
        if isinstance(out, (int, float)) and not isinstance(out, bool):
            out = torch.as_tensor(out)
        if not isinstance(out, torch.Tensor):
            return f"a {type(out).__name__} but expected a tensor"
        return _tensor_diff(out, ref, rtol, atol)
    if isinstance(ref, (tuple, list)):
        if not isinstance(out, (tuple, list)) or len(out) != len(ref):
            return f"expected a sequence of {len(ref)} items, got {_describe_type(out)}"
        for i, (o, r) in enumerate(zip(out, ref)):
            problem = _diff(o, r, rtol, atol, None)
            if problem:
                return f"item {i}: {problem}"
        return None
    if isinstance(ref, dict):
        if not isinstance(out, dict) or set(out) != set(ref):
            return f"expected a dict with keys {sorted(ref)}, got {_describe_type(out)}"
        for key in ref:
            problem = _diff(out[key], ref[key], rtol, atol, None)
            if problem:
                return f"key {key!r}: {problem}"
        return None
    if isinstance(ref, (int, float, bool)) and not isinstance(out, (str, bytes)):
        try:
            return _tensor_diff(torch.as_tensor(float(out)), torch.as_tensor(float(ref)), rtol, atol)
        except (TypeError, ValueError, RuntimeError):
            return f"expected a number, got {_describe_type(out)}"
    return None if out == ref else f"expected {ref!r}, got {out!r}"


def _describe_type(obj: Any) -> str:
    if isinstance(obj, torch.Tensor):
        return f"a tensor of shape {_fmt_shape(obj)}"
    if isinstance(obj, (tuple, list)):
        return f"a {type(obj).__name__} of {len(obj)} items"
    return f"a {type(obj).__name__}"


def _has_nonfinite(obj: Any) -> bool:
    return any(t.is_floating_point() and not bool(torch.isfinite(t).all()) for t in _tensors(obj))


_LIBRARY_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _where_it_failed(err: BaseException) -> str:
    """The learner's source line where ``err`` was raised, if known (library frames skipped)."""
    frames = traceback.extract_tb(err.__traceback__)
    mine = [f for f in frames if f.line and "site-packages" not in f.filename
            and not os.path.abspath(f.filename).startswith(_LIBRARY_DIR)]
    return mine[-1].line.strip() if mine else ""


def _one_line(text: str, limit: int = 200) -> str:
    text = text.strip().splitlines()[0] if text.strip() else ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------- one case


def _build(case: Case) -> tuple[tuple, dict]:
    return tuple(case.make_args()), copy.deepcopy(case.kwargs)


def _snapshot(args: tuple, kwargs: dict) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(t, t.detach().clone()) for t in _tensors(list(args) + list(kwargs.values()))]


def _was_modified(snapshot: list[tuple[torch.Tensor, torch.Tensor]]) -> bool:
    for tensor, before in snapshot:
        now = tensor.detach()
        if now.shape != before.shape:
            return True
        if not bool(torch.isclose(now, before, rtol=0, atol=0, equal_nan=True).all()
                    if now.is_floating_point() else torch.equal(now, before)):
            return True
    return False


def _grad_inputs(args: tuple) -> tuple[tuple, list[int]]:
    """Make the case's float tensor arguments require grad; return new args and their indices.

    If the case builder already marked some arguments ``requires_grad=True``, only those are
    used; otherwise every floating-point tensor argument is.
    """
    marked = [i for i, a in enumerate(args) if isinstance(a, torch.Tensor) and a.requires_grad]
    if marked:
        return args, marked
    args = list(args)
    chosen = []
    for i, a in enumerate(args):
        if isinstance(a, torch.Tensor) and a.is_floating_point():
            (args[i],) = with_grad(a)
            chosen.append(i)
    return tuple(args), chosen


def _grads(out: Any, args: tuple, indices: list[int]) -> list[torch.Tensor | None]:
    """Gradient of the sum of all float outputs with respect to ``args[i]`` for each index."""
    pieces = [t.sum() for t in _tensors(out) if t.is_floating_point() and t.requires_grad]
    if not pieces:
        return [None] * len(indices)
    total = torch.stack([p.to(torch.float64) for p in pieces]).sum()
    return list(torch.autograd.grad(total, [args[i] for i in indices], allow_unused=True))


def _call_learner(fn: Callable, case: Case, args: tuple, kwargs: dict, first: bool) -> Any:
    try:
        return fn(*args, **kwargs)
    except NotImplementedError as err:
        if first:
            raise _Fail("", status="not_implemented") from err
        raise _Fail(f"raised NotImplementedError on case '{case.label}'",
                    "Part of your function is still a stub; replace every `raise NotImplementedError`.")
    except Exception as err:
        message = _one_line(str(err))
        text = f"raised {type(err).__name__}" + (f": {message}" if message else "")
        hint = ""
        if "in-place" in str(err) or "inplace" in str(err):
            hint = "An in-place operation (`x += ...`, `x.mul_(...)`, `x[i] = ...`) broke autograd; compute a new tensor instead."
        elif _where_it_failed(err):
            hint = f"It happened at: {_where_it_failed(err)}"
        raise _Fail(f"{text} on case '{case.label}'", hint) from None


def _check_type(out: Any, ref: Any, returns: str, label: str) -> None:
    """Fail unless ``out`` is the kind of value the exercise asks for."""
    if out is None and ref is not None:
        raise _Fail(f"returned None on case '{label}'", "Did you forget the `return` statement?")
    if returns == "tensor" and not isinstance(out, torch.Tensor):
        if isinstance(out, (int, float, np.number, np.ndarray)):
            raise _Fail(
                f"returned a {type(out).__name__} on case '{label}', not a torch tensor",
                "Return a tensor so gradients can flow: `.item()`, `float(...)` and numpy all "
                "break backprop.",
            )
        raise _Fail(f"returned {_describe_type(out)} on case '{label}', expected a torch tensor")
    if returns == "number":
        if isinstance(out, torch.Tensor) and out.numel() != 1:
            raise _Fail(f"returned a tensor of shape {_fmt_shape(out)} on case '{label}', "
                        "expected a single number", "Reduce to one value (e.g. `.sum()` or `.mean()`).")
        if not isinstance(out, (int, float, np.number, np.ndarray, torch.Tensor)) or isinstance(out, bool):
            raise _Fail(f"returned {_describe_type(out)} on case '{label}', expected a number")


def _check_device(out: Any, ref: Any, args: tuple, kwargs: dict, label: str) -> None:
    """Fail if an output tensor is not on the device where the reference puts its output."""
    inputs = _tensors(list(args) + list(kwargs.values()))
    expected = _tensors(ref) or inputs
    if not expected:
        return
    device = expected[0].device
    where = f"an input on {inputs[0].device}" if inputs else f"an expected output on {device}"
    for t in _tensors(out):
        if t.device != device:
            raise _Fail(
                f"returned a tensor on {t.device} for {where} (case '{label}')",
                "Create new tensors on the input's device, e.g. `torch.zeros_like(x)` or "
                "`torch.ones(n, device=x.device)`.",
            )


def _match_mistake(mistakes: list[Mistake], case: Case, out_cpu: Any, rtol: float, atol: float,
                   compare: Callable | None) -> Mistake | None:
    """The first known mistake whose output on a fresh copy of the case equals ``out_cpu``."""
    for mistake in mistakes:
        args, kwargs = _build(case)
        try:
            wrong = _to_cpu(mistake.fn(*args, **kwargs))
        except Exception:
            continue
        if _diff(out_cpu, wrong, rtol, atol, compare) is None:
            return mistake
    return None


def _grade_case(case: Case, *, first: bool, learner_fn: Callable, reference: Callable,
                mistakes: list[Mistake], grad: bool, returns: str, rtol: float, atol: float,
                compare: Callable | None, check_inplace: bool) -> None:
    """Grade ``learner_fn`` on one case; raise ``_Fail`` with a diagnosis on the first problem."""
    args, kwargs = _build(case)
    ref_args, ref_kwargs = _build(case)
    indices: list[int] = []
    if grad:
        args, indices = _grad_inputs(args)
        ref_args, _ = _grad_inputs(ref_args)
    snapshot = _snapshot(args, kwargs) if check_inplace else []

    out = _call_learner(learner_fn, case, args, kwargs, first)
    ref = reference(*ref_args, **ref_kwargs)

    _check_type(out, ref, returns, case.label)
    if check_inplace and _was_modified(snapshot):
        raise _Fail(f"modified its input in place on case '{case.label}'; compute a new tensor instead",
                    "Use out-of-place operations: `x = x * 2`, not `x *= 2`, `x.mul_(2)` or `x[mask] = 0`.")
    _check_device(out, ref, args, kwargs, case.label)

    out_cpu, ref_cpu = _to_cpu(out), _to_cpu(ref)
    problem = _diff(out_cpu, ref_cpu, rtol, atol, compare)
    if problem:
        mistake = _match_mistake(mistakes, case, out_cpu, rtol, atol, compare)
        if mistake is not None:
            raise _Fail(mistake.hint, f"(Your output on case '{case.label}' matches this common mistake.)")
        hint = "Compare your code with the formula in the lesson, one step at a time."
        if _has_nonfinite(out_cpu) and not _has_nonfinite(ref_cpu):
            hint = "Your output contains NaN or inf: look for log(0), 0/0 or the sqrt of a negative number."
        elif problem.startswith("shape"):
            hint = "Check which dimension you reduce over, `keepdim`, and how tensors broadcast."
        if problem.startswith("shape"):
            raise _Fail(f"returned {problem} on case '{case.label}'", hint)
        raise _Fail(f"wrong values on case '{case.label}': {problem}", hint)

    if grad:
        _check_grads(out, ref, args, ref_args, indices, case.label, rtol, atol)


def _check_grads(out: Any, ref: Any, args: tuple, ref_args: tuple, indices: list[int], label: str,
                 rtol: float, atol: float) -> None:
    if not any(t.requires_grad for t in _tensors(out)):
        raise _Fail(
            f"no gradient flows through your output on case '{label}': "
            "did you detach, call .item() or use numpy?",
            "Keep the whole computation in torch operations on the input tensors.",
        )
    got = _grads(out, args, indices)
    want = _grads(ref, ref_args, indices)
    for i, g, w in zip(indices, got, want):
        if w is None:
            continue
        if g is None:
            raise _Fail(f"no gradient reaches argument {i + 1} on case '{label}': "
                        "did you detach, call .item() or use numpy?",
                        "Keep the whole computation in torch operations on the input tensors.")
        problem = _tensor_diff(g.detach().cpu(), w.detach().cpu(), rtol, atol)
        if problem:
            raise _Fail(f"the values are right but the gradient with respect to argument {i + 1} "
                        f"is wrong on case '{label}': {problem}",
                        "Non-differentiable steps (rounding, comparisons, `.data`, in-place edits) "
                        "change the gradient.")


# ---------------------------------------------------------------- the public entry point


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


def run_check(*, lesson: str, exercise: str, learner_fn: Any, reference: Callable,
              cases: list[Case], mistakes: list[Mistake] | tuple = (),
              grad_cases: tuple[str, ...] = (), returns: str = "tensor",
              rtol: float = 1e-5, atol: float = 1e-6, compare: Callable | None = None,
              check_inplace: bool = True) -> CheckResult:
    """Grade ``learner_fn`` against ``reference`` on ``cases``; print, record and return the result.

    Args:
        returns: "tensor" (must return a torch tensor), "number" (a float, int or one-element
            tensor) or "any" (compared item by item, or with ``compare``).
        grad_cases: labels of the cases where the gradient of ``out.sum()`` with respect to the
            float tensor arguments is compared with the reference's too.
        compare: ``compare(out, ref) -> bool`` on CPU copies, replacing the tolerance test.
        check_inplace: set False for exercises that are meant to modify their inputs.

    Mistakes made by the learner never raise, except in strict mode (``COURSE_STRICT_CHECKS=1``)
    where a check that does not pass raises ``AssertionError`` after printing its feedback.
    """
    register(lesson, exercise)
    error: Exception | None = None
    not_done = CheckResult(exercise, lesson, False, "not_implemented",
                           f"Not implemented yet: fill in `{exercise}` and run this cell again.")
    if not callable(learner_fn):
        result = not_done
    else:
        try:
            with _preserved_rng():
                for i, case in enumerate(cases):
                    _grade_case(case, first=i == 0, learner_fn=learner_fn, reference=reference,
                                mistakes=list(mistakes), grad=case.label in grad_cases,
                                returns=returns, rtol=rtol, atol=atol, compare=compare,
                                check_inplace=check_inplace)
            passed = f"all {len(cases)} cases pass." if len(cases) != 1 else "the test case passes."
            result = CheckResult(exercise, lesson, True, "pass", passed)
        except _Fail as fail:
            result = not_done if fail.status == "not_implemented" else CheckResult(
                exercise, lesson, False, "fail", fail.message, fail.hint)
        except Exception as err:  # a bug in the check itself, not in the learner's code
            result = CheckResult(exercise, lesson, False, "error",
                                 f"the check itself failed ({type(err).__name__}: {err}); "
                                 "please report this to the course maintainers.")
            error = err
    _report(result)
    progress.record(lesson, exercise, result.passed, kind="check")
    if _strict() and not result.passed:
        raise AssertionError(f"{exercise}: {result.message}") from error
    return result
