"""course_lib.capstone: the classifier, hooks, class profiles, interventions and figures."""
from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch

from course_lib import capstone
from course_lib.train import TrainingDiverged


def _hooks(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def _blobs(n_per_class=60, n_classes=3, dim=8, seed=0):
    """Well-separated Gaussian blobs: a linear classifier can reach 100%."""
    gen = torch.Generator().manual_seed(seed)
    centers = 4 * torch.eye(n_classes, dim)
    X = torch.cat([centers[c] + 0.3 * torch.randn(n_per_class, dim, generator=gen) for c in range(n_classes)])
    y = torch.arange(n_classes).repeat_interleave(n_per_class)
    return X, y


# ---------------------------------------------------------------- classifier


def test_classifier_has_named_layers_and_shapes():
    model = capstone.MLPClassifier(784, 256, 10, seed=0)
    assert [name for name, _ in model.named_children()] == ["fc1", "relu", "fc2"]
    assert model.get_submodule(capstone.HIDDEN_LAYER) is model.relu
    assert model(torch.zeros(5, 784)).shape == (5, 10)


def test_classifier_seed_is_reproducible_and_keeps_the_global_rng():
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    a = capstone.MLPClassifier(6, 4, 3, seed=7)
    assert torch.equal(torch.random.get_rng_state(), state)
    b = capstone.MLPClassifier(6, 4, 3, seed=7)
    c = capstone.MLPClassifier(6, 4, 3, seed=8)
    assert torch.equal(a.fc1.weight, b.fc1.weight)
    assert not torch.equal(a.fc1.weight, c.fc1.weight)


def test_train_classifier_learns_separable_blobs():
    X, y = _blobs()
    model = capstone.MLPClassifier(8, 16, 3, seed=0)
    history = capstone.train_classifier(model, X, y, epochs=15, batch_size=32, lr=1e-2, progress=False)
    assert set(history) == {"loss", "train_accuracy", "seconds"}
    assert len(history["loss"]) == 15
    assert history["loss"][-1] < history["loss"][0]
    assert capstone.accuracy(capstone.predict_logits(model, X), y) == 1.0
    assert not model.training  # left in evaluation mode


def test_train_classifier_is_deterministic():
    X, y = _blobs(seed=1)
    runs = []
    for _ in range(2):
        model = capstone.MLPClassifier(8, 16, 3, seed=0)
        capstone.train_classifier(model, X, y, epochs=2, batch_size=16, seed=3, progress=False)
        runs.append(model.fc1.weight.detach().clone())
    assert torch.equal(runs[0], runs[1])


def test_train_classifier_rejects_bad_input():
    X, y = _blobs()
    model = capstone.MLPClassifier(8, 16, 3, seed=0)
    with pytest.raises(ValueError, match="class labels"):
        capstone.train_classifier(model, X, y[:-1], epochs=1, progress=False)
    with pytest.raises(ValueError, match="shape \\(N, features\\)"):
        capstone.train_classifier(model, X[0], y, epochs=1, progress=False)
    with pytest.raises(ValueError, match="epochs must be an integer >= 1"):
        capstone.train_classifier(model, X, y, epochs=0, progress=False)
    with pytest.raises(ValueError, match="model is on"):
        capstone.train_classifier(model, X.to("meta"), y.to("meta"), epochs=1, progress=False)


def test_train_classifier_reports_divergence():
    X, y = _blobs()
    model = capstone.MLPClassifier(8, 16, 3, seed=0)
    with pytest.raises(TrainingDiverged, match="learning rate"):
        capstone.train_classifier(model, X * float("nan"), y, epochs=1, progress=False)


def test_predict_logits_matches_one_pass_and_accuracy_by_hand():
    model = capstone.MLPClassifier(8, 5, 3, seed=0)
    X = torch.randn(10, 8, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(capstone.predict_logits(model, X, batch_size=3), model(X).detach(), atol=1e-6)
    logits = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 3.0], [5.0, 1.0]])
    assert capstone.accuracy(logits, torch.tensor([0, 1, 0, 0])) == 0.75
    with pytest.raises(ValueError, match="expected logits"):
        capstone.accuracy(logits, torch.tensor([0, 1]))


