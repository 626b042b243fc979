"""Short quiz questions with immediate feedback.

Questions live in ``course_lib/questions/NN_<slug>.json`` (format: ``questions/README.md``).
In a notebook::

    from course_lib import quiz
    quiz.ask("02-l1-effect")            # a small form: pick or type, then press Check
    quiz.answer("02-l1-effect", 1)      # the same in code: option index, letter or text

Every answer is recorded with :mod:`course_lib.progress`. With ``COURSE_STRICT_CHECKS=1`` a
wrong ``answer(...)`` raises ``AssertionError`` (solution notebooks must answer correctly).
"""
from __future__ import annotations

import difflib
import html
import json
import math
import re
import unicodedata
from pathlib import Path
from typing import Any

from course_lib import config, progress

try:
    import ipywidgets as widgets
except ImportError:  # ask() falls back to printing the question
    widgets = None

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


class UnknownQuestion(KeyError):
    """No question has the requested id."""

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0])


# ---------------------------------------------------------------- the question bank


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
                isinstance(a, str) and _words(a) for a in accepted):
            found.append(f"{where}: a fill question's answer must be a list of accepted strings")
        elif "tolerance" in q:
            tol = q["tolerance"]
            if (not isinstance(tol, (int, float)) or isinstance(tol, bool) or not math.isfinite(tol)
                    or tol < 0):
                found.append(f"{where}: tolerance must be a non-negative number")
            elif not any(_as_number(a) is not None for a in accepted):
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


def questions(lesson: str | None = None) -> list[dict]:
    """The questions of one lesson (e.g. ``"02"``), or of the whole course."""
    bank = load_bank()
    return bank if lesson is None else [q for q in bank if q["lesson"] == str(lesson)]


def get(question_id: str) -> dict:
    """The question with this id; an unknown id raises an error that lists close ids."""
    bank = load_bank()
    for q in bank:
        if q["id"] == question_id:
            return q
    ids = [q["id"] for q in bank]
    near = difflib.get_close_matches(str(question_id), ids, n=3, cutoff=0.5)
    same_lesson = [i for i in ids if i[:3] == str(question_id)[:3]]
    hint = near or same_lesson or ids[:5]
    raise UnknownQuestion(f"No quiz question {question_id!r}. "
                          + (f"Did you mean: {', '.join(hint)}?" if hint else "The bank is empty."))


# ---------------------------------------------------------------- grading


