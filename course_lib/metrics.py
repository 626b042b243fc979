"""Measurements of codes and reconstructions. Codes Z are (N, n_latent); images X are (N, D).

Metrics that summarise return Python floats; per-unit or per-sample profiles return tensors.
"""
from __future__ import annotations

import torch
from torch import nn

from . import validate


@torch.no_grad()
def encode_batched(model: nn.Module, X: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
    """``model.encode`` over X in batches, without building a graph: (N, D) -> (N, n_latent)."""
    return torch.cat([model.encode(X[i : i + batch_size]) for i in range(0, len(X), batch_size)])


@torch.no_grad()
def reconstruct_batched(model: nn.Module, X: torch.Tensor, batch_size: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """``model(X)`` in batches: returns ``(X_hat, Z)``."""
    outs = [model(X[i : i + batch_size]) for i in range(0, len(X), batch_size)]
    return torch.cat([o[0] for o in outs]), torch.cat([o[1] for o in outs])


def _active(Z: torch.Tensor, threshold: float, name: str = "Z") -> torch.Tensor:
    Z = validate.batch(name, Z, shape="(N, n_latent)")
    return Z.abs() > validate.number("threshold", threshold, low=0.0)


def l0(z: torch.Tensor, threshold: float = 0.0) -> float:
    """Mean number of active (non-zero, or ``|z| > threshold``) units per sample."""
    return _active(z, threshold, "z").sum(-1).float().mean().item()


def dead_fraction(Z: torch.Tensor, threshold: float = 0.0) -> float:
    """Fraction of units that are inactive for every sample of Z. Measure it on held-out data."""
    return (~_active(Z, threshold).any(0)).float().mean().item()


def lifetime_sparsity(Z: torch.Tensor, threshold: float = 0.0) -> torch.Tensor:
    """Per unit, the fraction of samples on which it is active: (N, H) -> (H,). Low = fires rarely."""
    return _active(Z, threshold).float().mean(0)


def population_sparsity(Z: torch.Tensor, threshold: float = 0.0) -> torch.Tensor:
    """Per sample, the fraction of units active: (N, H) -> (N,). Low = few units per input."""
    return _active(Z, threshold).float().mean(1)


def reconstruction_error(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """Squared error summed over features, averaged over the batch: (B, D), (B, D) -> () tensor.

    The training loss of every autoencoder in the course; it backpropagates.
    """
    x, x_hat = _pair(x, x_hat)
    return (x_hat - x).pow(2).sum(-1).mean()


def _pair(x: torch.Tensor, x_hat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x, x_hat = validate.batch("x", x, shape="(B, D)"), validate.batch("x_hat", x_hat, shape="(B, D)")
    validate.same_shape("x", x, "x_hat", x_hat)
    return x, x_hat


def lifetime_and_population_sparsity(Z: torch.Tensor, threshold: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """``(lifetime_sparsity(Z), population_sparsity(Z))``: per unit (H,) and per sample (N,)."""
    return lifetime_sparsity(Z, threshold), population_sparsity(Z, threshold)


def mse(x: torch.Tensor, x_hat: torch.Tensor) -> float:
    """Mean squared error over all elements."""
    x, x_hat = _pair(x, x_hat)
    return (x_hat - x).pow(2).mean().item()


def fraction_variance_unexplained(x: torch.Tensor, x_hat: torch.Tensor) -> float:
    """``sum (x - x_hat)^2 / sum (x - mean(x))^2``: 0 is perfect, 1 is as good as the mean image."""
    x, x_hat = _pair(x, x_hat)
    total = (x - x.mean(0)).pow(2).sum()
    if total == 0:
        raise ValueError("x has no variance (every sample is the same, or there is only one): the "
                         "fraction of variance unexplained is undefined; evaluate on several different samples.")
    return ((x_hat - x).pow(2).sum() / total).item()


fvu = fraction_variance_unexplained


@torch.no_grad()
def evaluate(model: nn.Module, X: torch.Tensor) -> dict[str, float]:
    """FVU, MSE, L0 and dead fraction of a model on X, in one pass."""
    X_hat, Z = reconstruct_batched(model, X)
    return {"fvu": fvu(X, X_hat), "mse": mse(X, X_hat), "l0": l0(Z), "dead_fraction": dead_fraction(Z)}


def linear_probe_accuracy(
    Z_train: torch.Tensor,
    y_train: torch.Tensor,
    Z_test: torch.Tensor,
    y_test: torch.Tensor,
    *,
    weight_decay: float = 1e-3,
    max_iter: int = 200,
) -> float:
    """Test accuracy of multinomial logistic regression (L-BFGS) fitted on standardised codes.

    Runs on the codes' device. Z_*: (N, H) float; y_*: (N,) int64 class labels.
    """
    Z_train, Z_test = Z_train.float(), Z_test.float()
    mean, std = Z_train.mean(0), Z_train.std(0).clamp_min(1e-6)
    A, B = (Z_train - mean) / std, (Z_test - mean) / std
    n_classes = int(max(y_train.max(), y_test.max()).item()) + 1
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        clf = nn.Linear(A.shape[1], n_classes).to(A.device)
    opt = torch.optim.LBFGS(clf.parameters(), lr=1, max_iter=max_iter, history_size=20,
                            line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(clf(A), y_train) + weight_decay * clf.weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    with torch.no_grad():
        return (clf(B).argmax(1) == y_test).float().mean().item()
