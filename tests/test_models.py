import pytest
import torch

from course_lib.models import Autoencoder


@pytest.mark.parametrize("activation,k", [("relu", None), ("sigmoid", None), ("topk", 5), ("none", None)])
def test_shapes_and_code_ranges(activation, k):
    model = Autoencoder(20, 12, activation, k=k)
    x = torch.rand(7, 20)
    x_hat, z = model(x)
    assert x_hat.shape == (7, 20) and z.shape == (7, 12)
    if activation == "relu":
        assert (z >= 0).all()
    if activation == "sigmoid":
        assert ((z > 0) & (z < 1)).all()
    if activation == "topk":
        assert ((z != 0).sum(1) <= 5).all() and (z >= 0).all()


def test_topk_keeps_the_largest_positive_preactivations():
    model = Autoencoder(6, 10, "topk", k=3)
    x = torch.rand(4, 6)
    h = model.pre_activation(x)
    z = model.encode(x)
    for row_h, row_z in zip(h, z):
        top = row_h.topk(3).indices
        assert torch.equal(row_z[top], row_h[top].clamp_min(0))
        mask = torch.ones(10, dtype=torch.bool)
        mask[top] = False
        assert (row_z[mask] == 0).all()


def test_seed_makes_initialisation_reproducible_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a, b = Autoencoder(8, 4, seed=1), Autoencoder(8, 4, seed=1)
    assert torch.rand(1).item() == before.item()
    assert torch.equal(a.encoder.weight, b.encoder.weight)
    assert not torch.equal(a.encoder.weight, Autoencoder(8, 4, seed=2).encoder.weight)


def test_tied_weights_share_the_encoder_matrix():
    model = Autoencoder(5, 3, tied=True)
    assert model.decoder is None
    assert model.decoder_weight.data_ptr() == model.encoder.weight.data_ptr()
    z = torch.rand(2, 3)
    assert torch.allclose(model.decode(z), z @ model.encoder.weight + model.b_dec)


def test_unit_norm_decoder_and_gradient_projection():
    model = Autoencoder(9, 4, unit_norm_decoder=True)
    assert torch.allclose(model.decoder_weight.norm(dim=0), torch.ones(4))
    loss = model(torch.rand(3, 9))[0].pow(2).sum()
    loss.backward()
    model.project_decoder_grad_()
    W, G = model.decoder.weight, model.decoder.weight.grad
    assert torch.allclose((W * G).sum(0), torch.zeros(4), atol=1e-6)


def test_pre_bias_subtracts_decoder_bias_before_encoding():
    X = torch.rand(50, 6)
    model = Autoencoder(6, 3, pre_bias=True)
    model.init_pre_bias(X)
    assert torch.allclose(model.b_dec, X.mean(0))
    expected = model.encoder(X - X.mean(0))
    assert torch.allclose(model.pre_activation(X), expected)


@pytest.mark.parametrize("bad,match", [
    (torch.rand(4, 28, 28), r"\(batch, 784\).*Flatten"),
    (torch.rand(4, 100), r"expected input of shape \(batch, 784\), got \(4, 100\)"),
])
def test_wrong_input_shape_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        Autoencoder(784, 16)(bad)


def test_wrong_code_shape_and_bad_options():
    model = Autoencoder(10, 4)
    with pytest.raises(ValueError, match=r"code of shape \(batch, 4\)"):
        model.decode(torch.rand(2, 5))
    with pytest.raises(ValueError, match="k must be an integer in 1..4"):
        Autoencoder(10, 4, "topk", k=5)
    with pytest.raises(ValueError, match="k in 1..n_latent"):
        Autoencoder(10, 4, "topk")
    with pytest.raises(ValueError, match="only used with activation='topk'"):
        Autoencoder(10, 4, "relu", k=2)
    with pytest.raises(ValueError, match="activation must be one of"):
        Autoencoder(10, 4, "tanh")
    with pytest.raises(TypeError, match="torch.Tensor"):
        model([[0.0] * 10])
