"""The quiz: the question bank, lenient grading of answers, and the widget form."""
from __future__ import annotations

import json
import math
import re

import pytest
import torch

from course_lib import (absorption, capstone, evaluation, interpret, matching, metrics, progress, quiz, saes, sparsity,
                        superposition, train)


def fill(*accepted: str) -> dict:
    return {"id": "99-x", "lesson": "99", "type": "fill", "kind": "concept", "prompt": "?",
            "answer": list(accepted), "explanation": "because"}


CHOICE = {"id": "99-c", "lesson": "99", "type": "choice", "kind": "concept", "prompt": "?",
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
        {"id": "05-e", "lesson": "05", "type": "fill", "kind": "calculation", "prompt": "?", "answer": [],
         "explanation": "x"},
        {"id": "05-f", "lesson": "05", "type": "essay", "kind": "concept", "prompt": "?", "answer": 0,
         "explanation": "x"},
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


# ---------------------------------------------------------------- bank-level rules


def choice_q(lesson: str, n: int, answer: int, *, right_longest: bool = False, kind: str = "prediction") -> dict:
    """A well-formed choice question whose right option is (or is not) the longest of four."""
    options = ["a distractor", "another one", "a third one", "the last one"]
    options[answer] = "the right option, longest" if right_longest else "right"
    return {"id": f"{lesson}-q{n}", "lesson": lesson, "type": "choice", "kind": kind, "prompt": "?",
            "options": options, "answer": answer, "explanation": "because"}


def write_bank(folder, name: str, questions: list[dict]) -> None:
    (folder / name).write_text(json.dumps(questions))


def test_real_bank_has_no_surface_cues_and_enough_applied_questions():
    # The same rules validate() applies, restated here so that a weakened validate() fails a test.
    bank = quiz.load_bank()
    choice = [q for q in bank if q["type"] == "choice"]
    assert sum(quiz.longest_is_right(q) for q in choice) <= 0.40 * len(choice)
    for position in range(4):
        assert sum(q["answer"] == position for q in choice) <= 0.45 * len(choice)
    for lesson in sorted({q["lesson"] for q in bank}):
        items = quiz.questions(lesson)
        assert all(q["kind"] in quiz.KINDS for q in items)
        assert 3 * sum(q["kind"] in ("prediction", "calculation") for q in items) >= len(items), lesson
        if lesson != "00":  # the setup lesson's two questions are pinned by the tests below
            assert 5 <= len(items) <= 8, lesson


def test_validate_rejects_missing_or_unknown_kind(tmp_path):
    questions = [choice_q("05", i, i % 4) for i in range(5)]
    del questions[0]["kind"]
    questions[1]["kind"] = "recall"
    write_bank(tmp_path, "05_demo.json", questions)
    problems = quiz.validate(tmp_path)
    assert "05_demo.json[0]: missing kind (one of 'concept', 'prediction', 'calculation')" in problems
    assert "05_demo.json[1]: kind 'recall' must be one of 'concept', 'prediction', 'calculation'" in problems


def test_validate_rejects_a_lesson_of_recall_questions(tmp_path):
    questions = [choice_q("05", 0, 0)] + [choice_q("05", i, i % 4, kind="concept") for i in range(1, 4)]
    write_bank(tmp_path, "05_demo.json", questions)
    assert quiz.validate(tmp_path) == [
        "05_demo.json: 1 of 4 questions are of kind 'prediction' or 'calculation'; at least a third (2) must be"]
    questions[1]["kind"] = "calculation"  # 2 of 4: enough
    write_bank(tmp_path, "05_demo.json", questions)
    assert quiz.validate(tmp_path) == []


def test_validate_rejects_the_longest_option_as_a_cue(tmp_path):
    # 3 of 5 right options are the longest: too many for the lesson (2 allowed) and for the bank.
    questions = [choice_q("05", i, i % 4, right_longest=i < 3) for i in range(5)]
    write_bank(tmp_path, "05_demo.json", questions)
    assert quiz.validate(tmp_path) == [
        "05_demo.json: the right option is the longest (ties count) in 3 of 5 choice questions (60%); "
        "at most 40% (rounded), 2 of 5, may be, or picking the longest option passes the quiz",
        "question bank: the right option is the longest (ties count) in 3 of 5 choice questions (60%); "
        "at most 40%, 2 of 5, may be, or picking the longest option passes the quiz"]
    questions[2]["options"][0] = "a distractor that is even longer than the right option"
    write_bank(tmp_path, "05_demo.json", questions)
    assert quiz.validate(tmp_path) == []


def test_a_tie_for_the_longest_option_counts_as_longest():
    q = dict(CHOICE, options=["abc", "abc", "ab"], answer=1)
    assert quiz.longest_is_right(q)
    assert not quiz.longest_is_right(dict(q, answer=2))


def test_lessons_round_the_allowed_count_and_the_whole_bank_does_not(tmp_path):
    # 3 of 7 longest: 40% of 7 is 2.8, which a lesson rounds to 3 and the whole bank does not.
    questions = [choice_q("05", i, i % 4, right_longest=i < 3) for i in range(7)]
    write_bank(tmp_path, "05_demo.json", questions)
    assert quiz.validate(tmp_path) == [
        "question bank: the right option is the longest (ties count) in 3 of 7 choice questions (43%); "
        "at most 40%, 2 of 7, may be, or picking the longest option passes the quiz"]


def test_validate_rejects_a_favourite_answer_position(tmp_path):
    questions = [choice_q("05", i, answer) for i, answer in enumerate([1, 1, 1, 0, 2])]
    write_bank(tmp_path, "05_demo.json", questions)
    assert quiz.validate(tmp_path) == [
        "05_demo.json: option B is the right answer in 3 of 5 choice questions (60%); "
        "at most 45% (rounded), 2 of 5, may share a position",
        "question bank: option B is the right answer in 3 of 5 choice questions (60%); "
        "at most 45%, 2 of 5, may share a position"]


def test_position_rule_counts_small_lessons_only_in_the_whole_bank(tmp_path):
    # Lesson 05 has 4 choice questions, all answered A: too few to judge alone, but they count in
    # the bank, where A then holds 4 of 10 (under 45%), and then 5 of 11 (over).
    write_bank(tmp_path, "05_small.json", [choice_q("05", i, 0) for i in range(4)])
    write_bank(tmp_path, "06_more.json", [choice_q("06", i, 1 + i % 3) for i in range(6)])
    assert quiz.validate(tmp_path) == []
    write_bank(tmp_path, "07_one.json", [choice_q("07", 0, 0)])
    assert quiz.validate(tmp_path) == [
        "question bank: option A is the right answer in 5 of 11 choice questions (45%); "
        "at most 45%, 4 of 11, may share a position"]


def test_tolerance_is_validated(tmp_path):
    base = dict(fill("0.5"), kind="calculation")
    write_bank(tmp_path, "05_demo.json", [
        dict(base, id="05-a", lesson="05", tolerance=-1),
        dict(base, id="05-b", lesson="05", answer=["half"], tolerance=0.1),
        dict(CHOICE, id="05-c", lesson="05", tolerance=0.1)])
    problems = quiz.validate(tmp_path)
    assert "05_demo.json[0]: tolerance must be a non-negative number" in problems
    assert "05_demo.json[1]: tolerance needs at least one numeric accepted answer" in problems
    assert "05_demo.json[2]: only fill questions may have a tolerance" in problems


def test_fill_tolerance_accepts_numbers_close_enough():
    q = dict(fill("0.495"), tolerance=0.001)
    assert quiz.grade(q, "0.4946") and quiz.grade(q, "0.495") and quiz.grade(q, ".4955")
    assert quiz.grade(q, "0.49") is False and quiz.grade(q, "0.5") is False


# ---------------------------------------------------------------- calculation items, computed
#
# Every question of kind "calculation" has a function here that computes its answer with the
# course's own code from the inputs stated in its prompt, and compares it with the bank.

NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:e[-+]?\d+)?", re.IGNORECASE)


