"""course_lib.superposition: the toy model of superposition and planted-feature data."""
import pytest
import torch

from course_lib.matching import mean_max_cosine_similarity
from course_lib.superposition import (ToyModel, dimensions_per_feature, feature_importance, feature_norms,
                                      importance_weighted_loss, interference, planted_data,
                                      random_dictionary, sparse_features, train_toy_models)


def test_importance_and_loss_known_values():
    assert torch.allclose(feature_importance(3, 0.5), torch.tensor([1.0, 0.5, 0.25]))
    x = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    x_hat = torch.tensor([[0.0, 0.0], [0.0, 1.0]])
    # sample 1: 1*1 + 0.5*4 = 3; sample 2: 0.5*1 = 0.5; mean 1.75
    assert importance_weighted_loss(x, x_hat, torch.tensor([1.0, 0.5])).item() == pytest.approx(1.75)
    assert importance_weighted_loss(x[None], x_hat[None], torch.tensor([1.0, 0.5])).item() == pytest.approx(1.75)


def test_sparse_features_shapes_and_rates():
    gen = torch.Generator().manual_seed(0)
    x = sparse_features(4000, 10, 0.1, generator=gen)
    assert x.shape == (4000, 10) and x.min() >= 0 and x.max() < 1
    assert (x > 0).float().mean().item() == pytest.approx(0.1, abs=0.01)
    xs = sparse_features(2000, 10, torch.tensor([1.0, 0.05]), generator=gen)
    assert xs.shape == (2, 2000, 10)
    assert (xs[0] > 0).float().mean().item() > 0.99
    assert (xs[1] > 0).float().mean().item() == pytest.approx(0.05, abs=0.01)


def test_toy_model_shapes_and_formula():
    m = ToyModel(5, 2, seed=0)
    assert m.W.shape == (2, 5) and m.b.shape == (5,)
    x = torch.rand(3, 5)
    assert m.hidden(x).shape == (3, 2)
    assert torch.allclose(m(x), torch.relu(x @ m.W.t() @ m.W + m.b))
    assert torch.equal(ToyModel(5, 2, seed=0).W, m.W)


def test_geometry_measures_on_known_matrices():
    W = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])  # features 0, 1 stored on axes, 2 dropped
    assert feature_norms(W).tolist() == [1.0, 1.0, 0.0]
    assert interference(W).tolist() == [0.0, 0.0, 0.0]
    assert dimensions_per_feature(W) == pytest.approx(1.0)
    pentagon = torch.stack([torch.cos(torch.arange(5) * 2 * torch.pi / 5), torch.sin(torch.arange(5) * 2 * torch.pi / 5)])
    assert dimensions_per_feature(pentagon) == pytest.approx(0.4)
    assert (interference(pentagon) > 0.5).all()


def test_dense_features_are_not_superposed_and_sparse_ones_are():
    dense, sparse = train_toy_models(5, 2, [1.0, 0.03], steps=1500, batch_size=512, lr=1e-2, progress=False)
    assert int((feature_norms(dense.W) > 0.5).sum()) == 2   # the two most important features
    assert int((feature_norms(sparse.W) > 0.5).sum()) >= 4  # more features than dimensions


def test_planted_data_shapes_and_recovery_of_the_truth():
    D = random_dictionary(8, 20, seed=1)
    assert D.shape == (8, 20) and torch.allclose(D.norm(dim=0), torch.ones(20))
    X, C = planted_data(D, 5000, 3, seed=0)
    assert X.shape == (5000, 8) and C.shape == (5000, 20)
    assert torch.allclose(X, C @ D.t())
    assert (C > 0).sum(1).float().mean().item() == pytest.approx(3, abs=0.15)
    assert mean_max_cosine_similarity(D, D) == pytest.approx(1.0)


@pytest.mark.parametrize("call, message", [
    (lambda: feature_importance(0), "positive"),
    (lambda: feature_importance(3, 1.5), "decay"),
    (lambda: sparse_features(3, 2, 0.0), "probability"),
    (lambda: importance_weighted_loss(torch.ones(2, 3), torch.ones(2, 2), torch.ones(3)), "same shape"),
    (lambda: importance_weighted_loss(torch.ones(2, 3), torch.ones(2, 3), torch.ones(2)), "one weight per feature"),
    (lambda: ToyModel(3, 2)(torch.ones(4, 2)), "shape \\(batch, 3\\)"),
    (lambda: train_toy_models(3, 2, [], steps=1, progress=False), "at least one"),
    (lambda: train_toy_models(3, 2, [1.2], steps=1, progress=False), "probability"),
    (lambda: dimensions_per_feature(torch.zeros(2, 3)), "all zeros"),
    (lambda: planted_data(torch.ones(4), 10, 2), "dictionary"),
    (lambda: planted_data(torch.ones(4, 5), 10, 9), "n_active"),
])
def test_bad_input_gets_a_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
