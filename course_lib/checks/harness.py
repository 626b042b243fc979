"""Grading one case: call the learner's function, compare, and diagnose the first problem.

:func:`grade_case` raises :class:`Fail` with the feedback for the first thing that is wrong:
an exception, a wrong type, an input modified in place, a tensor on the wrong device, a wrong
value (named after the catalogued :class:`~course_lib.checks.cases.Mistake` that behaves the
same), a wrong gradient, a missing or wrong exception, or a broken post-condition.
"""
from __future__ import annotations

import copy
import os
import traceback
from typing import Any, Callable

import numpy as np
import torch

from .cases import After, Case, Mistake, with_grad
from .compare import describe_type, diff, fmt_shape, has_nonfinite, tensor_diff, tensors, to_cpu

MATCHES = "(Your output on case '{label}' matches this common mistake.)"
BEHAVES = "(Your code on case '{label}' behaves like this common mistake.)"
_LIBRARY_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Fail(Exception):
    """Stop grading with a diagnosis (``status`` is "fail" or "not_implemented")."""

    def __init__(self, message: str, hint: str = "", status: str = "fail"):
        super().__init__(message)
        self.message, self.hint, self.status = message, hint, status


def _where_it_failed(err: BaseException) -> str:
    """The learner's source line where ``err`` was raised, if known (library frames skipped)."""
    frames = traceback.extract_tb(err.__traceback__)
    mine = [f for f in frames if f.line and "site-packages" not in f.filename
            and not os.path.abspath(f.filename).startswith(_LIBRARY_DIR)]
    return mine[-1].line.strip() if mine else ""


def _one_line(text: str, limit: int = 200) -> str:
    text = text.strip().splitlines()[0] if text.strip() else ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def build(case: Case) -> tuple[tuple, dict]:
    return tuple(case.make_args()), copy.deepcopy(case.kwargs)


def _snapshot(args: tuple, kwargs: dict) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(t, t.detach().clone()) for t in tensors(list(args) + list(kwargs.values()))]


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
    pieces = [t.sum() for t in tensors(out) if t.is_floating_point() and t.requires_grad]
    if not pieces:
        return [None] * len(indices)
    total = torch.stack([p.to(torch.float64) for p in pieces]).sum()
    return list(torch.autograd.grad(total, [args[i] for i in indices], allow_unused=True))


def _raised(err: Exception, label: str) -> Fail:
    message = _one_line(str(err))
    text = f"raised {type(err).__name__}" + (f": {message}" if message else "")
    hint = ""
    if "in-place" in str(err) or "inplace" in str(err):
        hint = ("An in-place operation (`x += ...`, `x.mul_(...)`, `x[i] = ...`) broke autograd; compute a new "
                "tensor instead.")
    elif _where_it_failed(err):
        hint = f"It happened at: {_where_it_failed(err)}"
    return Fail(f"{text} on case '{label}'", hint)


def _not_implemented(label: str, first: bool, err: BaseException) -> Fail:
    if first:
        return Fail("", status="not_implemented")
    return Fail(f"raised NotImplementedError on case '{label}'",
                "Part of your function is still a stub; replace every `raise NotImplementedError`.")


def _call_learner(fn: Callable, case: Case, args: tuple, kwargs: dict, first: bool) -> Any:
    try:
        return fn(*args, **kwargs)
    except NotImplementedError as err:
        raise _not_implemented(case.label, first, err) from err
    except Exception as err:
        raise _raised(err, case.label) from None


def _check_type(out: Any, ref: Any, returns: str, label: str) -> None:
    """Fail unless ``out`` is the kind of value the exercise asks for."""
    if out is None and ref is not None:
        raise Fail(f"returned None on case '{label}'", "Did you forget the `return` statement?")
    if returns == "tensor" and not isinstance(out, torch.Tensor):
        if isinstance(out, (int, float, np.number, np.ndarray)):
            raise Fail(
                f"returned a {type(out).__name__} on case '{label}', not a torch tensor",
                "Return a tensor so gradients can flow: `.item()`, `float(...)` and numpy all "
                "break backprop.",
            )
        raise Fail(f"returned {describe_type(out)} on case '{label}', expected a torch tensor")
    if returns == "number":
        if isinstance(out, torch.Tensor) and out.numel() != 1:
            raise Fail(f"returned a tensor of shape {fmt_shape(out)} on case '{label}', "
                       "expected a single number", "Reduce to one value (e.g. `.sum()` or `.mean()`).")
        if not isinstance(out, (int, float, np.number, np.ndarray, torch.Tensor)) or isinstance(out, bool):
            raise Fail(f"returned {describe_type(out)} on case '{label}', expected a number")


