"""Datasets with known structure for lesson 04: Foldiak's bars and the three-pattern toy.

* :func:`make_bars`, :func:`bar_images` - images made of independent bars, with their factors;
* :data:`TOY_PATTERNS`, :data:`TOY_NAMES`, :func:`toy_dataset` - three 4-pixel patterns at random
  strengths, for the toy table of :mod:`course_lib.interpret.toy`.
"""
from __future__ import annotations

import torch

__all__ = ["make_bars", "bar_images", "TOY_PATTERNS", "TOY_NAMES", "toy_dataset"]

# ------------------------------------------------------------------ bars: known factors


def make_bars(n: int, size: int = 8, p: float = 1 / 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Foldiak's bars: ``size x size`` images made of independent horizontal and vertical bars.

    Each of the ``2 * size`` bars is on with probability ``p``, independently. Factor ``r`` (for
    ``r < size``) is the horizontal bar filling row ``r``; factor ``size + c`` is the vertical bar
    filling column ``c``. A pixel is 1 when any bar covers it (a crossing is 1, not 2).

    Returns ``(images, factors)``: float32 tensors of shape (n, size*size) and (n, 2*size) with
    values 0 and 1, on the CPU. The same ``seed`` gives the same data.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")
    if not 0.0 <= float(p) <= 1.0:
        raise ValueError(f"p is a probability and must lie in [0, 1], got {p!r}")
    gen = torch.Generator().manual_seed(seed)
    factors = (torch.rand(n, 2 * size, generator=gen) < p).float()
    rows = factors[:, :size, None].expand(n, size, size)  # horizontal bar r covers row r
    cols = factors[:, None, size:].expand(n, size, size)  # vertical bar c covers column c
    images = torch.maximum(rows, cols).reshape(n, size * size)
    return images, factors


def bar_images(size: int = 8) -> torch.Tensor:
    """The ``2 * size`` single-bar images, in factor order: (2*size, size*size)."""
    eye = torch.eye(2 * size)
    rows = eye[:, :size, None].expand(-1, size, size)
    cols = eye[:, None, size:].expand(-1, size, size)
    return torch.maximum(rows, cols).reshape(2 * size, size * size)


# ------------------------------------------------------------------ the three-pattern toy


TOY_NAMES = ("A", "B", "C")
TOY_PATTERNS = torch.tensor([[1.0, 0.0, 0.0, 1.0],   # A
                             [0.0, 1.0, 1.0, 0.0],   # B
                             [1.0, 1.0, 0.0, 0.0]])  # C
"""Three 4-pixel input patterns (rows A, B, C)."""


def toy_dataset(n: int, *, seed: int = 0,
                strength: tuple[float, float] = (0.5, 1.5)) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` samples, each one of :data:`TOY_PATTERNS` (chosen uniformly) times a random strength.

    The strength is uniform in ``strength``; without it, one latent plus the decoder bias could
    reproduce two fixed patterns (any two points lie on a line). Returns (X (n, 4), pattern (n,)).
    """
    gen = torch.Generator().manual_seed(seed)
    which = torch.randint(len(TOY_PATTERNS), (n,), generator=gen)
    lo, hi = strength
    scale = lo + (hi - lo) * torch.rand(n, 1, generator=gen)
    return TOY_PATTERNS[which] * scale, which

