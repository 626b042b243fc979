"""Comparing a learner's output with the reference's: the diagnosis text of a mismatch.

Every function here works on CPU copies (:func:`to_cpu`) of nested outputs: tensors, numbers,
tuples, lists and dicts. :func:`diff` returns ``None`` when two outputs match, else a short
description such as ``"shape (4,) but expected ()"`` or ``"expected 2, got 3 at index [0]"``.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

__all__ = ["tensors", "to_cpu", "diff", "tensor_diff", "describe_type", "fmt_shape", "has_nonfinite"]


def tensors(obj: Any) -> list[torch.Tensor]:
    """All tensors inside ``obj`` (tuples, lists and dict values are searched)."""
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for item in obj for t in tensors(item)]
    if isinstance(obj, dict):
        return [t for item in obj.values() for t in tensors(item)]
    return []


def to_cpu(obj: Any) -> Any:
    """Detached CPU copy of every tensor in ``obj``; numpy arrays and scalars become tensors."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, (np.ndarray, np.number)):
        return torch.as_tensor(np.asarray(obj))
    if isinstance(obj, (tuple, list)):
        return type(obj)(to_cpu(item) for item in obj)
    if isinstance(obj, dict):
        return {key: to_cpu(value) for key, value in obj.items()}
    return obj


def fmt_shape(t: torch.Tensor) -> str:
    return str(tuple(t.shape))


def _fmt_num(x: float) -> str:
    return f"{x:.4g}"


def tensor_diff(out: torch.Tensor, ref: torch.Tensor, rtol: float, atol: float) -> str | None:
    """``None`` when ``out`` matches ``ref`` (shape and values), else a short description."""
    if out.shape != ref.shape:
        return f"shape {fmt_shape(out)} but expected {fmt_shape(ref)}"
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


def diff(out: Any, ref: Any, rtol: float, atol: float, compare: Callable | None) -> str | None:
    """``None`` when ``out`` matches ``ref`` (both on CPU), else a short description."""
    if compare is not None:
        try:
            if compare(out, ref):
                return None
        except Exception as err:
            return f"could not be compared with the expected result ({type(err).__name__}: {err})"
        detail = _detail(out, ref, rtol, atol)
        return "does not match the expected result" + (f" ({detail})" if detail else "")
    if isinstance(ref, torch.Tensor):
        if isinstance(out, (int, float)) and not isinstance(out, bool):
            out = torch.as_tensor(out)
        if not isinstance(out, torch.Tensor):
            return f"a {type(out).__name__} but expected a tensor"
        return tensor_diff(out, ref, rtol, atol)
    if isinstance(ref, (tuple, list)):
        if not isinstance(out, (tuple, list)) or len(out) != len(ref):
            return f"expected a sequence of {len(ref)} items, got {describe_type(out)}"
        for i, (o, r) in enumerate(zip(out, ref)):
            problem = diff(o, r, rtol, atol, None)
            if problem:
                return f"item {i}: {problem}"
        return None
    if isinstance(ref, dict):
        if not isinstance(out, dict) or set(out) != set(ref):
            return f"expected a dict with keys {sorted(ref)}, got {describe_type(out)}"
        for key in ref:
            problem = diff(out[key], ref[key], rtol, atol, None)
            if problem:
                return f"key {key!r}: {problem}"
        return None
    if isinstance(ref, (int, float, bool)) and not isinstance(out, (str, bytes)):
        try:
            return tensor_diff(torch.as_tensor(float(out)), torch.as_tensor(float(ref)), rtol, atol)
        except (TypeError, ValueError, RuntimeError):
            return f"expected a number, got {describe_type(out)}"
    return None if out == ref else f"expected {ref!r}, got {out!r}"


def _detail(out: Any, ref: Any, rtol: float, atol: float) -> str | None:
    """What a custom comparison rejected, where the plain comparison can say: shape, dtype, values."""
    if isinstance(out, torch.Tensor) and isinstance(ref, torch.Tensor) and out.shape == ref.shape \
            and out.dtype != ref.dtype:
        return f"dtype {out.dtype} but expected {ref.dtype}".replace("torch.", "")
    if isinstance(out, (tuple, list)) and isinstance(ref, (tuple, list)) and len(out) == len(ref):
        for i, (o, r) in enumerate(zip(out, ref)):
            problem = _detail(o, r, rtol, atol)
            if problem:
                return f"item {i}: {problem}"
        return None
    if isinstance(out, dict) and isinstance(ref, dict) and set(out) == set(ref):
        for key in ref:
            problem = _detail(out[key], ref[key], rtol, atol)
            if problem:
                return f"key {key!r}: {problem}"
        return None
    return diff(out, ref, rtol, atol, None)


def describe_type(obj: Any) -> str:
    if isinstance(obj, torch.Tensor):
        return f"a tensor of shape {fmt_shape(obj)}"
    if isinstance(obj, (tuple, list)):
        return f"a {type(obj).__name__} of {len(obj)} items"
    return f"a {type(obj).__name__}"


def has_nonfinite(obj: Any) -> bool:
    return any(t.is_floating_point() and not bool(torch.isfinite(t).all()) for t in tensors(obj))