def _check_device(out: Any, ref: Any, args: tuple, kwargs: dict, label: str) -> None:
    """Fail if an output tensor is not on the device where the reference puts its output."""
    inputs = tensors(list(args) + list(kwargs.values()))
    expected = tensors(ref) or inputs
    if not expected:
        return
    device = expected[0].device
    where = f"an input on {inputs[0].device}" if inputs else f"an expected output on {device}"
    for t in tensors(out):
        if t.device != device:
            raise Fail(
                f"returned a tensor on {t.device} for {where} (case '{label}')",
                "Create new tensors on the input's device, e.g. `torch.zeros_like(x)` or "
                "`torch.ones(n, device=x.device)`.",
            )


# ---------------------------------------------------------------- which mistake behaves the same


def _run_mistake(mistake: Mistake, case: Case) -> tuple[tuple, dict, Any, Exception | None]:
    """The mistake on a fresh copy of the case: (args, kwargs, output, exception raised)."""
    args, kwargs = build(case)
    try:
        return args, kwargs, mistake.fn(*args, **kwargs), None
    except Exception as err:
        return args, kwargs, None, err


def _same_output(spec: Any, case: Case, out_cpu: Any, kind: type | None = None) -> Mistake | None:
    """The first mistake whose output equals ``out_cpu`` (and, given ``kind``, is of that type)."""
    for mistake in spec.mistakes:
        _, _, wrong, err = _run_mistake(mistake, case)
        if kind is not None and type(wrong) is not kind:
            continue
        if err is None and diff(out_cpu, to_cpu(wrong), spec.rtol, spec.atol,
                                case.compare or spec.compare) is None:
            return mistake
    return None


def _same_exception(spec: Any, case: Case, raised: type | None) -> Mistake | None:
    for mistake in spec.mistakes:
        _, _, _, err = _run_mistake(mistake, case)
        if (type(err) if err is not None else None) is raised:
            return mistake
    return None


def _same_broken(spec: Any, case: Case, cond: After, out_cpu: Any) -> Mistake | None:
    for mistake in spec.mistakes:
        args, kwargs, wrong, err = _run_mistake(mistake, case)
        if case.raises is None and (err is not None or diff(
                out_cpu, to_cpu(wrong), spec.rtol, spec.atol, case.compare or spec.compare) is not None):
            continue
        if not cond.holds(args, kwargs, wrong):
            return mistake
    return None


def _check_after(spec: Any, case: Case, args: tuple, kwargs: dict, out: Any) -> None:
    for cond in tuple(spec.after) + tuple(case.after):
        if not cond.holds(args, kwargs, out):
            mistake = _same_broken(spec, case, cond, to_cpu(out))
            if mistake is not None:
                raise Fail(mistake.hint, BEHAVES.format(label=case.label))
            raise Fail(f"{cond.problem} on case '{case.label}'", cond.hint)


# ---------------------------------------------------------------- one case


def _grade_raises(spec: Any, case: Case, fn: Callable, args: tuple, kwargs: dict, first: bool) -> None:
    """A case whose contract is an exception of type ``case.raises``."""
    err: Exception | None = None
    try:
        fn(*args, **kwargs)
    except NotImplementedError as stub:
        if not issubclass(NotImplementedError, case.raises):
            raise _not_implemented(case.label, first, stub) from stub
        err = stub
    except Exception as other:
        err = other
    if not isinstance(err, case.raises):
        what = "returned a value" if err is None else f"raised {type(err).__name__}"
        expected = f"On case '{case.label}' your function {what}; it must raise {case.raises.__name__}."
        mistake = _same_exception(spec, case, type(err) if err is not None else None)
        if mistake is not None:
            raise Fail(mistake.hint, f"{expected} {BEHAVES.format(label=case.label)}")
        raise Fail(case.hint or f"{what} on case '{case.label}', expected {case.raises.__name__}",
                   expected)
    _check_after(spec, case, args, kwargs, None)