# ---------------------------------------------------------------- hooks


def test_get_layer_lists_the_names_of_an_unknown_layer():
    model = capstone.MLPClassifier(4, 3, 2)
    with pytest.raises(ValueError, match=r"no layer 'hidden'.*\['fc1', 'relu', 'fc2'\]"):
        capstone.get_layer(model, "hidden")


def test_record_activations_equals_the_layer_computed_by_hand():
    model = capstone.MLPClassifier(8, 5, 3, seed=1)
    X = torch.rand(11, 8, generator=torch.Generator().manual_seed(1))
    A = capstone.record_activations(model, X, "relu", batch_size=4)
    assert torch.allclose(A, torch.relu(model.fc1(X)).detach())
    assert not A.requires_grad
    assert torch.allclose(capstone.record_activations(model, X, "fc1"), model.fc1(X).detach())
    assert _hooks(model) == 0


def test_record_activations_removes_its_hook_after_an_error():
    model = capstone.MLPClassifier(8, 5, 3, seed=1)
    with pytest.raises(RuntimeError):
        capstone.record_activations(model, torch.zeros(3, 7), "fc2")  # wrong input size
    assert _hooks(model) == 0


def test_splice_logits_identity_zero_and_shape_errors():
    model = capstone.MLPClassifier(8, 5, 3, seed=2)
    X = torch.rand(9, 8, generator=torch.Generator().manual_seed(2))
    same = capstone.splice_logits(model, X, "relu", lambda h: h, batch_size=4)
    assert torch.allclose(same, model(X).detach(), atol=1e-6)
    zeroed = capstone.splice_logits(model, X, "relu", torch.zeros_like)
    assert torch.allclose(zeroed, model.fc2.bias.detach().expand(9, 3))
    assert _hooks(model) == 0
    with pytest.raises(ValueError, match=r"replace must return a tensor of shape \(9, 5\)"):
        capstone.splice_logits(model, X, "relu", lambda h: h[:, :2])
    assert _hooks(model) == 0
    # the model is untouched: a plain call afterwards is not spliced
    assert torch.allclose(model(X), same, atol=1e-6)


def _small_sae(seed=0):
    A = torch.relu(torch.randn(50, 6, generator=torch.Generator().manual_seed(seed)))
    return capstone.make_layer_sae(A, 12, seed=seed), A


def test_make_layer_sae_starts_as_described():
    sae, A = _small_sae()
    assert (sae.n_in, sae.n_latent, sae.activation) == (6, 12, "relu")
    assert torch.allclose(sae.decoder_weight.norm(dim=0), torch.ones(12), atol=1e-6)
    assert torch.equal(sae.encoder.weight, sae.decoder.weight.t())
    assert torch.equal(sae.encoder.bias, torch.zeros(12))
    assert torch.allclose(sae.b_dec, A.mean(0))


def test_sae_replacement_reconstructs_or_keeps_the_error():
    sae, A = _small_sae(1)
    with torch.no_grad():
        recon = capstone.sae_replacement(sae)(A)
        assert torch.allclose(recon, sae(A)[0])
        assert torch.allclose(capstone.sae_replacement(sae, keep_error=True)(A), A, atol=1e-5)
        j = int(sae.encode(A).sum(0).argmax())
        ablated = capstone.sae_replacement(sae, lambda z: capstone.set_feature(z, j, 0.0), keep_error=True)(A)
        expected = A - sae.encode(A)[:, j : j + 1] * sae.decoder_weight[:, j]
        assert torch.allclose(ablated, expected, atol=1e-5)


# ---------------------------------------------------------------- class profiles


