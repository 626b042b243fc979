"""Claims: a lesson's quantitative statements, checked on the run that makes them.

A lesson that says "L0 falls from about 1000 to 9" states it next to a claim evaluated on its own
numbers, so that the prose cannot drift from the measurements::

    >>> from course_lib.claims import claim
    >>> claim("L0 falls from {start:.0f} to {end:.0f} as λ grows", 9.2 < 1005.7 / 50,
    ...       start=1005.7, end=9.2)
    ✓ L0 falls from 1006 to 9 as λ grows

Each claim prints one line starting with ✓ (it holds) or ✗ (it does not, with the numbers). With
``COURSE_STRICT_CLAIMS=1`` a claim that does not hold raises :class:`ClaimError`, so a full run in
CI fails when an edit breaks a lesson's statement. In fast mode (``COURSE_FAST=1``: small data,
few epochs) claims are reported, never enforced: the numbers they are about are not the lesson's.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from course_lib import config, validate

PASS, FAIL = "✓", "✗"


class ClaimError(AssertionError):
    """A lesson's claim that its own run contradicts (raised only when claims are strict)."""


@dataclass(frozen=True)
class Claim:
    """One evaluated statement: its text with the numbers filled in, and whether it held."""

    text: str
    holds: bool
    numbers: dict = field(default_factory=dict)

    @property
    def line(self) -> str:
        """The printed form: ``✓ text`` or ``✗ text (numbers)``."""
        if self.holds:
            return f"{PASS} {self.text}"
        shown = ", ".join(f"{k} = {_show(v)}" for k, v in self.numbers.items())
        return f"{FAIL} {self.text}" + (f"  [does not hold: {shown}]" if shown else "  [does not hold]")


_MADE: list[Claim] = []


def _show(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _truth(holds) -> bool:
    if callable(holds):
        holds = holds()
    if hasattr(holds, "numel") and hasattr(holds, "item"):
        if holds.numel() != 1:
            raise TypeError("a claim's condition must be one truth value, not a tensor of "
                            f"{holds.numel()} elements: reduce it with .all() or .any().")
        holds = holds.item()
    if hasattr(holds, "item") and getattr(holds, "size", 1) == 1:
        holds = holds.item()
    if not isinstance(holds, bool):
        raise TypeError(f"a claim's condition must be True or False, got {type(holds).__name__}.")
    return holds


def claim(statement: str, holds, **numbers) -> None:
    """Evaluate one statement of the lesson on this run's numbers and print it.

    statement: the sentence as the lesson means it, with ``{name}`` / ``{name:.2f}`` fields
        filled from ``numbers``.
    holds: whether the statement is true on this run (a bool, a one-element tensor or array, or a
        function returning one). A claim about a number that is NaN or infinite never holds.
    numbers: the values the statement is about (floats, ints, numpy scalars, 0-d tensors).

    Prints ``✓ ...`` or ``✗ ...``. Raises :class:`ClaimError` when it does not hold and
    ``COURSE_STRICT_CLAIMS`` is on (outside fast mode); ``TypeError`` / ``KeyError`` for a malformed
    claim, always, since that is a bug in the lesson rather than a measurement.
    """
    if not isinstance(statement, str) or not statement.strip():
        raise TypeError("a claim needs its statement as a non-empty string.")
    values = {name: validate.scalar(f"claim number {name!r}", value) for name, value in numbers.items()}
    try:
        text = statement.format(**values)
    except KeyError as err:
        raise KeyError(f"the claim's statement uses {{{err.args[0]}}}, which is not among its numbers "
                       f"({', '.join(values) or 'none given'}).") from None
    truth = _truth(holds) and all(math.isfinite(v) for v in values.values())
    made = Claim(text, truth, values)
    _MADE.append(made)
    print(made.line)
    if not truth and config.strict_claims() and not config.fast():
        raise ClaimError(made.line)


def made() -> list[Claim]:
    """Every claim evaluated in this process so far, in order."""
    return list(_MADE)
