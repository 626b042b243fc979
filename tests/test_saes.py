"""course_lib.saes: every family's shapes and gradients, small cases computed by hand, training."""
from __future__ import annotations

import math

import pytest
import torch

from course_lib import metrics, saes
from course_lib.saes import batch_topk, jumprelu, matryoshka_loss, step

D, N = 6, 16
KWARGS = {"L1": {"lam": 0.1}, "TopK": {"k": 3}, "BatchTopK": {"k": 3}, "JumpReLU": {"lam": 0.1},
          "Gated": {"lam": 0.1}, "Matryoshka": {"k": 3, "prefixes": [2, 4, 8]}}


def _data(n=64, d=D, seed=0, device="cpu"):
    gen = torch.Generator().manual_seed(seed)
    return torch.relu(torch.randn(n, d, generator=gen)).to(device)


# ---------------------------------------------------------------- batch_topk


def test_batch_topk_by_hand():
    z = torch.tensor([[3.0, 2.0], [1.0, 0.5]])
    assert torch.equal(batch_topk(z, 1), torch.tensor([[3.0, 2.0], [0.0, 0.0]]))
    assert torch.equal(batch_topk(z, 2), z)


def test_batch_topk_keeps_k_times_batch_and_the_largest():
    z = torch.randn(8, 20, generator=torch.Generator().manual_seed(1))
    out = batch_topk(z, 3)
    kept = out != 0
    assert int(kept.sum()) == 24 and out.shape == z.shape
    assert z[kept].min() >= z[~kept].max()
    assert torch.equal(out[kept], z[kept])


def test_batch_topk_gradient_only_through_kept_entries():
    z = torch.randn(4, 5, generator=torch.Generator().manual_seed(2), requires_grad=True)
    out = batch_topk(z, 2)
    out.sum().backward()
    assert torch.equal(z.grad, (out != 0).float())


@pytest.mark.parametrize("z, k", [(torch.ones(2, 3), 0), (torch.ones(2, 3), 4), (torch.ones(3), 1),
                                  (torch.ones(2, 3), 1.5)])
def test_batch_topk_rejects_bad_input(z, k):
    with pytest.raises(ValueError):
        batch_topk(z, k)


# ---------------------------------------------------------------- jumprelu and step


def test_jumprelu_and_step_by_hand():
    h = torch.tensor([[1.9, 2.0, 3.0]], requires_grad=True)
    theta = torch.tensor(2.0, requires_grad=True)
    out = jumprelu(h, theta, 0.4)
    assert torch.equal(out.detach(), torch.tensor([[0.0, 0.0, 3.0]]))
    out.sum().backward()
    # |h - theta| / eps = 0.25, 0, 2.5: the first two are inside the kernel's window.
    assert theta.grad.item() == pytest.approx(-(2.0 / 0.4) * 2)
    assert torch.equal(h.grad, torch.tensor([[0.0, 0.0, 1.0]]))
    theta.grad = None
    h.grad = None
    s = step(h, theta, 0.4)
    assert torch.equal(s.detach(), torch.tensor([[0.0, 0.0, 1.0]]))
    s.sum().backward()
    assert theta.grad.item() == pytest.approx(-(1.0 / 0.4) * 2)
    assert torch.equal(h.grad, torch.zeros_like(h))


def test_jumprelu_threshold_gradient_matches_the_smoothed_jump():
    """The straight-through estimate is the derivative of the jump smoothed over a width eps."""
    gen = torch.Generator().manual_seed(3)
    h = 1.0 + 0.2 * torch.rand(4000, 3, generator=gen, dtype=torch.float64)
    theta = torch.full((3,), 1.1, dtype=torch.float64, requires_grad=True)
    eps = 0.01
    jumprelu(h, theta, eps).sum().backward()

    def smoothed(t):  # h * S((h - t) / eps), S the rectangle kernel's CDF
        return (h * ((h - t) / eps + 0.5).clamp(0, 1)).sum(0)

    delta = 1e-4
    numeric = (smoothed(theta.detach() + delta) - smoothed(theta.detach() - delta)) / (2 * delta)
    assert torch.allclose(theta.grad, numeric, rtol=0.02)


