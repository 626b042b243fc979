"""The fast-mode switch used by tests and CI (``COURSE_FAST=1``).

Fast mode runs the same code paths on less work: fewer epochs, smaller data subsets, fewer sweep
points. Learners never need it; notebooks call :func:`pick` wherever a size is chosen.
"""
from __future__ import annotations

from typing import TypeVar

from . import config

T = TypeVar("T")

ENV_VAR = config.FAST


def is_fast() -> bool:
    """True when ``COURSE_FAST`` is on (``1``, ``true``, ``yes``); see :mod:`course_lib.config`."""
    return config.fast()


def pick(full: T, fast: T) -> T:
    """Return ``fast`` in fast mode and ``full`` otherwise, e.g. ``epochs = pick(10, 1)``."""
    return fast if is_fast() else full


def subset(*tensors, n_fast: int):
    """The first ``n_fast`` rows of each tensor in fast mode, the tensors unchanged otherwise."""
    out = tuple(t[:n_fast] for t in tensors) if is_fast() else tensors
    return out if len(out) > 1 else out[0]