def _value_of(text: str) -> float | None:
    """A number written as '0.25', '1/4' or '25%'; None for words."""
    text = text.strip()
    if re.fullmatch(r"\d+\s*/\s*\d+", text):
        a, b = text.split("/")
        return int(a) / int(b)
    if text.endswith("%") and NUMBER.fullmatch(text[:-1].strip()):
        return float(text[:-1]) / 100
    return float(text) if NUMBER.fullmatch(text) else None


def assert_fill_is(q: dict, value: float) -> None:
    """The bank's accepted answers of a fill question are the computed value (within its tolerance)."""
    assert q["type"] == "fill"
    tol = max(q.get("tolerance", 0.0), 1e-6 * abs(value))  # the rel_tol of quiz grading
    numbers = [v for v in map(_value_of, q["answer"]) if v is not None]
    assert numbers, f"{q['id']}: no numeric accepted answer"
    for number in numbers:
        assert abs(number - value) <= tol, f"{q['id']}: accepted {number}, computed {value}"
    assert quiz.grade(q, repr(value)) is True
    assert quiz.grade(q, repr(value + 10 * tol + 0.01 * abs(value) + 1e-3)) is False


def assert_choice_is(q: dict, values: list[float], rel: float = 0.02) -> None:
    """The right option states the computed numbers; no other option does."""
    assert q["type"] == "choice"

    def states(option: str) -> bool:
        found = [float(x) for x in NUMBER.findall(option)]
        return len(found) == len(values) and all(
            math.isclose(f, v, rel_tol=rel, abs_tol=1e-9) for f, v in zip(found, values))

    assert [i for i, o in enumerate(q["options"]) if states(o)] == [q["answer"]], q["id"]


