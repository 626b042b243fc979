"""The K-sparse recipe: dead-latent tracking, the AuxK loss, initialisation and training."""
from __future__ import annotations

import pytest
import torch

from course_lib import metrics, topk
from course_lib.data import load_fashion_mnist
from course_lib.sparsity import topk_activation


# ---------------------------------------------------------------- dead_latents


def test_dead_latents_by_hand():
    last_fired = torch.tensor([0, 500, 1000, 1001, 3000])
    assert topk.dead_latents(last_fired, 3000, 2000).tolist() == [True, True, True, False, False]
    assert topk.dead_latents(last_fired, 1999, 2000).tolist() == [False] * 5
    assert topk.dead_latents(last_fired, 3000, 2000).dtype == torch.bool


def test_dead_latents_rejects_a_zero_window():
    with pytest.raises(ValueError, match="window must be a positive"):
        topk.dead_latents(torch.zeros(3), 10, 0)


# ---------------------------------------------------------------- auxk_loss


def test_auxk_loss_by_hand():
    residual = torch.tensor([[1.0, 0.0]])
    pre_act = torch.tensor([[0.5, 3.0]])
    W = torch.eye(2)
    # latent 0 is dead and reconstructs 0.5 of the residual's first pixel: error 0.25 / energy 1
    loss = topk.auxk_loss(residual, pre_act, torch.tensor([True, False]), W, 1)
    assert loss.item() == pytest.approx(0.25)
    # with latent 1 also dead the top-1 dead latent is latent 1 (3.0), which points the wrong way
    loss = topk.auxk_loss(residual, pre_act, torch.tensor([True, True]), W, 1)
    assert loss.item() == pytest.approx((1.0 + 9.0) / 1.0)
    # k_aux larger than the number of dead latents uses them all
    loss = topk.auxk_loss(residual, pre_act, torch.tensor([True, True]), W, 5)
    assert loss.item() == pytest.approx((0.25 + 9.0) / 1.0)


def test_auxk_loss_is_zero_without_dead_latents():
    residual, pre_act = torch.rand(4, 5), torch.rand(4, 3)
    loss = topk.auxk_loss(residual, pre_act, torch.zeros(3, dtype=torch.bool), torch.rand(5, 3), 2)
    assert loss.item() == 0.0 and loss.shape == ()


def test_auxk_loss_is_one_when_dead_latents_are_all_negative():
    residual = torch.rand(4, 5)
    pre_act = -torch.rand(4, 3) - 0.1
    loss = topk.auxk_loss(residual, pre_act, torch.ones(3, dtype=torch.bool), torch.rand(5, 3), 2)
    assert loss.item() == pytest.approx(1.0)


def test_auxk_gradient_reaches_only_the_dead_latents():
    gen = torch.Generator().manual_seed(0)
    residual = torch.rand(6, 5, generator=gen)
    pre_act = torch.rand(6, 4, generator=gen).requires_grad_(True)
    W = torch.rand(5, 4, generator=gen).requires_grad_(True)
    dead = torch.tensor([True, False, True, False])
    topk.auxk_loss(residual, pre_act, dead, W, 2).backward()
    assert (pre_act.grad[:, dead].abs().sum(0) > 0).all()
    assert (pre_act.grad[:, ~dead] == 0).all()
    assert (W.grad[:, dead].abs().sum(0) > 0).all() and (W.grad[:, ~dead] == 0).all()


@pytest.mark.parametrize("dead, k_aux, match", [
    (torch.ones(3), 2, "bool mask"),
    (torch.ones(4, dtype=torch.bool), 2, "bool mask"),
    (torch.ones(3, dtype=torch.bool), 0, "k_aux must be a positive integer"),
])
def test_auxk_loss_rejects_bad_arguments(dead, k_aux, match):
    with pytest.raises(ValueError, match=match):
        topk.auxk_loss(torch.rand(2, 5), torch.rand(2, 3), dead, torch.rand(5, 3), k_aux)


# ---------------------------------------------------------------- the AuxK extra loss


def _model(n_in=6, n_latent=5, k=2):
    gen = torch.Generator().manual_seed(1)
    X = torch.rand(32, n_in, generator=gen)
    return topk.make_topk_sae(n_in, n_latent, k, X=X), X


