"""The quiz: the question bank, lenient grading of answers, and the widget form."""
from __future__ import annotations

import json

import pytest

from course_lib import progress, quiz


def fill(*accepted: str) -> dict:
    return {"id": "99-x", "lesson": "99", "type": "fill", "prompt": "?", "answer": list(accepted),
            "explanation": "because"}


CHOICE = {"id": "99-c", "lesson": "99", "type": "choice", "prompt": "?",
          "options": ["L1 penalty", "KL divergence", "Top-k"], "answer": 1, "explanation": "because"}


# ---------------------------------------------------------------- the bank


def test_every_question_file_is_valid():
    assert quiz.validate() == []


def test_bank_files_hold_lists_with_globally_unique_ids():
    bank = quiz.load_bank()
    ids = [q["id"] for q in bank]
    assert ids and len(ids) == len(set(ids))
    assert all(q["explanation"].strip() for q in bank)


def test_validate_reports_each_kind_of_problem(tmp_path):
    good = dict(CHOICE, id="05-a", lesson="05")
    questions = [
        good,
        dict(good),  # duplicate id
        dict(good, id="05-b", answer=3),  # answer out of range
        dict(good, id="05-c", explanation=" "),  # empty explanation
        dict(good, id="06-d", lesson="06"),  # lesson does not match the file
        {"id": "05-e", "lesson": "05", "type": "fill", "prompt": "?", "answer": [], "explanation": "x"},
        {"id": "05-f", "lesson": "05", "type": "essay", "prompt": "?", "answer": 0, "explanation": "x"},
        {"id": "05-g", "lesson": "05", "type": "choice"},  # missing keys
        dict(good, id="05_Bad"),  # malformed id
        dict(good, id="05-h", explanation="sparse codes are *worse* here"),  # markdown emphasis
    ]
    (tmp_path / "05_demo.json").write_text(json.dumps(questions))
    (tmp_path / "06_broken.json").write_text("[{")
    problems = "\n".join(quiz.validate(tmp_path))
    assert "05_demo.json[1]: id '05-a' is also used in 05_demo.json[0]" in problems
    assert "05_demo.json[2]: answer must be an option index from 0 to 2" in problems
    assert "05_demo.json[3]: explanation must be a non-empty string" in problems
    assert "05_demo.json[4]: lesson '06' does not match the file name" in problems
    assert "05_demo.json[5]: a fill question's answer must be a list of accepted strings" in problems
    assert "05_demo.json[6]: type must be 'choice' or 'fill', not 'essay'" in problems
    assert "05_demo.json[7]: missing prompt, answer, explanation" in problems
    assert "05_demo.json[8]: id '05_Bad' must look like '02-l1-effect'" in problems
    assert "05_demo.json[9]: explanation uses *emphasis*, which the quiz form shows literally" in problems
    assert "06_broken.json: not valid JSON" in problems


def test_questions_by_lesson():
    setup = quiz.questions("00")
    assert [q["id"] for q in setup] == ["00-device-order", "00-device-variable"]
    assert all(q["lesson"] == "00" for q in setup)
    assert len(quiz.questions()) >= len(setup)


def test_unknown_id_lists_nearby_ids():
    with pytest.raises(KeyError) as info:
        quiz.get("00-device-ordr")
    assert str(info.value).startswith("No quiz question '00-device-ordr'. "
                                      "Did you mean: 00-device-order, ")


# ---------------------------------------------------------------- grading


@pytest.mark.parametrize("response", ["zeros", "zero", "Zeros.", " ZEROES ", "zero!"])
def test_fill_accepts_reasonable_variants(response):
    assert quiz.grade(fill("zeros"), response) is True


@pytest.mark.parametrize("response", ["ones", "zer", "non zero"])
def test_fill_rejects_wrong_answers(response):
    assert quiz.grade(fill("zeros"), response) is False


@pytest.mark.parametrize("response", ["k-sparse autoencoder", "K sparse auto-encoders", "ksparse autoencoder",
                                      "top k"])
