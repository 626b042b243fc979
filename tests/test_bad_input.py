"""The public API on bad input: a clear error that says what to do, or a correct result.

Each row is one call a learner could make by mistake. ``expect`` is either an exception type with
a pattern its message must match, or a function of the result that must hold (for input the API
should accept: numpy numbers, 0-d tensors, integer or half-precision tensors, float64).
"""
import math

import numpy as np
import pytest
import torch

from course_lib import config, metrics, sparsity
from course_lib.models import Autoencoder
from course_lib.train import TrainingDiverged, train

E = torch.zeros(0, 4)                      # an empty batch
Z = torch.tensor([[0.0, 1.5, 0.0, 0.5], [2.0, 0.0, 0.0, 0.0]])
X = torch.rand(64, 9, generator=torch.Generator().manual_seed(0))
P = torch.full((8, 4), 0.2)               # sigmoid-like codes
RHO_HAT = torch.tensor([0.1, 0.3])


def _model(**kw):
    return Autoencoder(9, 4, **kw)


def _train(**kw):
    args = {"X": X, "epochs": 1, "progress": False} | kw
    return train(_model(), args.pop("X"), **args)


def close(value):
    return lambda out: math.isclose(float(out), value, rel_tol=1e-5, abs_tol=1e-7)


def code_of(shape):
    return lambda out: out[1].shape == shape and out[1].dtype == torch.float32 and torch.isfinite(out[0]).all()