def test_auxk_tracker_marks_the_latents_that_fire():
    model, X = _model()
    aux = topk.AuxK(model.n_latent, k_aux=3, window=100)
    z = torch.tensor([[1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0, 0.0]])
    loss = aux(X[:2], X[:2], z, model)
    assert aux.seen == 2 and aux.last_fired.tolist() == [2, 0, 2, 0, 0]
    assert loss.item() == 0.0 and aux.dead_history == [0]  # nobody has been silent for 100 samples
    aux.seen = 150
    aux(X[:2], X[:2] * 0, torch.zeros(2, 5), model)
    assert aux.dead().tolist() == [True] * 5 and aux.dead_history[-1] == 5


def test_auxk_loss_reaches_dead_latents_through_the_model():
    model, X = _model()
    aux = topk.AuxK(model.n_latent, k_aux=3, coef=0.5, window=50)
    aux.last_fired = torch.tensor([100, 0, 100, 0, 0])
    aux.seen = 100  # after this batch of 32: latents 1, 3, 4 silent for 132 samples, 0 and 2 for 32
    x_hat, z = model(X)
    z = torch.zeros_like(z)  # nothing fires in this batch either
    loss = aux(X, x_hat.detach(), z, model)
    assert loss.item() > 0
    loss.backward()
    grad = model.encoder.weight.grad
    assert (grad[[1, 3, 4]].abs().sum(1) > 0).all() and (grad[[0, 2]] == 0).all()


def test_auxk_matches_the_loss_on_the_full_code():
    model, X = _model(n_in=8, n_latent=6, k=2)
    aux = topk.AuxK(model.n_latent, k_aux=2, coef=0.25, window=30)
    aux.last_fired = torch.tensor([0, 50, 0, 50, 0, 50])
    aux.seen = 40  # after this batch of 32: silent for 72 samples (dead) or 22 (alive)
    x_hat, z = model(X)
    z = z.detach() * 0
    got = aux(X, x_hat.detach(), z, model)
    dead = torch.tensor([True, False, True, False, True, False])
    residual = (X - x_hat).detach()
    want = 0.25 * residual.pow(2).sum(-1).mean() * topk.auxk_loss(
        residual, model.pre_activation(X), dead, model.decoder_weight, 2)
    assert got.item() == pytest.approx(want.item(), rel=1e-5)


def test_auxk_with_zero_coef_only_tracks():
    model, X = _model()
    aux = topk.AuxK(model.n_latent, coef=0.0, window=1)
    assert aux(X, X * 0, torch.zeros(len(X), 5), model).item() == 0.0
    assert aux.dead_history == [5]


def test_auxk_uses_the_functions_it_is_given():
    model, X = _model()
    calls = []

    def my_dead(last_fired, step, window):
        calls.append("dead")
        return topk.dead_latents(last_fired, step, window)

    def my_loss(*args):
        calls.append("loss")
        return topk.auxk_loss(*args)

    aux = topk.AuxK(model.n_latent, window=1, dead_fn=my_dead, loss_fn=my_loss)
    x_hat, z = model(X)
    assert aux(X, x_hat, torch.zeros_like(z), model).item() > 0
    assert calls == ["dead", "loss"]


def test_auxk_rejects_a_negative_coef():
    with pytest.raises(ValueError, match="coef"):
        topk.AuxK(4, coef=-1.0)


# ---------------------------------------------------------------- initialisation and training


def test_make_topk_sae_follows_the_recipe():
    X = torch.rand(50, 12, generator=torch.Generator().manual_seed(2))
    model = topk.make_topk_sae(12, 20, 3, X=X, encoder_scale=0.1)
    W = model.decoder_weight.detach()
    assert torch.allclose(W.norm(dim=0), torch.ones(20), atol=1e-6)
    assert torch.allclose(model.encoder.weight.detach(), 0.1 * W.t())
    assert (model.encoder.bias == 0).all()
    assert torch.allclose(model.b_dec.detach(), X.mean(0))
    assert model.activation == "topk" and model.k == 3 and model.pre_bias and model.unit_norm_decoder
    assert metrics.l0(model.encode(X)) <= 3