def test_fill_ignores_punctuation_and_spacing_and_takes_any_alternative(response):
    assert quiz.grade(fill("k-sparse autoencoders", "top-k"), response) is True


def test_fill_numbers_compare_by_value():
    q = fill("0.05")
    assert quiz.grade(q, "0.050") and quiz.grade(q, ".05") and quiz.grade(q, "5e-2")
    assert quiz.grade(q, "0.5") is False


def test_fill_empty_response_is_not_graded():
    assert quiz.grade(fill("zeros"), "  ") is None


@pytest.mark.parametrize("response", [1, "b", "B)", "b.", "kl divergence", "1"])
def test_choice_accepts_index_letter_or_text(response):
    assert quiz.grade(CHOICE, response) is True


@pytest.mark.parametrize("response, verdict", [(0, False), ("c", False), (3, None), ("z", None),
                                               (True, None), (None, None)])
def test_choice_wrong_or_unreadable(response, verdict):
    assert quiz.grade(CHOICE, response) is verdict


# ---------------------------------------------------------------- answer()


def test_answer_prints_verdict_and_explanation_and_records(capsys):
    q = quiz.get("00-device-order")
    assert quiz.answer("00-device-order", 0) is False
    assert capsys.readouterr().out.strip() == f"❌ Not quite. {q['explanation']}"
    assert quiz.answer("00-device-order", "b") is True
    assert capsys.readouterr().out.strip() == f"✅ Correct! {q['explanation']}"
    entry = progress.load()["lessons"]["00"]["quiz"]["00-device-order"]
    assert entry == {"passed": True, "attempts": 2, "first_passed": entry["first_passed"],
                     "last_attempt": entry["last_attempt"]}


def test_unreadable_answer_explains_how_to_answer_and_is_not_recorded(capsys):
    assert quiz.answer("00-device-order", 7) is False
    assert capsys.readouterr().out.strip() == (
        "Could not read 7 as an answer. Answer with quiz.answer('00-device-order', 'a'): "
        "a letter from a to c, or an option index from 0 to 2.")
    assert progress.load()["lessons"] == {}


def test_strict_mode_wrong_answer_raises(monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    assert quiz.answer("00-device-variable", "course_device") is True
    with pytest.raises(AssertionError, match="quiz 00-device-variable"):
        quiz.answer("00-device-variable", "CUDA_VISIBLE_DEVICES")


# ---------------------------------------------------------------- ask()


def test_choice_form_gives_feedback_on_click():
    form = quiz.ask("00-device-order")
    assert form.feedback.value == ""
    form.button.click()
    assert form.feedback.value == "Pick an option first."
    form.response.value = 0
    form.button.click()
    assert form.feedback.value.startswith("❌ <b>Not quite.</b>")
    form.response.value = 1
    form.button.click()
    assert form.feedback.value.startswith("✅ <b>Correct!</b> <code>get_device()</code>")
    assert progress.load()["lessons"]["00"]["quiz"]["00-device-order"]["attempts"] == 2


def test_fill_form_gives_feedback_on_click():
    form = quiz.ask("00-device-variable")
    form.response.value = "course device"
    form.button.click()
    assert "Correct!" in form.feedback.value
    assert form.children == (form.prompt, form.response, form.button, form.feedback)


def test_form_shows_only_once(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: shown.append(a))
    form = quiz.ask("00-device-order")
    form._ipython_display_()
    form._ipython_display_()
    assert len(shown) == 1


def test_ask_without_ipywidgets_prints_the_question(monkeypatch, capsys):
    monkeypatch.setattr(quiz, "widgets", None)
    assert quiz.ask("00-device-order") is None
    out = capsys.readouterr().out
    assert out.startswith("[00-device-order] When COURSE_DEVICE is not set")
    assert "  b) CUDA first, then Apple MPS, then CPU" in out
    assert "quiz.answer('00-device-order', 'a')" in out
