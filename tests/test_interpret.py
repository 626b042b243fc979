"""course_lib.interpret: hand-computed cases, error messages, toy training and the explorer."""
from __future__ import annotations

import importlib
import math

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from course_lib import interpret as I
from course_lib.interpret.figures import _draw_mosaic
from course_lib.models import Autoencoder
from course_lib.sparsity import l1_penalty
from course_lib.train import train

# ------------------------------------------------------------------ top_activating_examples


def test_top_activating_examples_hand_case():
    Z = torch.tensor([[0.1, 5.0], [0.7, 0.0], [0.3, 2.0], [0.9, 1.0]])
    out = I.top_activating_examples(Z, 0, 3)
    assert out.dtype == torch.long
    assert out.tolist() == [3, 1, 2]
    assert I.top_activating_examples(Z, 1, 2).tolist() == [0, 2]
    assert I.top_activating_examples(Z, -1, 1).tolist() == [0]


@pytest.mark.parametrize("j, n, text", [(2, 1, "out of range"), (0, 0, "between 1 and"), (0, 5, "between 1 and")])
def test_top_activating_examples_errors(j, n, text):
    with pytest.raises(ValueError, match=text):
        I.top_activating_examples(torch.zeros(4, 2), j, n)


def test_top_activating_examples_needs_a_matrix():
    with pytest.raises(ValueError, match=r"shape \(N, n_latent\)"):
        I.top_activating_examples(torch.zeros(4), 0, 1)


# ------------------------------------------------------------------ class selectivity


def test_class_mean_activation_hand_case():
    Z = torch.tensor([[1.0, -2.0], [3.0, 0.0], [5.0, 4.0]])
    y = torch.tensor([0, 0, 2])
    M = I.class_mean_activation(Z, y, 4)
    assert torch.allclose(M, torch.tensor([[2.0, 1.0], [0.0, 0.0], [5.0, 4.0], [0.0, 0.0]]))


def test_class_selectivity_reference_values():
    y = torch.arange(4).repeat(2)  # 8 samples, 2 per class, 4 classes
    Z = torch.stack([
        (y == 1).float(),                 # one class
        torch.ones(8),                    # every class
        ((y == 0) | (y == 3)).float(),    # two classes of four
        torch.zeros(8),                   # silent
        -(y == 2).float(),                # one class, negative activations
    ], dim=1)
    S = I.class_selectivity(Z, y, 4)
    expected = torch.tensor([1.0, 0.0, 1 - math.log(2) / math.log(4), 0.0, 1.0])
    assert torch.allclose(S, expected, atol=1e-6)
    assert S[2].item() == pytest.approx(0.5)


def test_class_selectivity_uses_means_not_sums():
    # class 0 has 3 samples, class 1 has 1; equal mean activation -> no preference.
    Z = torch.ones(4, 1)
    y = torch.tensor([0, 0, 0, 1])
    assert I.class_selectivity(Z, y, 2).item() == pytest.approx(0.0, abs=1e-7)


def test_class_selectivity_empty_class_counts_in_normalisation():
    Z = torch.ones(4, 1)
    y = torch.tensor([0, 0, 1, 1])  # class 2 of 3 is absent
    expected = 1 - math.log(2) / math.log(3)
    assert I.class_selectivity(Z, y, 3).item() == pytest.approx(expected, rel=1e-6)


def test_class_selectivity_keeps_dtype_device_and_gradient():
    Z = torch.rand(6, 3, dtype=torch.float64, requires_grad=True)
    S = I.class_selectivity(Z, torch.tensor([0, 1, 2, 0, 1, 2]), 3)
    assert S.dtype == torch.float64 and S.shape == (3,)
    S.sum().backward()
    assert Z.grad is not None and torch.isfinite(Z.grad).all()


@pytest.mark.parametrize("n_classes", [1, 0, 2.5, True])
def test_class_selectivity_rejects_bad_class_counts(n_classes):
    with pytest.raises(ValueError, match="n_classes must be an integer >= 2"):
        I.class_selectivity(torch.ones(2, 1), torch.tensor([0, 0]), n_classes)


def test_class_selectivity_rejects_mismatched_labels():
    with pytest.raises(ValueError, match=r"y must be a tensor of shape \(3,\)"):
        I.class_selectivity(torch.ones(3, 2), torch.tensor([0, 1]), 2)


