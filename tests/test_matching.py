"""course_lib.matching: MMCS and one-to-one matching of dictionary columns."""
import pytest
import torch

from course_lib.matching import cosine_matrix, match_one_to_one, matched_cosine, mean_max_cosine_similarity


def test_mmcs_is_scale_and_order_invariant_and_signed():
    torch.manual_seed(0)
    D = torch.randn(10, 6)
    assert mean_max_cosine_similarity(3 * D[:, torch.randperm(6)], D) == pytest.approx(1.0)
    assert mean_max_cosine_similarity(-D, D) < 0.9  # opposite directions do not recover


def test_mmcs_averages_over_the_true_directions():
    D_true = torch.eye(4)
    D_learned = torch.eye(4)[:, :2]  # recovers 2 of 4 axes exactly, the others not at all
    assert mean_max_cosine_similarity(D_learned, D_true) == pytest.approx(0.5)
    assert mean_max_cosine_similarity(D_true, D_learned) == pytest.approx(1.0)


def test_one_to_one_matching_does_not_reuse_a_column():
    B = torch.eye(3)[:, :2]
    A = torch.tensor([[1.0, 0.9], [0.0, 0.1], [0.0, 0.0]])  # both columns close to e1
    rows, cols, cos = match_one_to_one(A, B)
    assert sorted(cols.tolist()) == [0, 1]
    assert matched_cosine(A, B) < mean_max_cosine_similarity(B, A)  # a max may credit e1 twice
    assert cos.max().item() == pytest.approx(1.0)
    assert cos.min().item() == pytest.approx(0.1 / (0.81 + 0.01) ** 0.5)


@pytest.mark.parametrize("A, B, message", [
    (torch.ones(3), torch.ones(3, 2), r"shape \(d, n\)"),
    (torch.ones(4, 2), torch.ones(3, 2), "same space"),
    (torch.zeros(3, 2), torch.ones(3, 2), "all-zero column"),
    (torch.full((3, 2), float("nan")), torch.ones(3, 2), "NaN"),
    ([[1.0]], torch.ones(1, 1), "torch.Tensor"),
])
def test_bad_dictionaries_get_a_clear_error(A, B, message):
    with pytest.raises((TypeError, ValueError), match=message):
        cosine_matrix(A, B)


def test_assign_one_to_one_maximises_any_score_matrix():
    from course_lib.matching import assign_one_to_one
    S = torch.tensor([[0.9, 0.8], [0.85, 0.1]])
    rows, cols = assign_one_to_one(S)  # greedy would take 0.9 and leave 0.1; the optimum is 0.8 + 0.85
    assert dict(zip(rows.tolist(), cols.tolist())) == {0: 1, 1: 0}
    with pytest.raises(ValueError, match="NaN"):
        assign_one_to_one(torch.tensor([[float("nan")]]))