def test_class_profile_by_hand():
    A = torch.tensor([[2.0, 0.0, 1.0], [2.0, 0.0, 1.0], [2.0, 0.0, 1.0],
                      [0.0, 1.0, 1.0], [0.0, 1.0, 1.0], [0.5, 3.0, 1.0]])
    y = torch.tensor([0, 0, 0, 1, 1, 2])
    P = capstone.class_profile(A, y, 3)
    # unit 0: class means 2, 0, 0.5 -> 0.8, 0, 0.2; unit 1: 0, 1, 3 -> 0, 0.25, 0.75; unit 2 flat
    expected = torch.tensor([[0.8, 0.0, 1 / 3], [0.0, 0.25, 1 / 3], [0.2, 0.75, 1 / 3]])
    assert torch.allclose(P, expected)
    assert torch.allclose(capstone.selectivity(P), torch.tensor([0.8, 0.75, 1 / 3]))


def test_class_profile_dead_unit_missing_class_and_sums():
    A = torch.tensor([[1.0, 0.0], [3.0, 0.0], [2.0, 0.0]])
    P = capstone.class_profile(A, torch.tensor([0, 0, 2]), 4)
    assert P.shape == (4, 2)
    assert torch.allclose(P[:, 1], torch.full((4,), 0.25))  # dead unit: no preference
    assert torch.allclose(P[:, 0], torch.tensor([0.5, 0.0, 0.5, 0.0]))  # means 2 and 2; classes 1, 3 empty
    assert torch.allclose(P.sum(0), torch.ones(2))


def test_class_profile_ignores_class_sizes():
    # The same unit response per class, but class 0 has 10 times more images.
    A = torch.cat([torch.ones(100, 1), torch.ones(10, 1)])
    y = torch.cat([torch.zeros(100, dtype=torch.long), torch.ones(10, dtype=torch.long)])
    assert torch.allclose(capstone.class_profile(A, y, 2)[:, 0], torch.tensor([0.5, 0.5]))


def test_active_units():
    A = torch.tensor([[1.0, 0.0, 2.0], [1.0, 0.0, 0.0], [1.0, 3.0, 0.0]])
    assert capstone.active_units(A, min_count=2).tolist() == [0]
    assert capstone.active_units(A, min_count=1).tolist() == [0, 1, 2]


# ---------------------------------------------------------------- interventions


def test_set_feature_sets_a_column_and_leaves_z_alone():
    z = torch.tensor([[1.0, 2.0, 3.0], [0.0, 5.0, 0.0]])
    out = capstone.set_feature(z, 1, 0.0)
    assert out.tolist() == [[1.0, 0.0, 3.0], [0.0, 0.0, 0.0]]
    assert capstone.set_feature(z, [0, 2], 7.0).tolist() == [[7.0, 2.0, 7.0], [7.0, 5.0, 7.0]]
    assert z.tolist() == [[1.0, 2.0, 3.0], [0.0, 5.0, 0.0]]


def test_set_feature_gradient_skips_the_edited_latent():
    z = torch.rand(3, 4, dtype=torch.float64, requires_grad=True)
    capstone.set_feature(z, 2, 1.5).sum().backward()
    expected = torch.ones(3, 4, dtype=torch.float64)
    expected[:, 2] = 0
    assert torch.equal(z.grad, expected)