def test_encode_with_k_changes_only_the_number_of_active_latents():
    X = torch.rand(40, 12, generator=torch.Generator().manual_seed(3))
    model = topk.make_topk_sae(12, 20, 3, X=X, encoder_scale=1.0)
    assert torch.equal(topk.encode_with_k(model, X, 3), model.encode(X).detach())
    Z = topk.encode_with_k(model, X, 8, batch_size=7)
    assert Z.shape == (40, 20) and (Z != 0).sum(1).max().item() <= 8
    assert (Z != 0).sum(1).float().mean().item() > 3


@pytest.fixture(scope="module")
def fashion():
    X, _ = load_fashion_mnist("train")
    X_test, _ = load_fashion_mnist("test")
    return X, X_test


def test_only_auxk_moves_the_weights_of_dead_latents(fashion):
    """Latents 0-15 start with tiny encoder rows, so they never make the top k: without AuxK they
    get no gradient at all (their encoder rows stay exactly as they were); AuxK reaches them."""
    X = fashion[0][:2048]
    for use_aux in (False, True):
        model = topk.make_topk_sae(784, 64, 4, X=X, seed=0)
        with torch.no_grad():
            model.encoder.weight[:16] *= 0.01
        before = model.encoder.weight[:16].clone()
        history = topk.train_topk(model, X, epochs=2, auxk=use_aux, seed=0, progress=False)
        assert len(history["dead"]) == 2 * 2048 // 256 and isinstance(history["auxk"], topk.AuxK)
        assert history["dead"][0] == 0 and history["dead"][-1] > 0  # window: 2000 samples
        if not use_aux:
            assert history["dead"][-1] >= 16
        moved = not torch.equal(before, model.encoder.weight[:16])
        assert moved == use_aux
        assert (history["extra"][-1] > 0) == use_aux


def test_auxk_revives_dead_latents(fashion):
    """The lesson's setting: 784 -> 512, k = 32, 30k images, 5 epochs; dead measured on test."""
    X, X_test = fashion[0][:30_000], fashion[1]
    dead = {}
    for use_aux in (False, True):
        model = topk.make_topk_sae(784, 512, 32, X=X, seed=0)
        topk.train_topk(model, X, epochs=5, auxk=use_aux, seed=0, progress=False)
        dead[use_aux] = metrics.evaluate(model, X_test)["dead_fraction"]
    assert dead[False] > 0.15
    assert dead[True] < 0.06


# ---------------------------------------------------------------- TopKSAE


def test_topk_sae_initialisation_and_forward():
    torch.manual_seed(0)
    model = topk.TopKSAE(12, 20, 3)
    W = model.decoder.weight
    assert W.shape == (12, 20) and model.decoder.bias is None
    assert torch.allclose(W.norm(dim=0), torch.ones(20), atol=1e-6)
    assert torch.equal(model.encoder.weight, W.t()) and not model.encoder.bias.any()
    x = torch.rand(5, 12)
    with torch.no_grad():
        model.b_pre.fill_(0.5)
    x_hat, z = model(x)
    assert ((z != 0).sum(1) <= 3).all() and (z >= 0).all()
    pre = model.encoder(x - 0.5)
    assert torch.allclose(z, torch.relu(topk_activation(pre, 3)))
    assert torch.allclose(x_hat, z @ W.t() + 0.5, atol=1e-6)
    with pytest.raises(ValueError, match="k must be an integer"):
        topk.TopKSAE(12, 20, 0)


def test_topk_sae_step_keeps_unit_columns_and_trains():
    X = load_fashion_mnist("train", device="cpu")[0][:512]
    torch.manual_seed(0)
    model = topk.TopKSAE(784, 64, 8)
    history = topk.train_topk_sae(model, X, epochs=3, lr=3e-3, progress=False)
    assert history["loss"][-1] < history["loss"][0]
    assert torch.allclose(model.decoder.weight.norm(dim=0), torch.ones(64), atol=1e-5)
    assert torch.allclose(model.b_pre.detach(), X.mean(0), atol=0.2)