# ------------------------------------------------------------------ bars


def test_make_bars_layout_and_crossing():
    images, factors = I.make_bars(2000, size=4, p=0.5, seed=0)
    assert images.shape == (2000, 16) and factors.shape == (2000, 8)
    assert images.dtype == factors.dtype == torch.float32
    for img, f in zip(images[:50].reshape(-1, 4, 4), factors[:50]):
        for r in range(4):
            if f[r] == 1:
                assert bool((img[r, :] == 1).all())  # horizontal bar r fills row r
        for c in range(4):
            if f[4 + c] == 1:
                assert bool((img[:, c] == 1).all())  # vertical bar c fills column c
        expected = torch.maximum(f[:4, None].expand(4, 4), f[None, 4:].expand(4, 4))
        assert torch.equal(img, expected)
    assert images.max().item() == 1.0  # a crossing stays 1


def test_make_bars_is_seeded_and_has_the_right_rate():
    a, fa = I.make_bars(20000, seed=3)
    b, fb = I.make_bars(20000, seed=3)
    c, _ = I.make_bars(20000, seed=4)
    assert torch.equal(a, b) and torch.equal(fa, fb)
    assert not torch.equal(a, c)
    assert torch.allclose(fa.mean(0), torch.full((16,), 1 / 8), atol=0.01)


def test_make_bars_extreme_probabilities():
    images, factors = I.make_bars(5, size=3, p=0.0)
    assert images.sum() == 0 and factors.sum() == 0
    images, factors = I.make_bars(5, size=3, p=1.0)
    assert bool((images == 1).all()) and bool((factors == 1).all())


@pytest.mark.parametrize("kwargs, text", [
    (dict(n=0), "n must be a positive integer"),
    (dict(n=3, size=0), "size must be a positive integer"),
    (dict(n=3, p=1.5), r"p is a probability and must lie in \[0, 1\]"),
])
def test_make_bars_errors(kwargs, text):
    with pytest.raises(ValueError, match=text):
        I.make_bars(**kwargs)


def test_bar_images_match_single_bar_data():
    bars = I.bar_images(3)
    assert bars.shape == (6, 9)
    assert bars[0].reshape(3, 3)[0].tolist() == [1, 1, 1] and bars[0].sum() == 3
    assert bars[4].reshape(3, 3)[:, 1].tolist() == [1, 1, 1] and bars[4].sum() == 3


# ------------------------------------------------------------------ factor correlations


def test_factor_correlations_hand_case():
    F = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    Z = torch.stack([F[:, 0] * 2 + 1, 1 - F[:, 1], torch.zeros(4), torch.tensor([1.0, 2.0, 3.0, 4.0])], dim=1)
    C = I.factor_correlations(Z, F)
    assert C.shape == (2, 4)
    assert C[0, 0].item() == pytest.approx(1.0)
    assert C[1, 1].item() == pytest.approx(-1.0)
    assert C[:, 2].tolist() == [0.0, 0.0]  # a dead latent has no correlation
    # corr(F0, [1, 2, 3, 4]): F0 centred = [.5, -.5, .5, -.5], z centred = [-1.5, -.5, .5, 1.5];
    # sum of products = -1, norms 1 and sqrt(5)
    assert C[0, 3].item() == pytest.approx(-1 / math.sqrt(5.0))
    assert I.factor_match_score(Z, F) == pytest.approx(1.0)


def test_factor_match_score_mixed_code():
    F = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    Z = (F[:, 0] + F[:, 1])[:, None]  # one latent = sum of both factors
    # corr(F_b, F_0 + F_1) = cov / (0.5 * sqrt(0.5)) with cov = 0.25 -> 1 / sqrt(2)
    assert I.factor_match_score(Z, F) == pytest.approx(1 / math.sqrt(2))


def test_factor_match_score_constant_factor_counts_zero():
    F = torch.tensor([[1.0, 1.0], [0.0, 1.0], [1.0, 1.0]])
    Z = F[:, :1].clone()
    assert I.factor_match_score(Z, F) == pytest.approx(0.5)


