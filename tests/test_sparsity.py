"""Reference penalties on hand-computed cases (the graders compare learners against these)."""
import math

import pytest
import torch

from course_lib import sparsity


def test_l1_and_l2_sum_over_units_mean_over_batch():
    z = torch.tensor([[1.0, -2.0, 0.0], [0.5, 0.5, 0.0]])
    assert sparsity.l1_penalty(z, 0.1).item() == pytest.approx(0.1 * (3.0 + 1.0) / 2)
    assert sparsity.l2_penalty(z, 2.0).item() == pytest.approx(2.0 * (5.0 + 0.5) / 2)


def test_kl_by_hand_and_zero_at_target():
    rho_hat = torch.tensor([0.05, 0.5])
    kl = sparsity.kl_divergence(0.05, rho_hat)
    expected = 0.05 * math.log(0.05 / 0.5) + 0.95 * math.log(0.95 / 0.5)
    assert kl[0].item() == pytest.approx(0.0, abs=1e-7)
    assert kl[1].item() == pytest.approx(expected, rel=1e-6)


def test_kl_penalty_is_finite_when_units_saturate():
    a = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    value = sparsity.kl_sparsity_penalty(a, 0.1, 3.0)
    assert math.isfinite(value.item()) and value.item() > 0


@pytest.mark.parametrize("rho", [0, 1, -0.1, 1.5, "0.1"])
def test_rho_outside_open_interval_is_rejected(rho):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        sparsity.kl_divergence(rho, torch.tensor([0.5]))


def test_topk_values_kept_and_gradients_only_through_kept():
    z = torch.tensor([[0.3, -5.0, 2.0, 1.0]], requires_grad=True)
    out = sparsity.topk_activation(z, 2)
    assert out.tolist() == [[0.0, 0.0, 2.0, 1.0]]
    out.sum().backward()
    assert z.grad.tolist() == [[0.0, 0.0, 1.0, 1.0]]


@pytest.mark.parametrize("k", [0, 5, -1, 2.0, True])
def test_topk_bad_k(k):
    with pytest.raises((TypeError, ValueError), match=r"k must be an integer( in 1..4)?, got"):
        sparsity.topk_activation(torch.rand(2, 4), k)


def test_mean_activation_shape_error():
    with pytest.raises(ValueError, match=r"\(batch, n_latent\)"):
        sparsity.mean_activation(torch.rand(5))


def test_projected_decoder_gradient_is_orthogonal_to_each_column():
    gen = torch.Generator().manual_seed(0)
    W = torch.randn(9, 5, generator=gen) * torch.tensor([0.1, 0.5, 1.0, 2.0, 3.0])  # columns of any length
    G = torch.randn(9, 5, generator=gen)
    P = sparsity.project_decoder_grad(W, G)
    assert torch.allclose((W * P).sum(0), torch.zeros(5), atol=1e-5)
    assert torch.allclose(P, sparsity.project_decoder_grad(W, P), atol=1e-6)  # projecting twice changes nothing
    assert torch.equal(sparsity.project_decoder_grad(torch.zeros(9, 5), G), G)  # zero columns: unchanged
    with pytest.raises(ValueError, match="same shape"):
        sparsity.project_decoder_grad(W, G.T)