def grade_case(spec: Any, case: Case, learner_fn: Callable, *, first: bool) -> None:
    """Grade ``learner_fn`` on one case of the check ``spec``; raise :class:`Fail` on a problem.

    ``spec`` has the attributes of a :class:`~course_lib.checks.core.Check`: ``reference``,
    ``mistakes``, ``after``, ``returns``, ``rtol``, ``atol``, ``compare``, ``check_inplace``,
    ``grad_cases`` and ``mismatch_hint``.
    """
    args, kwargs = build(case)
    if case.raises is not None:
        _grade_raises(spec, case, learner_fn, args, kwargs, first)
        return
    grad = case.label in spec.grad_cases
    ref_args, ref_kwargs = build(case)
    indices: list[int] = []
    if grad:
        args, indices = _grad_inputs(args)
        ref_args, _ = _grad_inputs(ref_args)
    snapshot = _snapshot(args, kwargs) if spec.check_inplace else []

    out = _call_learner(learner_fn, case, args, kwargs, first)
    ref = spec.reference(*ref_args, **ref_kwargs)

    try:
        _check_type(out, ref, spec.returns, case.label)
    except Fail:  # a catalogued mistake that returns the same wrong kind of value says more
        mistake = _same_output(spec, case, to_cpu(out), kind=type(out)) if out is not None else None
        if mistake is None:
            raise
        raise Fail(mistake.hint, MATCHES.format(label=case.label)) from None
    if spec.check_inplace and _was_modified(snapshot):
        raise Fail(f"modified its input in place on case '{case.label}'; compute a new tensor instead",
                   "Use out-of-place operations: `x = x * 2`, not `x *= 2`, `x.mul_(2)` or `x[mask] = 0`.")
    _check_device(out, ref, args, kwargs, case.label)

    out_cpu, ref_cpu = to_cpu(out), to_cpu(ref)
    problem = diff(out_cpu, ref_cpu, spec.rtol, spec.atol, case.compare or spec.compare)
    if problem:
        mistake = _same_output(spec, case, out_cpu)
        if mistake is not None:
            raise Fail(mistake.hint, MATCHES.format(label=case.label))
        hint = spec.mismatch_hint
        if has_nonfinite(out_cpu) and not has_nonfinite(ref_cpu):
            hint = "Your output contains NaN or inf: look for log(0), 0/0 or the sqrt of a negative number."
        elif "shape" in problem:
            hint = "Check which dimension you reduce over, `keepdim`, and how tensors broadcast."
        if problem.startswith("shape"):
            raise Fail(f"returned {problem} on case '{case.label}'", hint)
        raise Fail(f"wrong values on case '{case.label}': {problem}", hint)

    if grad:
        _check_grads(out, ref, args, ref_args, indices, case.label, spec.rtol, spec.atol)
    _check_after(spec, case, args, kwargs, out)


def _check_grads(out: Any, ref: Any, args: tuple, ref_args: tuple, indices: list[int], label: str,
                 rtol: float, atol: float) -> None:
    if not any(t.requires_grad for t in tensors(out)):
        raise Fail(
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
            raise Fail(f"no gradient reaches argument {i + 1} on case '{label}': "
                       "did you detach, call .item() or use numpy?",
                       "Keep the whole computation in torch operations on the input tensors.")
        problem = tensor_diff(g.detach().cpu(), w.detach().cpu(), rtol, atol)
        if problem:
            raise Fail(f"the values are right but the gradient with respect to argument {i + 1} "
                       f"is wrong on case '{label}': {problem}",
                       "Non-differentiable steps (rounding, comparisons, `.data`, in-place edits) "
                       "change the gradient.")