def test_factor_correlations_errors():
    with pytest.raises(ValueError, match="Z has 3 samples but factors has 2"):
        I.factor_correlations(torch.zeros(3, 1), torch.zeros(2, 1))
    with pytest.raises(ValueError, match=r"factors must be a tensor of shape"):
        I.factor_correlations(torch.zeros(3, 1), torch.zeros(3))


# ------------------------------------------------------------------ toy patterns


def test_toy_dataset():
    X, which = I.toy_dataset(200, seed=0)
    assert X.shape == (200, 4) and which.shape == (200,)
    scale = X.sum(1) / I.TOY_PATTERNS[which].sum(1)
    assert torch.allclose(X, I.TOY_PATTERNS[which] * scale[:, None])
    assert 0.5 <= scale.min().item() and scale.max().item() <= 1.5
    assert set(which.tolist()) == {0, 1, 2}


@pytest.mark.parametrize("kwargs", [dict(), dict(activation="topk", k=1, pre_bias=True),
                                    dict(l1=0.1, unit_norm_decoder=True)])
def test_batched_toy_training_equals_training_one_by_one(kwargs):
    X, _ = I.toy_dataset(60, seed=1)
    together = I.train_toy_models(X, [0, 1, 2], steps=40, **kwargs)
    for seed, model in zip([0, 1, 2], together):
        alone = I.train_toy_models(X, [seed], steps=40, **kwargs)[0]
        for a, b in zip(model.parameters(), alone.parameters()):
            assert torch.allclose(a, b, atol=1e-5)


def test_toy_training_learns_and_returns_course_models():
    X, _ = I.toy_dataset(120, seed=0)
    untrained = I.train_toy_models(X, [0], steps=0, pre_bias=True)[0]
    trained = I.train_toy_models(X, [0], steps=300, pre_bias=True)[0]
    assert isinstance(trained, Autoencoder) and trained.pre_bias
    with torch.no_grad():
        err = lambda m: (m(X)[0] - X).pow(2).sum(1).mean().item()
        assert err(trained) < 0.2 * err(untrained)
    assert I.activation_table(trained).shape == (4, 3)


def test_toy_training_rejects_other_activations():
    with pytest.raises(ValueError, match="activation must be 'relu' or 'topk'"):
        I.train_toy_models(torch.ones(3, 4), [0], activation="sigmoid")


def _trained_by_the_course_loop(X, seed, steps, *, activation="relu", k=None, l1=0.0, unit_norm_decoder=False,
                                pre_bias=False, lr=1e-2):
    """One real Autoencoder trained by course_lib.train.train, one full batch per epoch."""
    model = Autoencoder(X.shape[1], 4, activation, k=k, unit_norm_decoder=unit_norm_decoder,
                        pre_bias=pre_bias, seed=seed)
    if pre_bias:
        model.init_pre_bias(X)
    train(model, X, epochs=steps, batch_size=len(X), lr=lr, penalty=lambda z, m: l1_penalty(z, l1), progress=False)
    return model


@pytest.mark.parametrize("kwargs", [dict(pre_bias=True), dict(activation="topk", k=1, pre_bias=True),
                                    dict(l1=0.1, unit_norm_decoder=True, pre_bias=True)])
def test_toy_training_equals_the_course_training_loop_per_model(kwargs):
    X, _ = I.toy_dataset(60, seed=2)
    together = I.train_toy_models(X, [0, 5], steps=40, **kwargs)
    for seed, model in zip([0, 5], together):
        reference = _trained_by_the_course_loop(X, seed, 40, **kwargs)
        for (name, a), b in zip(model.named_parameters(), reference.parameters()):
            assert torch.allclose(a, b, atol=1e-5), name


def test_unit_norm_toy_training_keeps_every_seeds_decoder_columns_at_unit_norm():
    X, _ = I.toy_dataset(60, seed=0)
    for model in I.train_toy_models(X, [0, 1, 2], steps=30, l1=0.1, unit_norm_decoder=True):
        assert model.unit_norm_decoder
        assert torch.allclose(model.decoder_weight.norm(dim=0), torch.ones(4), atol=1e-5)


def test_toy_training_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    I.train_toy_models(torch.ones(5, 4), [0, 1], steps=2)
    assert torch.equal(torch.rand(3), expected)


