"""The quiz's question bank: the JSON files, their format and the rules the bank must keep.

Questions live in ``course_lib/questions/NN_<slug>.json`` (format: ``questions/README.md``).
:func:`validate` checks each question and the bank as a whole (no surface cue such as the longest
option or a favourite position gives an answer away; enough applied questions per lesson);
:mod:`course_lib.quiz` asks and grades them.
"""
from __future__ import annotations

import json
import math
import re
import unicodedata
from pathlib import Path
from typing import Any

QUESTIONS_DIR = Path(__file__).parent / "questions"
REQUIRED_KEYS = ("id", "lesson", "type", "prompt", "answer", "explanation")
# What a question asks of the learner (questions/README.md): recognise or explain an idea, work out
# what a model or experiment will do, or compute a number. Every lesson needs a third of the latter two.
KINDS = ("concept", "prediction", "calculation")
APPLIED_KINDS = ("prediction", "calculation")
# Surface cues in the choice questions (checked over the whole bank and per lesson, see validate):
# the right option may be the longest one (ties count) in at most LONGEST_SHARE of them, and no
# option position may hold more than POSITION_SHARE of the right answers.
LONGEST_SHARE = 0.40
POSITION_SHARE = 0.45
MIN_CHOICE_FOR_BALANCE = 5  # fewer choice questions than this are too few to balance
ID_PATTERN = re.compile(r"^\d\d-[a-z0-9]+(?:-[a-z0-9]+)*$")
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def as_number(text: str) -> float | None:
    """The finite number ``text`` spells (spaces ignored), or None."""
    try:
        value = float(text.strip().replace(" ", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def words(text: str) -> list[str]:
    """Lower-case words of ``text``; punctuation and extra whitespace are dropped."""
    text = unicodedata.normalize("NFKC", text).lower()
    return re.findall(r"[^\W_]+", text)


def _bank_files(folder: Path = QUESTIONS_DIR) -> list[Path]:
    return sorted(folder.glob("[0-9][0-9]_*.json"))


def load_bank(folder: Path = QUESTIONS_DIR) -> list[dict]:
    """All questions of all files in ``folder``, in file order."""
    bank = []
    for path in _bank_files(folder):
        try:
            items = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as err:
            raise ValueError(f"{path.name} is not valid JSON: {err}") from err
        if not isinstance(items, list):
            raise ValueError(f"{path.name} must hold a JSON list of questions")
        bank.extend(items)
    return bank


# Markdown emphasis (*word*): the form renders HTML, so the asterisks would show.
EMPHASIS = re.compile(r"\*[^\s*][^*]*\*")


def _problems(q: Any, where: str) -> list[str]:
    """What is wrong with one question (empty when it is valid)."""
    if not isinstance(q, dict):
        return [f"{where}: a question must be a JSON object"]
    missing = [key for key in REQUIRED_KEYS if key not in q]
    if missing:
        return [f"{where}: missing {', '.join(missing)}"]
    found = []
    kinds = ", ".join(repr(k) for k in KINDS)
    if "kind" not in q:
        found.append(f"{where}: missing kind (one of {kinds})")
    elif q["kind"] not in KINDS:
        found.append(f"{where}: kind {q['kind']!r} must be one of {kinds}")
    if not isinstance(q["id"], str) or not ID_PATTERN.match(q["id"]):
        found.append(f"{where}: id {q['id']!r} must look like '02-l1-effect'")
    elif not q["id"].startswith(f"{q['lesson']}-"):
        found.append(f"{where}: id {q['id']!r} must start with its lesson {q['lesson']!r}")
    for key in ("prompt", "explanation"):
        if not isinstance(q[key], str) or not q[key].strip():
            found.append(f"{where}: {key} must be a non-empty string")
        elif EMPHASIS.search(q[key]):
            found.append(f"{where}: {key} uses *emphasis*, which the quiz form shows literally")
    if q["type"] == "choice":
        options = q.get("options")
        if not isinstance(options, list) or len(options) < 2 or not all(
                isinstance(o, str) and o.strip() for o in options):
            found.append(f"{where}: a choice question needs 'options', a list of 2+ strings")
        elif (not isinstance(q["answer"], int) or isinstance(q["answer"], bool)
              or not 0 <= q["answer"] < len(options)):
            found.append(f"{where}: answer must be an option index from 0 to {len(options) - 1}")
    elif q["type"] == "fill":
        accepted = q["answer"]
        if not isinstance(accepted, list) or not accepted or not all(
                isinstance(a, str) and words(a) for a in accepted):
            found.append(f"{where}: a fill question's answer must be a list of accepted strings")
        elif "tolerance" in q:
            tol = q["tolerance"]
            if (not isinstance(tol, (int, float)) or isinstance(tol, bool) or not math.isfinite(tol)
                    or tol < 0):
                found.append(f"{where}: tolerance must be a non-negative number")
            elif not any(as_number(a) is not None for a in accepted):
                found.append(f"{where}: tolerance needs at least one numeric accepted answer")
    else:
        found.append(f"{where}: type must be 'choice' or 'fill', not {q['type']!r}")
    if "tolerance" in q and q["type"] != "fill":
        found.append(f"{where}: only fill questions may have a tolerance")
    return found


def _is_choice(q: Any) -> bool:
    """A well-formed choice question (the balance rules count only these)."""
    return (isinstance(q, dict) and q.get("type") == "choice" and isinstance(q.get("options"), list)
            and len(q["options"]) >= 2 and all(isinstance(o, str) for o in q["options"])
            and isinstance(q.get("answer"), int) and not isinstance(q["answer"], bool)
            and 0 <= q["answer"] < len(q["options"]))


def longest_is_right(q: dict) -> bool:
    """Whether the right option of a choice question is (one of) its longest: a surface cue."""
    lengths = [len(o.strip()) for o in q["options"]]
    return lengths[q["answer"]] == max(lengths)


def _most_allowed(share: float, n: int, rounded: bool) -> int:
    """How many of n items may carry a cue: share * n, rounded to the nearest integer per lesson."""
    return math.floor(share * n + 0.5) if rounded else math.floor(share * n + 1e-9)


def _balance_problems(label: str, items: list, rounded: bool) -> list[str]:
    """Surface cues over the choice questions of ``items``: the longest option, one favourite position."""
    choice = [q for q in items if _is_choice(q)]
    n = len(choice)
    if n < MIN_CHOICE_FOR_BALANCE:
        return []
    found = []
    how = " (rounded)" if rounded else ""
    longest = sum(longest_is_right(q) for q in choice)
    allowed = _most_allowed(LONGEST_SHARE, n, rounded)
    if longest > allowed:
        found.append(f"{label}: the right option is the longest (ties count) in {longest} of {n} choice "
                     f"questions ({longest / n:.0%}); at most {LONGEST_SHARE:.0%}{how}, {allowed} of {n}, may be, "
                     "or picking the longest option passes the quiz")
    allowed = _most_allowed(POSITION_SHARE, n, rounded)
    for position in sorted({q["answer"] for q in choice}):
        count = sum(q["answer"] == position for q in choice)
        if count > allowed:
            found.append(f"{label}: option {LETTERS[position].upper()} is the right answer in {count} of {n} "
                         f"choice questions ({count / n:.0%}); at most {POSITION_SHARE:.0%}{how}, {allowed} "
                         f"of {n}, may share a position")
    return found


def _kind_problems(label: str, items: list) -> list[str]:
    """A lesson needs at least a third of prediction or calculation questions."""
    questions = [q for q in items if isinstance(q, dict)]
    applied = sum(q.get("kind") in APPLIED_KINDS for q in questions)
    if not questions or 3 * applied >= len(questions):
        return []
    need = math.ceil(len(questions) / 3)
    return [f"{label}: {applied} of {len(questions)} questions are of kind 'prediction' or 'calculation'; "
            f"at least a third ({need}) must be"]


def validate(folder: Path = QUESTIONS_DIR) -> list[str]:
    """Every problem found in the question files of ``folder`` (empty when all are valid).

    Besides each question's own fields, the bank as a whole is checked: every lesson file needs at
    least a third of prediction or calculation questions, and the choice questions must not give
    their answer away, over the whole bank and in each lesson with at least
    ``MIN_CHOICE_FOR_BALANCE`` of them: the right option may be the longest in at most
    ``LONGEST_SHARE`` of them and no position may hold more than ``POSITION_SHARE`` of the right
    answers (per lesson, the allowed count is rounded to the nearest integer).
    """
    found, seen, everything = [], {}, []
    for path in _bank_files(folder):
        try:
            items = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as err:
            found.append(f"{path.name}: not valid JSON: {err}")
            continue
        if not isinstance(items, list):
            found.append(f"{path.name}: must hold a JSON list of questions")
            continue
        for i, q in enumerate(items):
            where = f"{path.name}[{i}]"
            found += _problems(q, where)
            if isinstance(q, dict) and isinstance(q.get("id"), str):
                if q["id"] in seen:
                    found.append(f"{where}: id {q['id']!r} is also used in {seen[q['id']]}")
                seen.setdefault(q["id"], where)
                if q.get("lesson") != path.name[:2]:
                    found.append(f"{where}: lesson {q.get('lesson')!r} does not match the file name")
        found += _kind_problems(path.name, items)
        found += _balance_problems(path.name, items, rounded=True)
        everything += items
    found += _balance_problems("question bank", everything, rounded=False)
    return found