def _as_number(text: str) -> float | None:
    try:
        value = float(text.strip().replace(" ", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _words(text: str) -> list[str]:
    """Lower-case words of ``text``; punctuation and extra whitespace are dropped."""
    text = unicodedata.normalize("NFKC", text).lower()
    return re.findall(r"[^\W_]+", text)


def _forms(word: str) -> set[str]:
    """A word with simple plural endings removed: 'zeros' -> {'zeros', 'zero'}."""
    forms = {word}
    if len(word) > 3 and word.endswith("ies"):
        forms.add(word[:-3] + "y")
    if len(word) > 2 and word.endswith("es"):
        forms.add(word[:-2])
    if len(word) > 1 and word.endswith("s"):
        forms.add(word[:-1])
    return forms


def _same_text(a: str, b: str) -> bool:
    """Equal up to case, punctuation, whitespace and simple plurals."""
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return False
    if len(wa) == len(wb) and all(_forms(x) & _forms(y) for x, y in zip(wa, wb)):
        return True
    return bool(_forms("".join(wa)) & _forms("".join(wb)))


def _fill_correct(accepted: list[str], response: str, tolerance: float = 0.0) -> bool:
    for option in accepted:
        want, got = _as_number(option), _as_number(response)
        if want is not None and got is not None:
            if math.isclose(want, got, rel_tol=1e-6, abs_tol=max(1e-12, tolerance)):
                return True
        elif _same_text(option, response):
            return True
    return False


def _choice_index(q: dict, response: Any) -> int | None:
    """The option the response picks: an index, a letter ('b', 'B)') or the option's text."""
    n = len(q["options"])
    if isinstance(response, int) and not isinstance(response, bool):
        return response if 0 <= response < n else None
    if not isinstance(response, str):
        return None
    for i, option in enumerate(q["options"]):
        if _same_text(option, response):
            return i
    text = response.strip().lower().rstrip(").")
    if len(text) == 1 and text in LETTERS[:n]:
        return LETTERS.index(text)
    if text.isdigit() and int(text) < n:
        return int(text)
    return None


def grade(q: dict, response: Any) -> bool | None:
    """True/False for a usable response; None when it cannot be read as an answer."""
    if q["type"] == "choice":
        index = _choice_index(q, response)
        return None if index is None else index == q["answer"]
    if response is None or not str(response).strip():
        return None
    return _fill_correct(q["answer"], str(response), q.get("tolerance", 0.0))


def _how_to_answer(q: dict) -> str:
    if q["type"] == "choice":
        last = LETTERS[len(q["options"]) - 1]
        return (f"Answer with quiz.answer({q['id']!r}, 'a'): a letter from a to {last}, "
                f"or an option index from 0 to {len(q['options']) - 1}.")
    return f"Answer with quiz.answer({q['id']!r}, 'your answer')."


def _strict() -> bool:
    return config.strict_checks()


def answer(question_id: str, response: Any) -> bool:
    """Grade ``response``, print the verdict and the explanation, record it; return the verdict.

    ``None`` means "not answered yet": nothing is printed or recorded and False is returned.
    """
    q = get(question_id)
    if response is None:  # the hand-in line `quiz.answer(id, None)` of an exercise: not answered yet
        return False
    verdict = grade(q, response)
    if verdict is None:
        print(f"Could not read {response!r} as an answer. {_how_to_answer(q)}")
        correct = False
    else:
        print(f"{'✅ Correct!' if verdict else '❌ Not quite.'} {q['explanation']}")
        progress.record(q["lesson"], q["id"], verdict, kind="quiz")
        correct = verdict
    if _strict() and not correct:
        raise AssertionError(f"quiz {question_id}: {response!r} is not a correct answer")
    return correct


# ---------------------------------------------------------------- the form


def as_text(q: dict) -> str:
    """The question as plain text, with lettered options and how to answer."""
    lines = [f"[{q['id']}] {q['prompt']}"]
    if q["type"] == "choice":
        lines += [f"  {LETTERS[i]}) {option}" for i, option in enumerate(q["options"])]
    lines.append(_how_to_answer(q))
    return "\n".join(lines)


def _html(text: str) -> str:
    """Escape ``text`` for HTML, showing `backticked` spans as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def _feedback_html(q: dict, verdict: bool | None) -> str:
    if verdict is None:
        return "Pick an option first." if q["type"] == "choice" else "Type an answer first."
    head = "✅ <b>Correct!</b>" if verdict else "❌ <b>Not quite.</b>"
    return f"{head} {_html(q['explanation'])}"


if widgets is not None:

    class QuizForm(widgets.VBox):
        """The question, an answer widget, a Check button and the feedback line.

        ``ask`` displays the form itself (so several forms in one cell all show); the form
        then shows nothing when it is also the cell's result, instead of a second copy.
        """

        def __init__(self, q: dict):
            self.question = q
            prompt = f"<b>{_html(q['prompt'])}</b>"
            if q["type"] == "choice":
                # Options are listed as wrapping HTML; the radio buttons carry only their letters,
                # because radio labels never wrap and long options would be cut off.
                letters = "ABCDEFGHIJ"[: len(q["options"])]
                items = "".join(f"<li>{_html(o)}</li>" for o in q["options"])
                prompt += f'<ol type="A" style="margin:0.3em 0">{items}</ol>'
                self.response = widgets.RadioButtons(
                    options=[(letter, i) for i, letter in enumerate(letters)], value=None)
            else:
                self.response = widgets.Text(placeholder="your answer")
            self.prompt = widgets.HTMLMath(prompt)
            self.button = widgets.Button(description="Check", button_style="primary")
            self.feedback = widgets.HTMLMath("")
            self.button.on_click(self._check)
            super().__init__([self.prompt, self.response, self.button, self.feedback])
            self._shown = False

        def _check(self, _button: Any = None) -> None:
            verdict = grade(self.question, self.response.value)
            if verdict is not None:
                progress.record(self.question["lesson"], self.question["id"], verdict, kind="quiz")
            self.feedback.value = _feedback_html(self.question, verdict)

        def _ipython_display_(self) -> None:
            if self._shown:
                return
            self._shown = True
            if not hasattr(widgets.Widget, "_repr_mimebundle_"):  # ipywidgets 7, as in Colab
                super()._ipython_display_()
                return
            from IPython.display import display

            display(self._repr_mimebundle_(), raw=True)


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def ask(question_id: str):
    """Show the question as a form with immediate feedback; return the form.

    The form's ``response``, ``button`` and ``feedback`` widgets are attributes. Without
    ipywidgets, or outside a notebook kernel, the question is printed with how to answer.
    """
    q = get(question_id)
    if widgets is None:
        print(as_text(q))
        return None
    form = QuizForm(q)
    if _in_kernel():
        form._ipython_display_()
    else:
        print(as_text(q))
    return form