def test_one_latent_per_pattern():
    clean = torch.tensor([[0.9, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 1.2, 0.0], [0.0, 0.0, 0.7]])
    assert I.one_latent_per_pattern(clean)
    shared = torch.tensor([[0.9, 0.0, 0.85], [0.0, 0.8, 0.6], [0.0, 0.7, 0.0], [0.2, 0.0, 0.0]])
    assert not I.one_latent_per_pattern(shared)  # the illustrative table: C uses two latents
    same_owner = torch.tensor([[0.9, 0.8, 0.0], [0.0, 0.0, 0.7]])
    assert not I.one_latent_per_pattern(same_owner)
    tiny_extra = clean.clone()
    tiny_extra[1, 0] = 0.005  # below 1% of the largest entry: ignored
    assert I.one_latent_per_pattern(tiny_extra)
    assert not I.one_latent_per_pattern(torch.zeros(4, 3))


def test_format_tables_side_by_side():
    text = I.format_tables({"first": torch.eye(4, 3), "second": 2 * torch.eye(4, 3)})
    lines = text.splitlines()
    assert lines[0].startswith("first") and "second" in lines[0]
    assert lines[2].startswith("lat1") and "1.00" in lines[2] and "2.00" in lines[2]
    assert len(lines) == 6


# ------------------------------------------------------------------ figures and the explorer


def _small_model_and_data():
    gen = torch.Generator().manual_seed(0)
    X = torch.rand(40, 16, generator=gen)
    y = torch.arange(40) % 4
    model = Autoencoder(16, 6, "relu", seed=0)
    return model, X, y


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts] + [ax.get_title() for ax in fig.axes]


def test_latent_figure_has_all_panels():
    model, X, y = _small_model_and_data()
    Z = model.encode(X).detach()
    fig = I.latent_figure(model.features()[2], Z[:, 2], X, y, 2, n_top=6, model_name="m")
    texts = _texts(fig)
    assert fig._suptitle.get_text() == "m: latent 2"
    assert "decoder feature" in texts
    assert any(t.startswith("per class (selectivity") for t in texts)
    assert any(t.startswith("non-zero on") for t in texts)
    top = I.top_activating_examples(Z, 2, 6)
    assert sum(t.startswith("z=") or "\nz=" in t for t in texts) == 6
    assert f"z={Z[top[0], 2]:.2f}" in " ".join(texts)  # the largest activation is shown


def test_lesson_figures_build():
    model, X, y = _small_model_and_data()
    Z = model.encode(X).detach()
    fig = I.compare_features({"a": model.features(), "b": model.features()}, n=4)
    assert len(fig.axes) == 2 and [ax.get_ylabel() for ax in fig.axes] == ["a", "b"]
    assert [t for t in _texts(fig) if t.startswith("latent")] == ["latent 0", "latent 1", "latent 2", "latent 3"]
    fig = I.top_examples_figure(Z, X, y, [0, 1], features=model.features(), n=3)
    assert len(fig.axes) == 4  # per latent: its feature and a mosaic of its top inputs
    assert fig.axes[0].get_ylabel().startswith("latent 0\nnon-zero on")
    assert I.selectivity_histogram({"a": torch.rand(10)}).axes[0].get_legend() is not None
    Xb, Fb = I.make_bars(200, size=4, p=0.25, seed=0)
    bars_model = Autoencoder(16, 8, "relu", seed=0)
    fig = I.matched_features_figure({"m": (bars_model.features(), bars_model.encode(Xb).detach())}, Fb)
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "m"
    assert len(fig.axes[1].texts) == 8  # one |correlation| per bar


def test_mosaic_scales_each_diverging_tile_on_its_own():
    fig, ax = plt.subplots()
    tiles = torch.stack([torch.full((2, 2), 4.0), torch.full((2, 2), -0.5)]).numpy()
    _draw_mosaic(ax, tiles, diverging=True)
    canvas = ax.images[0].get_array()
    values = sorted(set(float(v) for v in canvas.compressed()))
    assert values == [-1.0, 1.0]


def test_explorer_slider_updates_state():
    model, X, y = _small_model_and_data()
    explorer = I.explore(model, X, y, n_top=5, interactive=True, latent=0)
    assert explorer.widget is not None and explorer.latent == 0
    explorer.slider.value = 3
    Z = model.encode(X).detach()
    assert explorer.latent == 3
    assert torch.equal(explorer.top_indices, I.top_activating_examples(Z, 3, 5))
    assert "latent 3" in explorer.summary.value
    assert "latent 3" in explorer.figure._suptitle.get_text()