def in_prompt(q: dict, *given: str) -> None:
    """The inputs the computation uses are the ones the prompt states."""
    for text in given:
        assert text in q["prompt"], f"{q['id']}: the prompt no longer states {text!r}"


BATCH01 = torch.tensor([[0, 1.2, 0, 0.3], [0, 0, 0, 0.7], [2.0, 0.01, 0, 0.5]])


def calc_01_l0_count(q):
    in_prompt(q, "`[0, 1.2, 0, 0.3]`", "`[0, 0, 0, 0.7]`", "`[2.0, 0.01, 0, 0.5]`")
    assert_fill_is(q, metrics.l0(BATCH01))


def calc_01_dead_unit(q):
    in_prompt(q, "`[0, 1.2, 0, 0.3]`", "`[0, 0, 0, 0.7]`", "`[2.0, 0.01, 0, 0.5]`", "four units")
    assert_fill_is(q, metrics.dead_fraction(BATCH01))


def calc_01_fvu_mean_image(q):
    X = torch.rand(200, 784, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert_fill_is(q, metrics.fvu(X, X.mean(0).expand_as(X)))


def calc_01_loss_vs_mse(q):
    in_prompt(q, "0.01", "784 pixels")
    x = torch.rand(16, 784, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    x_hat = x + 0.1  # every pixel off by 0.1: an MSE of 0.01
    assert math.isclose(metrics.mse(x, x_hat), 0.01)
    assert_fill_is(q, train.reconstruction_loss(x, x_hat).item())


def calc_02_l1_value(q):
    in_prompt(q, "`lam = 0.5`", "`z = [[0.0, 0.8, 0.0, 1.2], [0.5, 0.0, 0.0, 0.0]]`")
    z = torch.tensor([[0.0, 0.8, 0.0, 1.2], [0.5, 0.0, 0.0, 0.0]], dtype=torch.float64)
    assert_fill_is(q, sparsity.l1_penalty(z, 0.5).item())


def calc_03_swapped_kl(q):
    in_prompt(q, "rho = 0.05", "KL(rho_hat || rho)")
    # KL(rho_hat || rho) is the library's Bernoulli KL with its arguments swapped; rho_hat -> 0.
    dying = sparsity.kl_divergence(1e-12, torch.tensor(0.05, dtype=torch.float64)).item()
    always_on = sparsity.kl_divergence(1 - 1e-12, torch.tensor(0.05, dtype=torch.float64)).item()
    assert_choice_is(q, [dying])
    assert any(math.isclose(float(x), always_on, rel_tol=0.01) for x in NUMBER.findall(" ".join(q["options"])))


def calc_03_sigmoid_of_relu(q):
    in_prompt(q, "rho = 0.05", "sigmoid(relu(h))", "3 decimal places")
    h = torch.linspace(-50, 50, 1001, dtype=torch.float64)
    smallest = torch.sigmoid(torch.relu(h)).min()
    assert smallest.item() == 0.5
    floor = sparsity.kl_divergence(0.05, smallest).item()
    assert_fill_is(q, floor)
    assert [float(a) for a in q["answer"]] == [round(floor, 3)]


def calc_03_rho_hat_over(q):
    in_prompt(q, "`a = [[0.9, 0.1], [0.6, 0.0], [0.3, 0.2]]`")
    a = torch.tensor([[0.9, 0.1], [0.6, 0.0], [0.3, 0.2]], dtype=torch.float64)
    assert_choice_is(q, sparsity.mean_activation(a).tolist(), rel=1e-9)
    # The distractors are the lesson's mistakes, computed: mean over units, sum, one mean for all.
    for mistake in (a.mean(1), a.sum(0), a.mean().expand(2)):
        assert any([float(x) for x in NUMBER.findall(o)] == pytest.approx(mistake.tolist()) for o in q["options"])


def calc_03_clamp(q):
    value = sparsity.kl_divergence(0.05, torch.tensor(1.0)).item()
    assert math.isinf(value) and value > 0
    assert quiz.grade(q, str(value)) is True
    assert quiz.grade(q, "nan") is False


def calc_04_selectivity_two_classes(q):
    in_prompt(q, "$C = 10$", "two classes", "2 decimal places")
    labels = torch.arange(10).repeat(3)
    z = ((labels == 2) | (labels == 5)).double()[:, None]
    assert_fill_is(q, interpret.class_selectivity(z, labels, 10).item())


def calc_04_toy_rule(q):
    in_prompt(q, "latent 1 = (0.9, 0, 0.85)", "latent 2 = (0, 0.8, 0.6)", "latent 3 = (0, 0.7, 0)",
              "latent 4 = (0.2, 0, 0)", "1%")
    table = torch.tensor([[0.9, 0, 0.85], [0, 0.8, 0.6], [0, 0.7, 0], [0.2, 0, 0]])  # latents x patterns
    assert interpret.one_latent_per_pattern(table) is False
    per_pattern = (table.abs() > 0.01 * table.abs().max()).sum(0).tolist()
    assert per_pattern == [2, 2, 2]
    right = q["options"][q["answer"]]
    assert right.startswith("It fails") and "every pattern has two" in right


def calc_05_topk_count(q):
    in_prompt(q, "K = 3", "`[1.1, -0.2, 0.4, 2.3, -1.5]`", "`[-0.7, 0.3, -0.1, -2.0, -0.4]`")
    h = torch.tensor([[1.1, -0.2, 0.4, 2.3, -1.5], [-0.7, 0.3, -0.1, -2.0, -0.4]])
    assert_fill_is(q, metrics.l0(torch.relu(sparsity.topk_activation(h, 3))))


def calc_05_share_gradient(q):
    in_prompt(q, "512 latents", "K = 32")
    h = (torch.rand(1, 512, generator=torch.Generator().manual_seed(0)) + 0.1).requires_grad_()
    torch.relu(sparsity.topk_activation(h, 32)).sum().backward()
    assert_fill_is(q, (h.grad != 0).float().mean().item())


def calc_06_selectivity_uniform(q):
    in_prompt(q, "10 classes")
    y = torch.arange(10).repeat(5)
    A = torch.full((50, 1), 0.7, dtype=torch.float64)
    assert_fill_is(q, capstone.selectivity(capstone.class_profile(A, y, 10)).item())


def calc_06_selectivity_means(q):
    in_prompt(q, "300 over the 600 sneakers", "300 over its 1,200 sandals", "2 decimal places")
    sneaker, sandal = 7, 5
    others = torch.tensor([c for c in range(10) if c not in (sneaker, sandal)]).repeat(25)  # 200 other images
    y = torch.cat([torch.full((600,), sneaker), torch.full((1200,), sandal), others])
    A = torch.cat([torch.full((600, 1), 300 / 600), torch.full((1200, 1), 300 / 1200), torch.zeros(200, 1)]).double()
    assert A[y == sneaker].sum() == 300 and A[y == sandal].sum() == 300
    assert_fill_is(q, capstone.selectivity(capstone.class_profile(A, y, 10)).item())


def calc_06_readout_share(q):
    in_prompt(q, "10-dimensional subspace", "256-dimensional")
    gen = torch.Generator().manual_seed(0)
    W = torch.randn(10, 256, generator=gen, dtype=torch.float64)  # fc2's weight: 10 logits from 256 units
    expected = capstone.readout_basis(W).shape[1] / W.shape[1]
    assert_fill_is(q, expected)
    E = torch.randn(20_000, 256, generator=gen, dtype=torch.float64)  # random errors
    assert abs(capstone.readout_share(E, W) - expected) < 0.002


def calc_07_mmcs_by_hand(q):
    in_prompt(q, "`(1, 0)` and `(0, 1)`", "`(2, 0)`, `(1, 1)` and `(0, -3)`", "2 decimal places")
    learned = torch.tensor([[2.0, 1.0, 0.0], [0.0, 1.0, -3.0]])
    assert_fill_is(q, round(matching.mean_max_cosine_similarity(learned, torch.eye(2)), 2))


def calc_07_absorption_rate(q):
    in_prompt(q, "3,000 footwear images", "silent on 900", "On 600 of those 900")
    # latent 0 reads footwear (e1); latent 1 is aligned with e1, latent 2 orthogonal to it
    fires, absorbed, other = torch.eye(3)[0], torch.tensor([0.0, 1.0, 0.0]), torch.tensor([0.0, 0.0, 1.0])
    Z = torch.cat([fires.repeat(2100, 1), absorbed.repeat(600, 1), other.repeat(300, 1), other.repeat(500, 1)])
    is_parent = torch.arange(len(Z)) < 3000
    decoder = torch.tensor([[1.0, 0.8, 0.0], [0.0, 0.6, 1.0]])
    assert_fill_is(q, absorption.absorption_rate(Z, is_parent, decoder, torch.tensor([1.0, 0.0]), 0))


def calc_07_dimensions_per_feature(q):
    in_prompt(q, "5 hidden dimensions", "20 features", "stores 10 of them")
    W = torch.randn(5, 20, generator=torch.Generator().manual_seed(0))
    W = W / W.norm(dim=0)
    W[:, 10:] = 0
    assert_fill_is(q, superposition.dimensions_per_feature(W))
def calc_08_batchtopk_count(q):
    in_prompt(q, "4 codes with 6 latents", "k = 2")
    z = torch.rand(4, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64) + 0.1
    assert_fill_is(q, float((saes.batch_topk(z, 2) != 0).sum()))


def calc_08_jumprelu_grad(q):
    in_prompt(q, "theta = 0.5", "eps = 0.2", "0.45, 0.58, 0.62 and 0.9")
    h = torch.tensor([[0.45], [0.58], [0.62], [0.9]], dtype=torch.float64)
    theta = torch.tensor([0.5], dtype=torch.float64, requires_grad=True)
    saes.jumprelu(h, theta, 0.2).sum().backward()
    assert_fill_is(q, theta.grad.item())


def calc_08_loss_recovered(q):
    in_prompt(q, "0.32", "0.52", "2.32")
    assert_fill_is(q, evaluation.loss_recovered(0.32, 0.52, 2.32))


CALCULATIONS = {name[len("calc_"):].replace("_", "-", 1).replace("_", "-"): fn
                for name, fn in dict(globals()).items() if name.startswith("calc_")}


def test_every_calculation_item_has_a_computed_check():
    calculation_ids = {q["id"] for q in quiz.load_bank() if q["kind"] == "calculation"}
    assert calculation_ids == set(CALCULATIONS)


@pytest.mark.parametrize("question_id", sorted(CALCULATIONS))
def test_calculation_answer_is_what_the_course_code_computes(question_id):
    CALCULATIONS[question_id](quiz.get(question_id))


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
