import pytest
import torch

from course_lib import metrics
from course_lib.models import Autoencoder

Z = torch.tensor([[0.0, 2.0, 0.0, 0.0], [1.0, 3.0, 0.0, 0.0], [0.0, 0.5, 0.0, -1.0]])


def test_sparsity_counts_by_hand():
    assert metrics.l0(Z) == pytest.approx((1 + 2 + 2) / 3)
    assert metrics.dead_fraction(Z) == pytest.approx(0.25)  # only unit 2 never fires
    assert metrics.lifetime_sparsity(Z).tolist() == pytest.approx([1 / 3, 1.0, 0.0, 1 / 3])
    assert metrics.population_sparsity(Z).tolist() == pytest.approx([0.25, 0.5, 0.5])
    assert metrics.l0(Z, threshold=0.75) == pytest.approx((1 + 2 + 1) / 3)


def test_reconstruction_errors_by_hand():
    x = torch.tensor([[0.0, 2.0], [2.0, 4.0]])
    x_hat = torch.tensor([[1.0, 2.0], [2.0, 2.0]])
    assert metrics.mse(x, x_hat) == pytest.approx((1 + 0 + 0 + 4) / 4)
    # variance about the column means (1, 3): total 1+1+1+1 = 4; error 5
    assert metrics.fraction_variance_unexplained(x, x_hat) == pytest.approx(5 / 4)
    assert metrics.fvu(x, x.mean(0).expand_as(x)) == pytest.approx(1.0)
    assert metrics.fvu(x, x) == 0.0


def test_batched_encoding_matches_one_pass():
    model = Autoencoder(10, 6)
    X = torch.rand(1000, 10)
    Zb = metrics.encode_batched(model, X, batch_size=128)
    assert torch.allclose(Zb, model.encode(X)) and not Zb.requires_grad
    stats = metrics.evaluate(model, X)
    assert set(stats) == {"fvu", "mse", "l0", "dead_fraction"}
    assert stats["l0"] == pytest.approx(metrics.l0(Zb))


def test_linear_probe_separates_separable_classes_and_not_noise():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(600) % 3
    centers = torch.tensor([[3.0, 0.0], [0.0, 3.0], [-3.0, -3.0]])
    Zc = centers[y] + 0.3 * torch.randn(600, 2, generator=g)
    acc = metrics.linear_probe_accuracy(Zc[:400], y[:400], Zc[400:], y[400:])
    assert acc > 0.98
    noise = torch.randn(600, 2, generator=g)
    assert metrics.linear_probe_accuracy(noise[:400], y[:400], noise[400:], y[400:]) < 0.6