def test_no_widget_when_outputs_are_saved_for_reading(monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "0")
    monkeypatch.setenv("COURSE_STATIC_OUTPUT", "1")
    assert not I.widgets_available()
    model, X, y = _small_model_and_data()
    assert I.explore(model, X, y, n_top=5).widget is None


def test_explorer_static_mode_and_default_latent():
    model, X, y = _small_model_and_data()
    explorer = I.explore(model, X, y, interactive=False)
    Z = model.encode(X).detach()
    assert explorer.widget is None
    assert explorer.latent == int(Z.abs().sum(0).argmax())
    assert explorer.figure is not None
    with pytest.raises(ValueError, match="latent must be in 0..5"):
        I.explore(model, X, y, interactive=False, latent=6)


def test_widgets_unavailable_in_fast_mode_and_outside_a_kernel(monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "1")
    assert not I.widgets_available()
    monkeypatch.setenv("COURSE_FAST", "0")
    assert not I.widgets_available()  # pytest is not a Jupyter kernel


# ------------------------------------------------------------------ the package and its modules

PUBLIC_API = {  # the names course notebooks, checks and tests use; the split must keep all of them
    "LatentExplorer", "TOY_NAMES", "TOY_PATTERNS", "activation_table", "bar_images",
    "BARS_GOAL", "bars_goal", "class_mean_activation", "class_selectivity", "compare_features", "explore", "feature_dashboard",
    "factor_correlations", "factor_match_score", "factor_match_score_one_to_one",
    "factor_matches_one_to_one", "shuffled_label_selectivity", "format_tables", "latent_figure", "make_bars",
    "matched_features_figure", "one_latent_per_pattern", "selectivity_histogram", "selectivity_null_figure",
    "top_activating_examples", "top_examples_figure", "toy_dataset", "train_toy_models",
    "widgets_available",
}
SUBMODULES = ("measures", "datasets", "toy", "figures", "widgets", "dashboard")


def test_package_exports_the_same_public_api():
    assert len(I.__all__) == len(set(I.__all__)) and set(I.__all__) == PUBLIC_API
    assert all(hasattr(I, name) for name in PUBLIC_API)


def test_every_public_name_comes_from_exactly_one_submodule():
    owners = {}
    for sub in SUBMODULES:
        module = importlib.import_module(f"course_lib.interpret.{sub}")
        for name in module.__all__:
            assert name not in owners, f"{name} is exported by both {owners.get(name)} and {sub}"
            owners[name] = sub
            assert getattr(I, name) is getattr(module, name)
    assert set(owners) == PUBLIC_API


# ---------------------------------------------------------------- one-to-one matching, null baseline


def test_one_to_one_factor_score_does_not_credit_a_latent_twice():
    torch.manual_seed(0)
    F = (torch.rand(500, 2) < 0.3).float()
    mixed = F.sum(1, keepdim=True)                     # one latent tracking both factors
    Z = torch.cat([mixed, torch.rand(500, 1)], dim=1)  # and one latent of noise
    assert I.factor_match_score(Z, F) > 0.65            # both factors pick the mixed latent
    latent, corr = I.factor_matches_one_to_one(Z, F)
    assert sorted(latent.tolist()) == [0, 1]            # each latent serves one factor only
    assert I.factor_match_score_one_to_one(Z, F) < 0.5  # the noise latent earns almost nothing
    assert I.factor_match_score_one_to_one(Z, F) == pytest.approx(corr.mean().item())


def test_one_to_one_factor_score_is_1_for_a_permuted_exact_code():
    F = (torch.rand(300, 4, generator=torch.Generator().manual_seed(1)) < 0.4).float()
    Z = 2.0 * F[:, [2, 0, 3, 1]]
    assert I.factor_match_score_one_to_one(Z, F) == pytest.approx(1.0, abs=1e-5)
    assert I.factor_matches_one_to_one(Z, F)[0].tolist() == [1, 3, 0, 2]


