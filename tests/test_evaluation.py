"""course_lib.evaluation: loss recovered and the other columns of lesson 08's table."""
import math

import pytest
import torch
from torch import nn

from course_lib import capstone, evaluation, saes
from course_lib.evaluation import loss_recovered


def test_loss_recovered_endpoints():
    assert loss_recovered(0.3, 0.3, 2.3) == pytest.approx(1.0)
    assert loss_recovered(0.3, 2.3, 2.3) == pytest.approx(0.0)
    assert loss_recovered(0.3, 3.3, 2.3) == pytest.approx(-0.5)
    assert loss_recovered(torch.tensor(0.3), torch.tensor(1.3), 2.3) == pytest.approx(0.5)


@pytest.mark.parametrize("args, message", [
    ((0.5, 0.6, 0.5), "no loss to recover"),
    ((float("nan"), 0.6, 1.0), "must be a finite number"),
    (("0.5", 0.6, 1.0), "must be a number"),
])
def test_loss_recovered_rejects_bad_input(args, message):
    with pytest.raises((TypeError, ValueError), match=message):
        loss_recovered(*args)


# ---------------------------------------------------------------- the SAEBench-style columns



class _Exact(nn.Module):
    """A stand-in SAE whose reconstruction is the layer itself (or a fixed multiple of it)."""

    def __init__(self, scale=1.0):
        super().__init__()
        self.scale = scale

    def encode(self, h):
        return h

    def decode(self, z):
        return self.scale * z


def _classifier():
    gen = torch.Generator().manual_seed(0)
    X = torch.rand(300, 20, generator=gen)
    y = (X[:, 0] > 0.5).long() + (X[:, 1] > 0.5).long()
    clf = capstone.MLPClassifier(20, 16, 3, seed=0)
    capstone.train_classifier(clf, X, y, epochs=30, batch_size=64, lr=1e-2, progress=False)
    return clf, X, y


def test_splice_metrics_of_an_exact_and_of_a_zero_reconstruction():
    clf, X, y = _classifier()
    exact = evaluation.splice_metrics(clf, X, y, "relu", _Exact())
    assert exact["ce_recovered"] == pytest.approx(1.0) and exact["acc_recovered"] == pytest.approx(1.0)
    assert exact["ce_ablated"] > exact["ce_clean"]
    zero = evaluation.splice_metrics(clf, X, y, "relu", _Exact(0.0))
    assert zero["ce_recovered"] == pytest.approx(0.0) and zero["ce_spliced"] == pytest.approx(zero["ce_ablated"])


def test_informative_latents_and_sparse_probe():
    gen = torch.Generator().manual_seed(1)
    y = torch.arange(400) % 4
    Z = torch.rand(400, 12, generator=gen)
    Z[:, 5] += 3.0 * (y == 2)                     # latent 5 announces class 2
    assert evaluation.informative_latents(Z, y == 2, 1).tolist() == [5]
    Z_clean = torch.zeros(400, 8)
    Z_clean[torch.arange(400), y] = 1.0           # one latent per class: perfect probes
    assert evaluation.sparse_probe_accuracy(Z_clean, y, Z_clean, y, 1) == pytest.approx(1.0)
    noise = torch.rand(400, 8, generator=gen)
    assert evaluation.sparse_probe_accuracy(noise[:200], y[:200], noise[200:], y[200:], 1) < 0.65
    with pytest.raises(ValueError, match="k must be"):
        evaluation.informative_latents(Z, y == 2, 13)


def test_shrinkage_finds_the_best_scale():
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(50, 6, generator=gen)
    c = torch.randn(6, generator=gen)
    assert evaluation.shrinkage(x, x) == pytest.approx(1.0)
    assert evaluation.shrinkage(c + x, c + 0.5 * x, c) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="no scale"):
        evaluation.shrinkage(x, torch.zeros_like(x))


def test_seed_stability_of_a_permuted_copy():
    W = torch.randn(8, 5, generator=torch.Generator().manual_seed(3))
    result = evaluation.seed_stability(W, 2 * W[:, [3, 1, 4, 0, 2]])
    assert result["mean_cosine"] == pytest.approx(1.0) and result["shared"] == 1.0
    other = evaluation.seed_stability(W, torch.randn(8, 5, generator=torch.Generator().manual_seed(4)))
    assert other["mean_cosine"] < 0.9


def test_fvu_at_l0_interpolates_in_log_l0_and_never_extrapolates():
    assert evaluation.fvu_at_l0([4, 16], [0.2, 0.1], 8) == pytest.approx(0.15)
    assert evaluation.fvu_at_l0([16, 4, 64], [0.1, 0.2, 0.05], 32) == pytest.approx(0.075)
    assert math.isnan(evaluation.fvu_at_l0([4, 16], [0.2, 0.1], 100))
    with pytest.raises(ValueError):
        evaluation.fvu_at_l0([4], [0.2], 4)


def test_evaluate_sae_gives_every_column():
    clf, X, y = _classifier()
    A = capstone.record_activations(clf, X, "relu")
    sae = saes.make_sae("TopK", A, 32, k=4)
    saes.train_sae(sae, A, epochs=3, batch_size=64, lr=3e-3, progress=False)
    row = evaluation.evaluate_sae(sae, A, y, A, y, model=clf, X_test=X, layer="relu", parent="footwear")
    for key in ("fvu", "l0", "dead", "shrinkage", "ce_recovered", "acc_recovered", "probe_k1", "probe_k5",
                "absorption"):
        assert key in row
    assert 0 < row["l0"] <= 4 and 0 <= row["fvu"] < 1
    assert math.isnan(row["absorption"])   # labels 0..2 hold no footwear: no parent to measure
    text = evaluation.format_table({"TopK": row}, [("fvu", "FVU", ".3f"), ("l0", "L0", ".1f")])
    assert text.splitlines()[1].startswith("TopK") and f"{row['fvu']:.3f}" in text
