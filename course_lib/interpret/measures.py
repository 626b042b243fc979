"""What a latent responds to: the reference implementations of lesson 04's graded measures.

* :func:`top_activating_examples` - the inputs on which a latent fires hardest;
* :func:`class_mean_activation`, :func:`class_selectivity` - how much a latent prefers one class;
* :func:`factor_correlations`, :func:`factor_match_score` - how well latents line up with known
  generating factors (such as the bars of :func:`~course_lib.interpret.datasets.make_bars`);
  :func:`factor_matches_one_to_one`, :func:`factor_match_score_one_to_one` - the same with each
  latent credited to one factor at most (Hungarian matching, as the standard MCC does);
* :func:`shuffled_label_selectivity` - the selectivity a latent gets by chance, its null baseline.

Shapes: codes ``Z`` are (N, n_latent); labels ``y`` are (N,) int64; ``factors`` are (N, n_factors).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..matching import assign_one_to_one

__all__ = ["top_activating_examples", "class_mean_activation", "class_selectivity",
           "factor_correlations", "factor_match_score", "factor_matches_one_to_one",
           "factor_match_score_one_to_one", "shuffled_label_selectivity"]


def _check_codes(Z: torch.Tensor, name: str = "Z") -> None:
    if not isinstance(Z, torch.Tensor) or Z.dim() != 2:
        shape = tuple(Z.shape) if isinstance(Z, torch.Tensor) else type(Z).__name__
        raise ValueError(f"{name} must be a tensor of shape (N, n_latent), got {shape}")


# ------------------------------------------------------------------ what a latent looks for


def top_activating_examples(Z: torch.Tensor, j: int, n: int) -> torch.Tensor:
    """Indices of the ``n`` samples on which latent ``j`` is largest, largest first.

    Z: (N, n_latent) codes; returns a LongTensor of shape (n,). Ties are broken arbitrarily.
    """
    _check_codes(Z)
    N, H = Z.shape
    if not -H <= j < H:
        raise ValueError(f"latent index j={j} is out of range for {H} latents")
    if not 1 <= n <= N:
        raise ValueError(f"n must be between 1 and the number of samples ({N}), got {n}")
    return torch.topk(Z[:, j], n).indices


def class_mean_activation(Z: torch.Tensor, y: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Mean of ``|z_j|`` over the samples of each class: (N, H), (N,) -> (n_classes, H).

    A class with no samples gets 0 for every latent.
    """
    _check_codes(Z)
    if not isinstance(y, torch.Tensor) or y.shape != Z.shape[:1]:
        raise ValueError(f"y must be a tensor of shape ({len(Z)},), got {getattr(y, 'shape', type(y).__name__)}")
    onehot = nn.functional.one_hot(y.long(), n_classes).to(Z.dtype)  # (N, C)
    counts = onehot.sum(0)  # (C,)
    sums = onehot.t() @ Z.abs()  # (C, H)
    return sums / counts.clamp_min(1).unsqueeze(1)