def test_one_to_one_factor_score_with_fewer_latents_than_factors():
    F = (torch.rand(300, 4, generator=torch.Generator().manual_seed(2)) < 0.4).float()
    latent, corr = I.factor_matches_one_to_one(F[:, :2], F)
    assert latent.tolist() == [0, 1, -1, -1] and corr[2:].tolist() == [0.0, 0.0]
    assert I.factor_match_score_one_to_one(F[:, :2], F) == pytest.approx(0.5, abs=1e-5)


def test_shuffled_label_selectivity_is_higher_for_rare_latents():
    gen = torch.Generator().manual_seed(0)
    y = torch.randint(0, 10, (5000,), generator=gen)
    Z = torch.zeros(5000, 2)
    Z[torch.randperm(5000, generator=gen)[:20], 0] = 1.0    # fires on 20 random images
    Z[torch.randperm(5000, generator=gen)[:1000], 1] = 1.0  # fires on 1000 random images
    null = I.shuffled_label_selectivity(Z, y, 10, n_shuffles=20, seed=0)
    assert null.shape == (20, 2)
    rare, common = null.mean(0).tolist()
    assert 0.08 < rare < 0.2 and common < 0.01 and rare > 10 * common  # chance makes rare latents selective
    assert (I.class_selectivity(Z, y, 10) - null.mean(0)).abs().max() < 0.1  # random latents: at chance
    top_share = lambda Z, y, C: I.class_mean_activation(Z, y, C).div(I.class_mean_activation(Z, y, C).sum(0)).amax(0)
    rare, common = I.shuffled_label_selectivity(Z, y, 10, n_shuffles=20, measure=top_share).mean(0).tolist()
    assert 0.2 < rare < 0.4 and 0.1 < common < 0.15          # lesson 06's largest class share: ~0.28 vs ~0.12


def test_shuffled_label_selectivity_takes_another_measure_and_rejects_bad_input():
    Z = torch.rand(50, 3)
    y = torch.arange(50) % 5
    null = I.shuffled_label_selectivity(Z, y, 5, n_shuffles=3, measure=lambda Z, y, C: Z[y == 0].mean(0))
    assert null.shape == (3, 3)
    assert torch.equal(null, I.shuffled_label_selectivity(Z, y, 5, n_shuffles=3, seed=0,
                                                         measure=lambda Z, y, C: Z[y == 0].mean(0)))
    with pytest.raises(ValueError, match="n_shuffles"):
        I.shuffled_label_selectivity(Z, y, 5, n_shuffles=0)
    with pytest.raises(ValueError, match="shape"):
        I.shuffled_label_selectivity(Z, y[:10], 5)


def test_one_to_one_matched_features_and_null_figures_build():
    Xb, Fb = I.make_bars(200, size=4, p=0.25, seed=0)
    bars_model = Autoencoder(16, 8, "relu", seed=0)
    Z = bars_model.encode(Xb).detach()
    fig = I.matched_features_figure({"m": (bars_model.features(), Z)}, Fb, one_to_one=True)
    _, corr = I.factor_matches_one_to_one(Z, Fb)
    assert [t.get_text() for t in fig.axes[1].texts] == [f"{c:.2f}" for c in corr.tolist()]
    assert "one-to-one" in fig._suptitle.get_text()
    null = I.shuffled_label_selectivity(Z, Fb[:, 0].long(), 2, n_shuffles=3)
    fig = I.selectivity_null_figure({"m": I.class_selectivity(Z, Fb[:, 0].long(), 2)}, {"m": null},
                                    {"m": (Z > 0).sum(0)}, n_inputs=200)
    assert fig.axes[0].get_title() == "m" and fig.axes[0].get_xscale() == "log"


def test_explorer_shows_its_figure_as_a_plain_output(monkeypatch):
    from IPython import display as ipd
    shown = []

    class Handle:
        def update(self, obj):
            shown.append(("update", obj))

    def fake_display(obj, display_id=None):
        shown.append(("display", obj))
        return Handle() if display_id else None

    monkeypatch.setattr(ipd, "display", fake_display)
    model, X, y = _small_model_and_data()
    explorer = I.explore(model, X, y, n_top=5, interactive=True, latent=0)
    explorer._ipython_display_()
    assert [kind for kind, _ in shown] == ["display", "display"]
    assert shown[0][1] is explorer.widget and shown[1][1] is explorer.figure  # the figure is no widget
    explorer.slider.value = 2
    assert shown[-1] == ("update", explorer.figure) and explorer.latent == 2