CASES = {
    # empty batches: a mean over nothing
    "l1 on empty batch": (lambda: sparsity.l1_penalty(E, 0.1), (ValueError, "empty batch")),
    "l2 on empty batch": (lambda: sparsity.l2_penalty(E, 0.1), (ValueError, "empty batch")),
    "mean_activation on empty batch": (lambda: sparsity.mean_activation(E), (ValueError, "empty batch")),
    "KL penalty on empty batch": (lambda: sparsity.kl_sparsity_penalty(E, 0.1, 1.0), (ValueError, "empty batch")),
    "l0 on empty batch": (lambda: metrics.l0(E), (ValueError, "empty batch")),
    "dead_fraction on empty batch": (lambda: metrics.dead_fraction(E), (ValueError, "empty batch")),
    "lifetime sparsity on empty batch": (lambda: metrics.lifetime_sparsity(E), (ValueError, "empty batch")),
    "reconstruction error on empty batch": (lambda: metrics.reconstruction_error(E, E), (ValueError, "empty batch")),
    "init_pre_bias on empty X": (lambda: _model(pre_bias=True).init_pre_bias(torch.zeros(0, 9)),
                                 (ValueError, "at least one sample")),
    "train on empty X": (lambda: _train(X=torch.zeros(0, 9)), (ValueError, "X is an empty batch")),
    # weights: negative, NaN, infinite, not numbers
    "negative lambda": (lambda: sparsity.l1_penalty(Z, -0.1), (ValueError, "lam must be a finite number >= 0")),
    "NaN lambda": (lambda: sparsity.l1_penalty(Z, float("nan")), (ValueError, "lam must be a finite number")),
    "infinite lambda": (lambda: sparsity.l2_penalty(Z, float("inf")), (ValueError, "lam must be a finite")),
    "lambda as a string": (lambda: sparsity.l1_penalty(Z, "0.1"), (TypeError, "lam must be a number")),
    "lambda as a bool": (lambda: sparsity.l1_penalty(Z, True), (TypeError, "lam must be a number")),
    "lambda as a vector": (lambda: sparsity.l1_penalty(Z, torch.ones(2)), (TypeError, "single number")),
    "negative beta": (lambda: sparsity.kl_sparsity_penalty(P, 0.1, -1.0), (ValueError, "beta must be a finite")),
    "NaN beta": (lambda: sparsity.kl_sparsity_penalty(P, 0.1, float("nan")), (ValueError, "beta must be")),
    "negative decoder-weighted lambda": (lambda: sparsity.decoder_weighted_l1(Z, torch.ones(3, 4), -1),
                                         (ValueError, "lam must be")),
    "negative weight decay": (lambda: _train(weight_decay=-1e-3), (ValueError, "weight_decay must be")),
    # numbers in other clothes are accepted
    "numpy float lambda": (lambda: sparsity.l1_penalty(Z, np.float32(0.1)), close(0.2)),
    "0-d tensor lambda": (lambda: sparsity.l1_penalty(Z, torch.tensor(0.1)), close(0.2)),
    "integer lambda": (lambda: sparsity.l1_penalty(Z, 1), close(2.0)),
    "numpy integer k": (lambda: sparsity.topk_activation(Z, np.int64(1)), lambda out: (out != 0).sum() == 2),
    "numpy integer k for a model": (lambda: _model(activation="topk", k=np.int64(2))(X), code_of((64, 4))),
    "numpy integer epochs": (lambda: _train(epochs=np.int64(1)), lambda h: len(h["loss"]) == 1),
    "0-d tensor rho": (lambda: sparsity.kl_divergence(torch.tensor(0.05), RHO_HAT),
                       lambda out: torch.allclose(out, sparsity.kl_divergence(0.05, RHO_HAT))),
    "numpy rho": (lambda: sparsity.kl_divergence(np.float64(0.05), RHO_HAT), lambda out: out.shape == (2,)),
    # KL on things that are not rates
    "KL penalty on ReLU codes above 1": (lambda: sparsity.kl_sparsity_penalty(Z, 0.1, 1.0),
                                        (ValueError, r"a must lie in \[0, 1\].*activation='sigmoid'")),
    "KL penalty on negative codes": (lambda: sparsity.kl_sparsity_penalty(-P, 0.1, 1.0), (ValueError, r"\[0, 1\]")),
    "KL of rho_hat above 1": (lambda: sparsity.kl_divergence(0.1, torch.tensor([1.5])), (ValueError, "rho_hat must lie")),
    "rho of 0": (lambda: sparsity.kl_divergence(0.0, RHO_HAT), (ValueError, "strictly between 0 and 1")),
    "rho of NaN": (lambda: sparsity.kl_sparsity_penalty(P, float("nan"), 1.0), (ValueError, "strictly between")),
    # shapes
    "mse of mismatched shapes": (lambda: metrics.mse(torch.rand(4, 9), torch.rand(1, 9)), (ValueError, "same shape")),
    "reconstruction error of mismatched shapes": (lambda: metrics.reconstruction_error(torch.rand(4, 9), torch.rand(9)),
                                                  (ValueError, r"shape \(B, D\)")),
    "FVU of mismatched shapes": (lambda: metrics.fvu(torch.rand(4, 9), torch.rand(4, 8)), (ValueError, "same shape")),
    "FVU of constant data": (lambda: metrics.fvu(torch.ones(4, 9), torch.ones(4, 9)), (ValueError, "no variance")),
    "1-D code to mean_activation": (lambda: sparsity.mean_activation(torch.rand(4)), (ValueError, r"\(batch, n_latent\)")),
    "1-D code to l0": (lambda: metrics.l0(torch.rand(4)), (ValueError, r"\(N, n_latent\)")),
    "images not flattened": (lambda: _model()(torch.rand(2, 3, 3)), (ValueError, "Flatten images first")),
    "decoder weight transposed": (lambda: sparsity.decoder_weighted_l1(Z, torch.ones(4, 3), 0.1),
                                  (ValueError, "one column per latent")),
    "renormalize a vector": (lambda: sparsity.renormalize_columns(torch.rand(4)), (ValueError, r"\(n_in, n_latent\)")),
    "numpy array as code": (lambda: sparsity.l1_penalty(np.ones((2, 4)), 0.1), (TypeError, "torch.as_tensor")),
    "list as data to train": (lambda: _train(X=[[0.0] * 9]), (TypeError, "torch.Tensor")),
    "3-D data to train": (lambda: _train(X=torch.rand(4, 3, 3)), (ValueError, r"shape \(N, features\)")),
    # dtypes: converted, not an error from inside torch
    "float64 images": (lambda: _model()(X.double()), code_of((64, 4))),
    "float16 images": (lambda: _model()(X.half()), code_of((64, 4))),
    "integer images": (lambda: _model()((X * 255).to(torch.uint8)), code_of((64, 4))),
    "boolean images": (lambda: _model()(X > 0.5), code_of((64, 4))),
    "integer codes": (lambda: sparsity.l1_penalty(torch.tensor([[1, 0, 2]]), 0.5), close(1.5)),
    "boolean codes to l0": (lambda: metrics.l0(torch.tensor([[True, False, True]])), close(2.0)),
    "float64 data to train": (lambda: _train(X=X.double()), lambda h: math.isfinite(h["loss"][0])),
    "complex code": (lambda: sparsity.l1_penalty(torch.ones(2, 2, dtype=torch.complex64), 0.1), (TypeError, "complex")),
    # counts
    "zero latents": (lambda: Autoencoder(8, 0), (ValueError, "n_latent must be an integer >= 1")),
    "zero inputs": (lambda: Autoencoder(0, 8), (ValueError, "n_in must be an integer >= 1")),
    "fractional width": (lambda: Autoencoder(8, 2.5), (TypeError, "n_latent must be an integer")),
    "k above the width": (lambda: sparsity.topk_activation(Z, 5), (ValueError, r"k must be an integer in 1..4")),
    "k as a float": (lambda: sparsity.topk_activation(Z, 2.0), (TypeError, r"use 2 if you meant that")),
    "epochs as a float": (lambda: _train(epochs=2.0), (TypeError, r"epochs must be an integer.*use 2")),
    "zero epochs": (lambda: _train(epochs=0), (ValueError, "epochs must be an integer >= 1")),
    "zero batch size": (lambda: _train(batch_size=0), (ValueError, "batch_size must be an integer >= 1")),
    "negative threshold": (lambda: metrics.l0(Z, threshold=-1), (ValueError, "threshold must be")),
    # learning rates and data that make training meaningless
    "zero learning rate": (lambda: _train(lr=0), (ValueError, "lr must be a finite number > 0")),
    "negative learning rate": (lambda: _train(lr=-1e-3), (ValueError, "lr must be")),
    "NaN learning rate": (lambda: _train(lr=float("nan")), (ValueError, "lr must be")),
    "NaN in the data": (lambda: _train(X=torch.full((8, 9), float("nan"))), (ValueError, "NaN or infinite")),
    "a learning rate that explodes the loss": (lambda: _train(X=torch.rand(2048, 9), lr=1e6, epochs=3),
                                              (TrainingDiverged, "(exploded|NaN/inf).*learning rate lr=1e\\+06")),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_gets_a_clear_error_or_a_correct_result(name):
    call, expect = CASES[name]
    if isinstance(expect, tuple):
        error, pattern = expect
        with pytest.raises(error, match=pattern):
            call()
    else:
        assert expect(call()), f"{name}: wrong result"


def test_the_catalogue_is_large(monkeypatch):
    assert len(CASES) >= 47


@pytest.mark.parametrize("value", ["garbage", "2", "yes please"])
def test_bad_course_variables_are_refused(monkeypatch, value):
    monkeypatch.setenv("COURSE_FAST", value)
    with pytest.raises(config.ConfigError, match="COURSE_FAST"):
        config.fast()
