"""Input checks shared by the public API: one clear, actionable message per kind of bad input.

Every public function of the science layer that takes a batch, a weight or a count checks it
here, so that bad input stops with a message saying what to do instead of a NaN, a silently
broadcast result or an error from deep inside torch::

    >>> import torch
    >>> batch("z", torch.zeros(0, 4))
    Traceback (most recent call last):
    ...
    ValueError: z is an empty batch (shape (0, 4)): a mean over no samples is undefined; pass at least one sample.
    >>> weight("lam", -0.1)
    Traceback (most recent call last):
    ...
    ValueError: lam must be a finite number >= 0, got -0.1.

Numbers may be Python ints and floats, numpy scalars or one-element tensors. Tensors of integer,
boolean or half-precision dtype are converted to float32 (float64 is kept); anything else that is
not a tensor is refused with the conversion to use.
"""
from __future__ import annotations

import math
from numbers import Integral, Real

import torch

_KEPT = (torch.float32, torch.float64)


def scalar(name: str, value):
    """A Python number from a number, numpy scalar or one-element tensor; TypeError otherwise.

    NaN and infinities pass (see :func:`number` for a finite float).
    """
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise TypeError(f"{name} must be a single number, got a tensor of {value.numel()} elements "
                            f"(shape {tuple(value.shape)}); reduce it first, e.g. x.mean().item().")
        value = value.item()
    elif hasattr(value, "item") and getattr(value, "size", None) == 1 and not isinstance(value, (str, bytes)):
        value = value.item()  # numpy scalars and one-element arrays
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}.")
    return value


def number(name: str, value, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a finite float, optionally inside ``[low, high]`` (open ends when asked)."""
    x = float(scalar(name, value))
    lo = "" if low is None else f"{'>' if low_open else '>='} {low:g}"
    hi = "" if high is None else f"{'<' if high_open else '<='} {high:g}"
    bounds = " and ".join(b for b in (lo, hi) if b)
    wanted = f"a finite number{' ' + bounds if bounds else ''}"
    if not math.isfinite(x):
        raise ValueError(f"{name} must be {wanted}, got {x}.")
    if low is not None and (x < low or (low_open and x == low)):
        raise ValueError(f"{name} must be {wanted}, got {value!r}.")
    if high is not None and (x > high or (high_open and x == high)):
        raise ValueError(f"{name} must be {wanted}, got {value!r}.")
    return x


def weight(name: str, value) -> float:
    """A penalty weight (lambda, beta, a coefficient): a finite number >= 0."""
    return number(name, value, low=0.0)


def count(name: str, value, *, low: int = 1, high: int | None = None) -> int:
    """An integer such as epochs, k or a width: Python or numpy integer (or 0-d integer tensor)."""
    plain = value.item() if isinstance(value, torch.Tensor) and value.numel() == 1 else value
    if hasattr(plain, "item") and getattr(plain, "size", None) == 1:
        plain = plain.item()
    if isinstance(plain, bool) or not isinstance(plain, Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}"
                        + (f" (use {int(plain)} if you meant that)" if isinstance(plain, float)
                           and math.isfinite(plain) and plain == int(plain) else "") + ".")
    n = int(plain)
    if n < low or (high is not None and n > high):
        span = f"in {low}..{high}" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be an integer {span}, got {n}.")
    return n


def tensor(name: str, x, *, dims: int | tuple[int, ...] | None = None, shape: str = "") -> torch.Tensor:
    """``x`` as a floating tensor (float32/float64 kept, other dtypes converted to float32).

    dims: the number(s) of dimensions allowed; ``shape`` names them for the message, e.g.
    ``"(batch, n_latent)"``.
    """
    if not isinstance(x, torch.Tensor):
        hint = " (convert it with torch.as_tensor(x, dtype=torch.float32))" if hasattr(x, "__array__") or \
            isinstance(x, (list, tuple)) else ""
        raise TypeError(f"{name} must be a torch.Tensor{' of shape ' + shape if shape else ''}, "
                        f"got {type(x).__name__}{hint}.")
    allowed = (dims,) if isinstance(dims, int) else dims
    if allowed is not None and x.dim() not in allowed:
        flat = " Flatten images first: x.reshape(len(x), -1)." if x.dim() > max(allowed) else ""
        raise ValueError(f"{name} must have shape {shape or f'with {allowed} dimensions'}, "
                         f"got {tuple(x.shape)}.{flat}")
    if x.dtype not in _KEPT:
        if x.is_complex():
            raise TypeError(f"{name} is complex ({x.dtype}); the course works with real numbers.")
        x = x.float()
    return x


def batch(name: str, x, *, shape: str = "(batch, n_latent)") -> torch.Tensor:
    """A non-empty 2-D batch (rows are samples), as a floating tensor."""
    x = tensor(name, x, dims=2, shape=shape)
    if x.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch (shape {tuple(x.shape)}): a mean over no samples "
                         f"is undefined; pass at least one sample.")
    return x


def finite(name: str, x: torch.Tensor) -> torch.Tensor:
    """``x`` unchanged when every entry is finite; a ValueError saying how many are not."""
    bad = ~torch.isfinite(x)
    if bad.any():
        raise ValueError(f"{name} has {int(bad.sum())} NaN or infinite entries of {x.numel()}; "
                         f"check what produced it (a diverged model, a log of 0, unscaled data).")
    return x


def same_shape(name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor) -> None:
    """Two tensors that are compared entry by entry must have one shape (no broadcasting)."""
    if a.shape != b.shape:
        raise ValueError(f"{name_a} and {name_b} must have the same shape, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}; broadcasting them would compare the wrong entries.")


def in_range(name: str, x: torch.Tensor, low: float, high: float, why: str) -> None:
    """Every entry of ``x`` within ``[low, high]``; the message gives the range found and ``why``."""
    if x.numel() and (x.min() < low or x.max() > high):
        raise ValueError(f"{name} must lie in [{low:g}, {high:g}] ({why}); its entries range from "
                         f"{x.min().item():.4g} to {x.max().item():.4g}.")
