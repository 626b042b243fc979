"""Short quiz questions with immediate feedback.

Questions live in ``course_lib/questions/NN_<slug>.json`` (format: ``questions/README.md``;
loaded and validated by :mod:`course_lib.quiz_bank`).
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
import math
import re
from typing import Any

from course_lib import config, progress
from course_lib.quiz_bank import (KINDS, LETTERS, QUESTIONS_DIR, load_bank,  # noqa: F401 (re-exported)
                                   longest_is_right, validate)
from course_lib.quiz_bank import as_number as _as_number
from course_lib.quiz_bank import words as _words

try:
    import ipywidgets as widgets
except ImportError:  # ask() falls back to printing the question
    widgets = None

class UnknownQuestion(KeyError):
    """No question has the requested id."""

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0])


# ---------------------------------------------------------------- the questions


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
