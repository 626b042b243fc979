"""What a check is made of: its cases, its catalogue of mistakes, its post-conditions.

* :class:`Case`: one input to grade on. Its contract is "same output as the reference" unless it
  says otherwise: ``raises=ValueError`` (the call must raise that type), ``compare=`` (its own
  comparison), ``after=`` (post-conditions on what the call left behind).
* :class:`Mistake`: a realistic wrong implementation and the feedback it earns. A learner's code
  is matched to the first mistake that behaves the same on the failing case: the same output,
  the same exception, or the same broken post-condition.
* :class:`After`: a post-condition, e.g. "no hook is left on the model" or "the output carries no
  autograd graph", tested on the case's arguments and the output after every call.

Input builders (:func:`rand`, :func:`images`, :func:`with_grad`) make reproducible tensors from a
private generator, so building a case never touches the global random state.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch

__all__ = ["Case", "Mistake", "After", "rand", "images", "with_grad"]


@dataclass
class After:
    """A post-condition: ``holds(args, kwargs, out)`` is True when the call left things right.

    ``out`` is ``None`` when the call raised (on a case that expects an exception).
    """

    problem: str  # what went wrong, e.g. "left a hook on the model"
    hint: str
    holds: Callable[[tuple, dict, Any], bool]


@dataclass
class Case:
    """One input to grade on; ``make_args`` builds fresh arguments on every call.

    Args:
        raises: the exception type the call must raise (the output is then not compared).
        hint: feedback when a ``raises`` case does not raise (no catalogued mistake matched).
        compare: ``compare(out, ref) -> bool`` on CPU copies for this case only.
        after: post-conditions tested after this case's call, besides the check's own.
    """

    label: str
    make_args: Callable[[], tuple]
    kwargs: dict = field(default_factory=dict)
    raises: type[BaseException] | None = None
    hint: str = ""
    compare: Callable[[Any, Any], bool] | None = None
    after: tuple[After, ...] = ()


@dataclass
class Mistake:
    """A realistic wrong implementation and the feedback to give when the learner matches it."""

    hint: str
    fn: Callable


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
