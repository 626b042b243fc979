import math

import pytest
import torch

from course_lib import metrics, sparsity
from course_lib.data import DEBIAN_DIR, load_fashion_mnist
from course_lib.models import Autoencoder
from course_lib.train import TrainingDiverged, train


@pytest.fixture(scope="module")
def fmnist():
    if not DEBIAN_DIR.exists():
        pytest.skip("install dataset-fashion-mnist (.ci/run does)")
    X, y = load_fashion_mnist("train", device="cpu")
    return X[:4000]


def test_training_reduces_loss_on_real_data(fmnist):
    model = Autoencoder(784, 64)
    before = metrics.evaluate(model, fmnist)["fvu"]
    hist = train(model, fmnist, epochs=3, progress=False)
    assert hist["loss"][-1] < hist["loss"][0]
    assert set(hist) == {"loss", "recon", "penalty", "extra", "seconds"} and len(hist["loss"]) == 3
    assert metrics.evaluate(model, fmnist)["fvu"] < 0.5 * before


def test_training_is_deterministic_given_seeds(fmnist):
    runs = [train(Autoencoder(784, 16, seed=3), fmnist[:1000], epochs=2, seed=5, progress=False)["loss"]
            for _ in range(2)]
    assert runs[0] == runs[1]


def test_penalty_is_added_and_makes_codes_sparser(fmnist):
    X = fmnist[:2000]
    dense, sparse = Autoencoder(784, 64), Autoencoder(784, 64)
    train(dense, X, epochs=3, progress=False)
    hist = train(sparse, X, epochs=3, progress=False, penalty=lambda z, m: sparsity.l1_penalty(z, 2.0))
    assert all(p > 0 for p in hist["penalty"])
    assert hist["loss"][-1] == pytest.approx(hist["recon"][-1] + hist["penalty"][-1], rel=1e-5)
    assert metrics.l0(metrics.encode_batched(sparse, X)) < 0.5 * metrics.l0(metrics.encode_batched(dense, X))


def test_unit_norm_decoder_stays_normalised(fmnist):
    model = Autoencoder(784, 32, unit_norm_decoder=True)
    train(model, fmnist[:1000], epochs=1, progress=False, penalty=lambda z, m: sparsity.l1_penalty(z, 0.1))
    assert torch.allclose(model.decoder_weight.norm(dim=0), torch.ones(32), atol=1e-5)


def test_extra_loss_receives_batch_and_is_recorded():
    seen = []

    def extra(x, x_hat, z, model):
        seen.append((x.shape, x_hat.shape, z.shape))
        return 0.5 * z.mean()

    X = torch.rand(300, 10)
    hist = train(Autoencoder(10, 4), X, epochs=1, batch_size=128, extra_loss=extra, progress=False)
    assert [s[0][0] for s in seen] == [128, 128, 44]
    assert hist["extra"][0] > 0


def test_divergence_names_the_likely_cause():
    X = torch.rand(256, 10)
    with pytest.raises(TrainingDiverged, match=r"learning rate lr=.*too high.*penalty weight"):
        train(Autoencoder(10, 4, "sigmoid"), X, epochs=1, progress=False,
              penalty=lambda z, m: sparsity.kl_divergence(0.1, z.mean(0) - z.mean(0)).sum())


@pytest.mark.parametrize("kwargs,match", [
    ({"X": torch.rand(10, 3, 3)}, "shape \\(N, features\\)"),
    ({"epochs": 0}, "epochs must be an integer >= 1, got 0"),
])
def test_bad_arguments(kwargs, match):
    args = {"X": torch.rand(10, 9), "epochs": 1} | kwargs
    with pytest.raises(ValueError, match=match):
        train(Autoencoder(9, 3), args.pop("X"), progress=False, **args)


def test_progress_bar_does_not_change_results(capsys):
    X = torch.rand(100, 5)
    quiet = train(Autoencoder(5, 3), X, epochs=2, progress=False)["loss"]
    shown = train(Autoencoder(5, 3), X, epochs=2, progress=True)["loss"]
    assert quiet == shown and all(math.isfinite(v) for v in shown)