def test_threshold_gradient_per_latent_has_the_threshold_shape():
    h = torch.rand(5, 4, generator=torch.Generator().manual_seed(4))
    theta = torch.full((4,), 0.5, requires_grad=True)
    step(h, theta, 0.1).sum().backward()
    assert theta.grad.shape == (4,)


# ---------------------------------------------------------------- matryoshka_loss


def test_matryoshka_loss_by_hand():
    x = torch.tensor([[1.0, 2.0]])
    z = torch.tensor([[1.0, 1.0]])
    # prefix 1 reconstructs [1, 0] (error 4); prefix 2 reconstructs [1, 1] (error 1)
    assert matryoshka_loss(x, z, torch.eye(2), torch.zeros(2), [1, 2]).item() == pytest.approx(2.5)


def test_matryoshka_loss_with_the_whole_dictionary_is_the_reconstruction_error():
    x, z = torch.rand(5, 3), torch.rand(5, 4)
    W, b = torch.rand(3, 4), torch.rand(3)
    assert matryoshka_loss(x, z, W, b, [4]).item() == pytest.approx(
        metrics.reconstruction_error(x, z @ W.t() + b).item())
    with pytest.raises(ValueError, match="increasing"):
        matryoshka_loss(x, z, W, b, [3, 2])


# ---------------------------------------------------------------- the families


def test_gated_encode_by_hand():
    sae = saes.GatedSAE(2, 2, lam=0.1)
    with torch.no_grad():
        sae.encoder.weight.copy_(torch.eye(2))
        sae.encoder.bias.copy_(torch.tensor([0.0, -1.0]))   # b_gate
        sae.r_mag.copy_(torch.tensor([0.0, math.log(2.0)]))
        sae.b_mag.zero_()
        sae.decoder.bias.zero_()
    z = sae.encode(torch.tensor([[1.0, 1.0], [1.0, 2.0]]))
    # gate = [1, 0] then [1, 1]; magnitude = [1, 2] then [1, 4]
    assert torch.allclose(z, torch.tensor([[1.0, 0.0], [1.0, 4.0]]))


def test_l1_loss_by_hand():
    sae = saes.L1SAE(2, 2, lam=0.5)
    with torch.no_grad():
        sae.encoder.weight.copy_(torch.eye(2))
        sae.encoder.bias.zero_()
        sae.decoder.weight.copy_(torch.tensor([[2.0, 0.0], [0.0, 1.0]]))
        sae.decoder.bias.zero_()
    parts = sae.training_loss(torch.tensor([[1.0, 3.0]]))
    # z = [1, 3], x_hat = [2, 3]: error 1; penalty 0.5 * (1 * 2 + 3 * 1) = 2.5
    assert parts["recon"].item() == pytest.approx(1.0)
    assert parts["sparsity"].item() == pytest.approx(2.5)


@pytest.mark.parametrize("family", list(saes.FAMILIES))
def test_shapes_and_gradients(family):
    X = _data()
    sae = saes.make_sae(family, X, N, **KWARGS[family])
    sae.train()
    parts = sae.training_loss(X)
    assert all(v.dim() == 0 and torch.isfinite(v) for v in parts.values())
    parts["loss"].backward()
    for name, p in sae.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert sae.encoder.weight.grad.abs().sum() > 0 and sae.decoder.weight.grad.abs().sum() > 0
    if family == "JumpReLU":
        assert sae.log_threshold.grad.abs().sum() > 0   # the straight-through estimator reaches theta
    sae.after_step(X)
    sae.after_training(X, 64)
    sae.eval()
    x_hat, z = sae(X[:7])
    assert x_hat.shape == (7, D) and z.shape == (7, N) and (z >= 0).all()


@pytest.mark.parametrize("family", list(saes.FAMILIES))
def test_training_lowers_the_loss_and_leaves_eval_mode(family):
    X = _data(512)
    sae = saes.make_sae(family, X, N, **KWARGS[family])
    history = saes.train_sae(sae, X, epochs=4, batch_size=64, lr=3e-3, progress=False)
    assert history["recon"][-1] < history["recon"][0]
    assert not sae.training and len(history["seconds"]) == 4
    Z = metrics.encode_batched(sae, X)
    assert 0 < metrics.l0(Z) < N
    if sae.unit_norm_decoder:
        assert torch.allclose(sae.decoder_weight.norm(dim=0), torch.ones(N), atol=1e-5)