def test_prediction_shift_by_hand_and_empty_groups():
    before = torch.tensor([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    after = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    kept, gained = capstone.prediction_shift(before, after, 1)
    assert (kept, gained) == (0.5, pytest.approx(1 / 3))
    assert isinstance(kept, float) and isinstance(gained, float)
    kept, gained = capstone.prediction_shift(before, after, 0)
    assert (kept, gained) == (pytest.approx(2 / 3), 0.5)
    kept, gained = capstone.prediction_shift(torch.zeros(3, 2), torch.zeros(3, 2), 0)
    assert kept == 1.0 and math.isnan(gained)


# ---------------------------------------------------------------- figures


def test_mass_weighted_sample_draws_only_active_rows_strongest_first():
    a = torch.tensor([0.0, 5.0, 0.0, 1.0, 2.0])
    idx = capstone.mass_weighted_sample(a, 10, seed=0)
    assert sorted(idx.tolist()) == [1, 3, 4]
    assert idx.tolist() == [1, 4, 3]
    assert len(capstone.mass_weighted_sample(torch.zeros(4), 3)) == 0
    many = torch.rand(1000, generator=torch.Generator().manual_seed(0))
    assert torch.equal(capstone.mass_weighted_sample(many, 5, seed=2), capstone.mass_weighted_sample(many, 5, seed=2))


def test_figures_are_labelled():
    gen = torch.Generator().manual_seed(0)
    A = torch.relu(torch.randn(40, 6, generator=gen))
    y = torch.arange(10).repeat(4)
    X = torch.rand(40, 784, generator=gen)
    P = capstone.class_profile(A, y, 10)

    fig = capstone.profile_heatmap(P, units=[0, 2, 5], title="profiles", unit_label="neuron")
    ax = fig.axes[0]
    assert ax.get_title() == "profiles" and ax.get_xlabel() == "neuron"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "2", "5"]
    assert [t.get_text() for t in ax.get_yticklabels()] == list(capstone.SHORT_NAMES)
    plt.close(fig)

    fig = capstone.selectivity_histogram({"a": capstone.selectivity(P), "b": torch.rand(20, generator=gen)})
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0].startswith("a (6 units, median") and labels[-1] == "no preference (1/10)"
    assert "selectivity" in ax.get_xlabel() and ax.get_ylabel() == "fraction of units"
    plt.close(fig)

    fig = capstone.unit_gallery(X, A, y, P, [1, 4], n_images=5, unit_label="feature", title="gallery")
    assert fig._suptitle.get_text() == "gallery"
    assert fig.axes[0].get_title().startswith("feature 1: selectivity")
    assert len(fig.axes) == 2 * (1 + 5)
    plt.close(fig)


# ---------------------------------------------------------------- same-size errors


def test_readout_basis_spans_the_row_space():
    W = torch.tensor([[1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0], [2.0, 1.0, 0.0, 0.0]])  # rank 2
    B = capstone.readout_basis(W)
    assert B.shape == (4, 2)
    assert torch.allclose(B.t() @ B, torch.eye(2), atol=1e-6)
    assert torch.allclose(B[2:], torch.zeros(2, 2), atol=1e-6)  # the last two directions are never read
    h = torch.tensor([[0.0, 0.0, 3.0, -1.0]])
    assert torch.allclose(h @ W.t(), torch.zeros(1, 3))  # such an h changes nothing downstream


def test_readout_share_by_hand():
    W = torch.tensor([[1.0, 0.0, 0.0]])
    E = torch.tensor([[3.0, 4.0, 0.0], [0.0, 0.0, 0.0]])
    assert capstone.readout_share(E, W) == pytest.approx(9 / 25)


def test_matched_errors_have_the_same_row_norms_and_the_right_directions():
    gen = torch.Generator().manual_seed(0)
    W = torch.randn(3, 12, generator=gen)
    E = torch.randn(20, 12, generator=gen)
    E[4] = 0  # a row without error stays without error
    errs = capstone.matched_errors(E, W, seed=1)
    assert set(errs) == {"random", "read", "unread"}
    for D in errs.values():
        assert torch.allclose(D.norm(dim=1), E.norm(dim=1), atol=1e-5)
        assert torch.equal(D[4], torch.zeros(12))
    assert torch.allclose(errs["unread"] @ W.t(), torch.zeros(20, 3), atol=1e-5)
    assert capstone.readout_share(errs["read"], W) == pytest.approx(1.0, abs=1e-5)
    again = capstone.matched_errors(E, W, seed=1)
    assert torch.equal(again["random"], errs["random"])
