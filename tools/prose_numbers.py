"""List the numbers typed in a lesson's prose that nothing in the lesson backs.

Usage (from the repository root)::

    python tools/prose_numbers.py notebooks/02_l1_sparsity.ipynb [more notebooks]

A number written in a markdown cell is **backed** when

- it is maths or code: inside ``$...$``, ``$$...$$``, backticks or a fenced block (a formula,
  a derivation or a name, not a measurement), or inside a link target or an HTML tag;
- it is part of a name or a reference: ``L0``, ``L1``, ``top-K``, ``Fashion-MNIST``, a file name,
  "lesson 04", a numbered heading or list item, the year of a citation ("Gao et al. (2024)");
- the lesson's code sets it (a parameter such as ``lam = 0.3``, or a size such as ``1024``), exactly;
- or an output held in the notebook prints it, at the precision the prose gives: the stored
  outputs of ``# NBVAL_CHECK_OUTPUT`` cells, or every output of an executed copy of the lesson.

A measurement that only a full run prints must not be typed in the prose at all: the prose stays
qualitative and a ``claim(...)`` prints the statement with this run's numbers
(:mod:`course_lib.claims`). Exits with status 1 and lists each unbacked number with its context.
"""
from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

NUMBER = re.compile(r"(?<![\w.\-/])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(\s?%)?(?![\w])")
CODE_NUMBER = re.compile(r"(?<![\w.])(\d+(?:_\d{3})*(?:\.\d+)?(?:[eE]-?\d+)?)(?![\w.])")
OUTPUT_NUMBER = re.compile(r"(?<![\w.])-?(\d+(?:,\d{3})*(?:\.\d+)?(?:[eE][-+]?\d+)?)(%?)")
_HIDDEN = [
    re.compile(r"\$\$.*?\$\$", re.S),            # display maths
    re.compile(r"\$[^$\n]+\$"),                  # inline maths
    re.compile(r"```.*?```", re.S),              # fenced code
    re.compile(r"`[^`\n]+`"),                    # inline code
    re.compile(r"\]\([^)]*\)"),                  # link targets
    re.compile(r"<[^>\n]+>"),                    # HTML tags
]
_REFERENCE = re.compile(r"(?i)\b(?:lessons?|section|sections|step|part|exercise)\s+$")
# A citation's year: "Gao et al. (2024)", "Olshausen & Field, 1996", "Lennie, 2003", "Since 2024".
_CITATION = re.compile(r"(?:[A-Z][\w-]+|et al\.|\*)[,]?\s\(?$")
_YEAR = re.compile(r"(?:19[5-9]\d|20[0-4]\d)")
_LIST_MARKER = re.compile(r"^\s*(?:#+\s*)?$")


@dataclass(frozen=True)
class Unbacked:
    """One number of the prose that the lesson neither sets nor prints."""

    cell: int
    text: str
    context: str

    def __str__(self) -> str:
        return f"markdown cell {self.cell}: {self.text!r} in “{self.context}”"


def _visible_prose(source: str) -> str:
    for pattern in _HIDDEN:
        source = pattern.sub(lambda m: " " * len(m.group()), source)
    return source


def _value(text: str) -> float:
    return float(text.replace(",", "").replace("_", ""))


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def _code_values(nb) -> set[float]:
    values = set()
    for cell in nb.cells:
        if cell.cell_type == "code":
            values |= {_value(m.group(1)) for m in CODE_NUMBER.finditer(cell.source)}
    return values


def _output_values(nb, every_output: bool) -> list[tuple[float, bool]]:
    """(value, printed as a percentage) for every number of the outputs the notebook holds."""
    found = []
    for cell in nb.cells:
        if cell.cell_type != "code" or not (every_output or "NBVAL_CHECK_OUTPUT" in cell.source):
            continue
        for out in cell.get("outputs", []):
            text = out.get("text", "") if out.get("output_type") == "stream" else \
                out.get("data", {}).get("text/plain", "")
            text = "".join(text) if isinstance(text, list) else text
            found += [(_value(m.group(1)), bool(m.group(2))) for m in OUTPUT_NUMBER.finditer(text)]
    return found


def _backed(text: str, percent: bool, code: set[float], outputs: list[tuple[float, bool]]) -> bool:
    """Set exactly by the code, or printed by an output at the prose's precision."""
    value, places = _value(text), _decimals(text)
    if value in code or (percent and any(abs(value / 100 - c) < 1e-12 for c in code)):
        return True
    for printed, printed_percent in outputs:
        shown = printed * 100 if percent and not printed_percent else printed
        if abs(round(shown, places) - value) < 1e-9:
            return True
    return False


def unbacked_numbers(nb, *, every_output: bool | None = None) -> list[Unbacked]:
    """Every number of the notebook's prose that its code does not set and its outputs do not print.

    every_output: count all outputs (an executed copy) or only those of ``# NBVAL_CHECK_OUTPUT``
    cells (a stored lesson); by default, all outputs when any cell outside those holds one.
    """
    if every_output is None:
        every_output = any(c.cell_type == "code" and c.get("outputs") and "NBVAL_CHECK_OUTPUT" not in c.source
                           for c in nb.cells)
    code, outputs = _code_values(nb), _output_values(nb, every_output)
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        prose = _visible_prose(cell.source)
        for m in NUMBER.finditer(prose):
            line_start = prose.rfind("\n", 0, m.start()) + 1
            before = prose[line_start:m.start()]
            if _REFERENCE.search(before) or (_LIST_MARKER.match(before) and prose[m.end():m.end() + 1] in ".)"):
                continue
            if _YEAR.fullmatch(m.group(0)) and _CITATION.search(before):
                continue
            if _backed(m.group(1), bool(m.group(2)), code, outputs):
                continue
            context = " ".join(prose[max(0, m.start() - 40):m.end() + 30].split())
            found.append(Unbacked(i, m.group(0).strip(), context))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    status = 0
    for path in args.notebooks:
        found = unbacked_numbers(nbformat.read(path, as_version=4))
        for item in found:
            print(f"{path}: {item}")
        status |= bool(found)
    if not status:
        print("Every number in the prose is set or printed by the lesson itself.")
    return status


if __name__ == "__main__":
    sys.exit(main())