@pytest.mark.parametrize("family", ["TopK", "BatchTopK", "Matryoshka"])
def test_auxk_trains_the_dead_latents_of_every_topk_family(family):
    X = _data(256)
    sae = saes.make_sae(family, X, N, **KWARGS[family])
    dead = torch.arange(N) < 4
    sae.auxk.dead_fn = lambda last_fired, seen, window: dead  # latents 0-3 count as dead
    sae.train()
    losses = sae.training_loss(X[:32])
    assert losses["aux"] > 0
    losses["loss"].backward()
    assert sae.encoder.weight.grad[dead].abs().sum() > 0  # the dead latents' encoder rows learn


def test_topk_codes_have_at_most_k_latents():
    X = _data()
    sae = saes.make_sae("TopK", X, N, k=3)
    assert ((sae.encode(X) > 0).sum(1) <= 3).all()


@pytest.mark.parametrize("family", ["BatchTopK", "Matryoshka"])
def test_batchtopk_threshold_is_estimated_and_used_at_inference(family):
    X = _data(512)
    sae = saes.make_sae(family, X, N, **KWARGS[family])
    with pytest.raises(RuntimeError, match="threshold"):
        sae.eval()(X)
    saes.train_sae(sae, X, epochs=3, batch_size=64, lr=3e-3, progress=False)
    theta = sae.threshold.item()
    assert theta > 0
    Z = sae.encode(X)
    assert (Z[Z > 0] > theta).all()
    # measured with the final weights, the threshold gives the training data about k latents
    # per input on average (a running mean from the first steps leaves it far too high)
    assert metrics.l0(Z) == pytest.approx(3, rel=0.15)


def test_calibrate_threshold_is_the_mean_smallest_kept_value_by_hand():
    sae = saes.BatchTopKSAE(2, 2, k=1)
    with torch.no_grad():   # pre = x exactly: identity encoder, no biases
        sae.encoder.weight.copy_(torch.eye(2))
        sae.encoder.bias.zero_()
        sae.b_dec.zero_()
    X = torch.tensor([[3.0, 2.0], [1.0, 0.5], [4.0, 0.0], [0.0, -1.0]])
    # batches of 2, two entries kept in each: {3, 2} (smallest 2), then {4, 0}, whose only positive is 4
    assert sae.calibrate_threshold(X, batch_size=2) == pytest.approx((2.0 + 4.0) / 2)
    assert sae.threshold.item() == pytest.approx(3.0)
    sae.calibrate_threshold(-X.abs() - 1, batch_size=2)   # nothing positive anywhere: theta 0
    assert sae.threshold.item() == 0.0
    with pytest.raises(ValueError, match="batch_size"):
        sae.calibrate_threshold(X, batch_size=0)
    with pytest.raises(ValueError, match="X"):
        sae.calibrate_threshold(X[0])


def test_matryoshka_defaults_end_with_the_whole_dictionary():
    sae = saes.MatryoshkaSAE(4, 64, k=2)
    assert sae.prefixes == [4, 8, 16, 32, 64]


def test_make_sae_rejects_unknown_family_and_bad_arguments():
    X = _data()
    with pytest.raises(KeyError, match="unknown SAE family"):
        saes.make_sae("Sparse", X, N)
    with pytest.raises(ValueError):
        saes.make_sae("TopK", X, N, k=N + 1)
    with pytest.raises(ValueError):
        saes.make_sae("L1", X, N, lam=-1.0)
    with pytest.raises(ValueError, match="shape"):
        saes.make_sae("L1", X, N, lam=0.1).encode(torch.zeros(3, D + 1))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("family", list(saes.FAMILIES))
def test_every_family_trains_on_cuda(family):
    X = _data(512, device="cuda")
    sae = saes.make_sae(family, X, N, **KWARGS[family])
    assert sae.decoder_weight.is_cuda
    history = saes.train_sae(sae, X, epochs=2, batch_size=64, lr=3e-3, progress=False)
    assert math.isfinite(history["loss"][-1])
    assert metrics.encode_batched(sae, X).is_cuda
