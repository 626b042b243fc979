"""Superposition: more features than dimensions, in a toy model and in planted data.

Two pieces, in the order lesson 07 uses them:

* the toy model of Elhage et al. (2022), "Toy Models of Superposition": ``n`` sparse features of
  decaying importance squeezed through ``m < n`` hidden dimensions and read back,
  ``x' = ReLU(W^T W x + b)``. :func:`train_toy_models` trains one model per feature probability
  at once (their weights stacked, one batched matrix product); :func:`feature_norms`,
  :func:`interference` and :func:`dimensions_per_feature` say which features were stored and
  how they share the hidden space.
* planted features (after Sharkey et al. 2022): data made from a known dictionary,
  ``x = sum_i c_i d_i`` with a few non-zero ``c_i`` per sample (:func:`random_dictionary`,
  :func:`planted_data`), on which a sparse autoencoder's decoder can be scored against the truth
  with :mod:`course_lib.matching`.

    >>> import torch
    >>> x = torch.tensor([[1.0, 0.0]]); importance = torch.tensor([1.0, 0.5])
    >>> importance_weighted_loss(x, torch.zeros(1, 2), importance).item()
    1.0
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn
from .pbar import tqdm

__all__ = ["ToyModel", "feature_importance", "sparse_features", "importance_weighted_loss",
           "train_toy_model", "train_toy_models", "feature_norms", "interference", "dimensions_per_feature",
           "random_dictionary", "planted_data"]


# ---------------------------------------------------------------- the toy model


def feature_importance(n_features: int, decay: float = 0.9) -> torch.Tensor:
    """Importance of each feature, ``decay ** i`` for i = 0 .. n_features - 1: (n_features,)."""
    if n_features < 1:
        raise ValueError(f"n_features must be positive, got {n_features!r}")
    if not 0 < decay <= 1:
        raise ValueError(f"decay must be in (0, 1], got {decay!r}")
    return decay ** torch.arange(n_features, dtype=torch.float32)


def _probability(p: float) -> float:
    if not 0 < p <= 1:
        raise ValueError(f"a feature probability must be in (0, 1], got {p!r}")
    return float(p)


def sparse_features(n_samples: int, n_features: int, p: float | torch.Tensor, *,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """Synthetic sparse features: each is on with probability ``p``, then uniform in [0, 1).

    ``p`` is one probability, or a tensor of shape (S,) giving S sets of samples at once: the
    result is then (S, n_samples, n_features), set s drawn with probability ``p[s]``; otherwise
    (n_samples, n_features). ``1 - p`` is what Elhage et al. call the feature *sparsity*.
    """
    if isinstance(p, torch.Tensor):
        if p.dim() != 1 or not bool(((p > 0) & (p <= 1)).all()):
            raise ValueError("p must be one probability or a 1-d tensor of probabilities in (0, 1]")
        shape, prob = (len(p), n_samples, n_features), p.float()[:, None, None]
    else:
        shape, prob = (n_samples, n_features), _probability(p)
    on = torch.rand(shape, generator=generator) < prob
    return on * torch.rand(shape, generator=generator)


def importance_weighted_loss(x: torch.Tensor, x_hat: torch.Tensor, importance: torch.Tensor) -> torch.Tensor:
    """``mean over samples of sum_i importance_i * (x_i - x_hat_i)**2``: a 0-d tensor.

    x, x_hat: (..., n_features), any number of leading sample dimensions; importance:
    (n_features,). Summed over features, so a model is judged by all of them; averaged over
    samples, so the batch size does not change its scale.
    """
    if x.shape != x_hat.shape:
        raise ValueError(f"x and x_hat must have the same shape, got {tuple(x.shape)} and {tuple(x_hat.shape)}")
    if importance.shape != x.shape[-1:]:
        raise ValueError(f"importance must have shape ({x.shape[-1]},), one weight per feature, "
                         f"got {tuple(importance.shape)}")
    return (importance * (x - x_hat).pow(2)).sum(-1).mean()


class ToyModel(nn.Module):
    """``x (B, n_features) -> h = x W^T (B, n_hidden) -> x' = ReLU(h W + b) (B, n_features)``.

    Parameters: ``W`` (n_hidden, n_features), column i is the hidden direction of feature i,
    initialised Xavier-normal; ``b`` (n_features,), zeros. ``seed`` seeds the initialisation
    without touching the global random state.
    """

    def __init__(self, n_features: int, n_hidden: int, *, seed: int | None = 0) -> None:
        super().__init__()
        if n_features < 1 or n_hidden < 1:
            raise ValueError(f"n_features and n_hidden must be positive, got {n_features} and {n_hidden}")
        self.n_features, self.n_hidden = n_features, n_hidden
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            self.W = nn.Parameter(nn.init.xavier_normal_(torch.empty(n_hidden, n_features)))
        self.b = nn.Parameter(torch.zeros(n_features))

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """The compressed code, (B, n_features) -> (B, n_hidden)."""
        if x.shape[-1] != self.n_features:
            raise ValueError(f"expected inputs of shape (batch, {self.n_features}), got {tuple(x.shape)}")
        return x @ self.W.t()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.hidden(x) @ self.W + self.b)


def _training_importance(n_features: int, probs: torch.Tensor, steps: int, batch_size: int, lr: float,
                         importance: torch.Tensor | None) -> torch.Tensor:
    if len(probs) == 0:
        raise ValueError("give at least one feature probability")
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps and batch_size must be positive, got {steps} and {batch_size}")
    importance = feature_importance(n_features) if importance is None else importance.float()
    if importance.shape != (n_features,):
        raise ValueError(f"importance must have shape ({n_features},), got {tuple(importance.shape)}")
    return importance


def _check_finite(loss: torch.Tensor, lr: float) -> None:
    if not math.isfinite(loss.item()):
        raise FloatingPointError(f"the toy model's loss became {loss.item()}; lower lr={lr:g}")


def train_toy_model(model: nn.Module, p: float, *, importance: torch.Tensor | None = None,
                    steps: int = 3000, batch_size: int = 1024, lr: float = 1e-3, seed: int = 0,
                    progress: bool = True) -> list[float]:
    """Train one toy model (any module with ``n_features`` and ``forward(x) -> x'``) with Adam.

    Every step draws a fresh batch of :func:`sparse_features` with probability ``p`` and minimises
    :func:`importance_weighted_loss` (``importance`` defaults to :func:`feature_importance`).
    Returns the loss of every 100th step.
    """
    n = model.n_features
    importance = _training_importance(n, torch.tensor([_probability(p)]), steps, batch_size, lr, importance)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    for step in tqdm(range(steps), desc="toy model", unit="step", disable=not progress, leave=False):
        x = sparse_features(batch_size, n, p, generator=gen)
        loss = importance_weighted_loss(x, model(x), importance)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 100 == 0:
            losses.append(loss.item())
    _check_finite(loss, lr)
    return losses


def train_toy_models(n_features: int, n_hidden: int, probabilities: Sequence[float], *,
                     importance: torch.Tensor | None = None, steps: int = 3000, batch_size: int = 1024,
                     lr: float = 1e-3, seed: int = 0, progress: bool = True) -> list[ToyModel]:
    """Train one :class:`ToyModel` per feature probability, all at once, on fresh batches every step.

    Every model starts from ``ToyModel(n_features, n_hidden, seed=seed)``; their weights are
    stacked, ``W`` (S, n_hidden, n_features), and the forward pass of all S models is one batched
    matrix product, with each model's loss summed (each model's weights only see its own loss, so
    this equals training them one by one with :func:`train_toy_model`, only faster). Model s sees
    features that are on with probability ``probabilities[s]``. Returns the models in the order of
    ``probabilities``, on the CPU.
    """
    probs = torch.tensor([_probability(p) for p in probabilities])
    importance = _training_importance(n_features, probs, steps, batch_size, lr, importance)
    models = [ToyModel(n_features, n_hidden, seed=seed) for _ in probs]
    W = torch.stack([m.W.detach() for m in models]).requires_grad_(True)   # (S, m, n)
    b = torch.stack([m.b.detach() for m in models]).requires_grad_(True)   # (S, n)
    opt = torch.optim.Adam([W, b], lr=lr)
    gen = torch.Generator().manual_seed(seed)
    for _ in tqdm(range(steps), desc="toy models", unit="step", disable=not progress, leave=False):
        x = sparse_features(batch_size, n_features, probs, generator=gen)  # (S, B, n)
        x_hat = torch.relu(torch.bmm(torch.bmm(x, W.transpose(1, 2)), W) + b[:, None, :])
        loss = importance_weighted_loss(x, x_hat, importance) * len(probs)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    _check_finite(loss, lr)
    with torch.no_grad():
        for i, m in enumerate(models):
            m.W.copy_(W[i])
            m.b.copy_(b[i])
    return models


def _weights(W: torch.Tensor) -> torch.Tensor:
    if not isinstance(W, torch.Tensor) or W.dim() != 2:
        raise ValueError(f"W must be a matrix (n_hidden, n_features), got {getattr(W, 'shape', type(W))}")
    return W.detach().float()


def feature_norms(W: torch.Tensor) -> torch.Tensor:
    """Length of each feature's hidden direction, ``||W[:, i]||``: (n_hidden, n_features) -> (n_features,).

    About 1 for a feature the model stores, about 0 for one it drops.
    """
    return _weights(W).norm(dim=0)


def interference(W: torch.Tensor) -> torch.Tensor:
    """How much each feature shares its direction: ``sum_{j != i} (W_i_hat . W_j)**2``, (n_features,).

    Elhage et al.'s measure of superposition: 0 for a feature with a hidden direction of its own
    (orthogonal to every other), larger when other features overlap it.
    """
    W = _weights(W)
    unit = W / W.norm(dim=0, keepdim=True).clamp_min(1e-8)
    overlap = (unit.t() @ W).pow(2)
    return overlap.sum(1) - overlap.diagonal()


def dimensions_per_feature(W: torch.Tensor) -> float:
    """``n_hidden / ||W||_F**2``: hidden dimensions per stored feature (1 without superposition).

    A model that stores k features with unit-length directions has ``||W||_F**2`` about k, so
    below 1 means more features than dimensions.
    """
    W = _weights(W)
    total = W.pow(2).sum().item()
    if total == 0:
        raise ValueError("W is all zeros: the model stores no feature")
    return W.shape[0] / total


# ---------------------------------------------------------------- planted features


def random_dictionary(d: int, n: int, *, seed: int = 0) -> torch.Tensor:
    """n random unit directions in d dimensions, as the columns of a (d, n) matrix."""
    if d < 1 or n < 1:
        raise ValueError(f"d and n must be positive, got {d} and {n}")
    gen = torch.Generator().manual_seed(seed)
    D = torch.randn(d, n, generator=gen)
    return D / D.norm(dim=0, keepdim=True)


def planted_data(D: torch.Tensor, n_samples: int, n_active: float, *,
                 seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Samples made from the planted dictionary D (d, n): ``X = C @ D.T``.

    Each of the n features is on with probability ``n_active / n`` (so about ``n_active`` per
    sample), with a coefficient uniform in [0, 1). Returns ``(X, C)``: X (n_samples, d), the data;
    C (n_samples, n), the true coefficients.
    """
    if not isinstance(D, torch.Tensor) or D.dim() != 2:
        raise ValueError(f"D must be a (d, n) dictionary, one direction per column, got {getattr(D, 'shape', type(D))}")
    d, n = D.shape
    if not 0 < n_active <= n:
        raise ValueError(f"n_active must be in (0, {n}], got {n_active!r}")
    gen = torch.Generator().manual_seed(seed)
    C = sparse_features(n_samples, n, n_active / n, generator=gen)
    return C @ D.float().t(), C