def class_selectivity(Z: torch.Tensor, y: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Class selectivity of every latent, in [0, 1]: (N, H), (N,) -> (H,).

    For latent j, let ``m_jc`` be its mean activation magnitude ``|z_j|`` over the samples of
    class c (0 for a class with no samples) and ``p_jc = m_jc / sum_c m_jc`` the share of that
    mean activation that class c receives. Then

        selectivity_j = 1 - H(p_j) / log(n_classes),   H(p) = -sum_c p_c log p_c  (0 log 0 = 0)

    1 means the latent responds to one class only; 0 means it responds equally to every class.
    Class means (not sums) keep frequent classes from looking preferred; dividing by
    ``log(n_classes)`` (not by the log of the number of classes present) keeps scores comparable
    across label sets. A latent that is zero on every sample has no preference: it scores 0.
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    M = class_mean_activation(Z, y, n_classes)  # (C, H)
    total = M.sum(0)  # (H,)
    alive = total > 0
    P = M / torch.where(alive, total, torch.ones_like(total))
    entropy = -torch.xlogy(P, P).sum(0)
    return torch.where(alive, 1 - entropy / math.log(n_classes), torch.zeros_like(entropy))


# ------------------------------------------------------------------ known factors


def factor_correlations(Z: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """Pearson correlation of every factor with every latent: (N, H), (N, F) -> (F, H).

    A constant column (a dead latent, or a factor that never changes) has no defined
    correlation; it gets 0.
    """
    _check_codes(Z)
    _check_codes(factors, "factors")
    if len(Z) != len(factors):
        raise ValueError(f"Z has {len(Z)} samples but factors has {len(factors)}")
    factors = factors.to(Z.dtype)
    Zc, Fc = Z - Z.mean(0), factors - factors.mean(0)
    cov = Fc.t() @ Zc / len(Z)
    std_z, std_f = Zc.pow(2).mean(0).sqrt(), Fc.pow(2).mean(0).sqrt()
    varies = (factors.amax(0) > factors.amin(0))[:, None] & (Z.amax(0) > Z.amin(0))[None, :]
    denom = std_f[:, None] * std_z[None, :]
    return torch.where(varies, cov / torch.where(varies, denom, torch.ones_like(denom)), torch.zeros_like(cov))


def factor_match_score(Z: torch.Tensor, factors: torch.Tensor) -> float:
    """How well latents line up with known factors, in [0, 1].

    For every factor, take the latent whose activation correlates best with it (absolute
    Pearson correlation, so a latent that switches *off* for the factor counts too); the score is
    the mean of these best correlations over factors. 1 means every factor has its own latent
    that tracks it exactly (two factors may pick the same latent; look at the matched features).
    """
    return factor_correlations(Z, factors).abs().amax(1).mean().item()


def factor_matches_one_to_one(Z: torch.Tensor, factors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The latent paired with each factor when no latent may serve two: ``(latent, corr)``, each (F,).

    The pairing maximises the total absolute Pearson correlation (Hungarian algorithm, via
    :func:`course_lib.matching.assign_one_to_one`). With fewer latents than factors, the factors
    left over get latent ``-1`` and correlation 0.
    """
    C = factor_correlations(Z, factors).abs()  # (F, H)
    rows, cols = assign_one_to_one(C)
    latent = torch.full((C.shape[0],), -1, dtype=torch.long)
    corr = torch.zeros(C.shape[0], dtype=C.dtype)
    latent[rows] = cols
    corr[rows] = C.detach().cpu()[rows, cols]
    return latent, corr


def factor_match_score_one_to_one(Z: torch.Tensor, factors: torch.Tensor) -> float:
    """Like :func:`factor_match_score`, but each latent is credited to one factor at most.

    The mean, over factors, of the absolute correlation with the latent a one-to-one assignment
    gives it (:func:`factor_matches_one_to_one`). Never above :func:`factor_match_score`; lower
    when several factors' best latent is the same one (a latent that mixes bars).
    """
    return factor_matches_one_to_one(Z, factors)[1].mean().item()


def shuffled_label_selectivity(Z: torch.Tensor, y: torch.Tensor, n_classes: int, *, n_shuffles: int = 10,
                               seed: int = 0, measure=None) -> torch.Tensor:
    """Selectivity by chance: each latent's own activations scored against shuffled labels.

    Returns ``(n_shuffles, H)``: row s is ``measure(Z, y[perm_s], n_classes)`` for a random
    permutation ``perm_s`` of the labels. Shuffling keeps every latent's activations, and so its
    firing count, and only breaks their link with the classes: the null baseline *matched by
    firing count*. A latent that fires on few inputs scores well above 0 by chance (a few
    samples cannot spread evenly over ten classes), so compare each latent's selectivity with
    its own null, not with 0. ``measure`` defaults to :func:`class_selectivity`; any function
    ``(Z, y, n_classes) -> (H,)`` works (e.g. the largest class share of lesson 06).
    """
    _check_codes(Z)
    if not isinstance(y, torch.Tensor) or y.shape != Z.shape[:1]:
        raise ValueError(f"y must be a tensor of shape ({len(Z)},), got {getattr(y, 'shape', type(y).__name__)}")
    if isinstance(n_shuffles, bool) or not isinstance(n_shuffles, int) or n_shuffles < 1:
        raise ValueError(f"n_shuffles must be a positive integer, got {n_shuffles!r}")
    measure = class_selectivity if measure is None else measure
    gen = torch.Generator().manual_seed(seed)
    rows = [measure(Z, y[torch.randperm(len(y), generator=gen).to(y.device)], n_classes)
            for _ in range(n_shuffles)]
    return torch.stack(rows)
