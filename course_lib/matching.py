"""Comparing dictionaries: how well one set of directions recovers another.

A dictionary is a matrix whose *columns* are directions in a d-dimensional space, shape
``(d, n)`` (a decoder weight ``W_dec`` of ``nn.Linear(n_latent, d)`` is exactly that). These
measures are used to score recovered features against planted ones, to link the features of
two sparse autoencoders (seeds, widths), and to match latents to known factors.

    >>> import torch
    >>> D = torch.eye(3)
    >>> round(mean_max_cosine_similarity(2 * D[:, [2, 0, 1]], D), 6)
    1.0
"""
from __future__ import annotations

import torch
from scipy.optimize import linear_sum_assignment


def _columns(name: str, D: torch.Tensor) -> torch.Tensor:
    if not isinstance(D, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (d, n), got {type(D).__name__}.")
    if D.dim() != 2 or D.shape[0] == 0 or D.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty matrix of shape (d, n) with one direction per "
                         f"column, got shape {tuple(D.shape)}.")
    if not D.is_floating_point():
        D = D.float()
    if not torch.isfinite(D).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    norms = D.norm(dim=0)
    if (norms == 0).any():
        zero = int((norms == 0).sum())
        raise ValueError(f"{name} has {zero} all-zero column(s): a zero vector has no direction.")
    return D / norms


def cosine_matrix(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of every column of A with every column of B: (d, m), (d, n) -> (m, n)."""
    A, B = _columns("A", A), _columns("B", B)
    if A.shape[0] != B.shape[0]:
        raise ValueError(f"A and B must live in the same space: A has {A.shape[0]} rows, B has "
                         f"{B.shape[0]}. Columns are directions; transpose a (n, d) matrix first.")
    return A.T.to(torch.float64) @ B.to(device=A.device, dtype=torch.float64)


def mean_max_cosine_similarity(D_learned: torch.Tensor, D_true: torch.Tensor) -> float:
    """MMCS: for each true direction, its best (signed) cosine with any learned column, averaged.

    D_learned: (d, n_learned); D_true: (d, n_true). Scale invariant (columns are normalised);
    1.0 means every true direction has a learned column pointing the same way. Signed: a learned
    column pointing the opposite way does not count as recovering a direction that a ReLU code,
    which is never negative, can only use in one sense.
    """
    return cosine_matrix(D_learned, D_true).max(dim=0).values.mean().item()


def match_one_to_one(A: torch.Tensor, B: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The one-to-one pairing of columns of A and B with the largest total cosine (Hungarian).

    Returns ``(rows, cols, cosines)``: column ``rows[i]`` of A is paired with column ``cols[i]`` of
    B, with cosine ``cosines[i]``; ``min(m, n)`` pairs, each column used at most once (unlike a
    max, which lets two directions credit the same column).
    """
    C = cosine_matrix(A, B)
    rows, cols = assign_one_to_one(C)
    return rows, cols, C.cpu()[rows, cols]


def assign_one_to_one(scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The one-to-one pairing of rows and columns of ``scores`` (m, n) with the largest total (Hungarian).

    Returns ``(rows, cols)``, ``min(m, n)`` pairs, each row and each column used at most once:
    the assignment behind :func:`match_one_to_one`, for any score matrix (cosines, absolute
    correlations, ...).
    """
    if not isinstance(scores, torch.Tensor) or scores.dim() != 2 or 0 in scores.shape:
        shape = tuple(scores.shape) if isinstance(scores, torch.Tensor) else type(scores).__name__
        raise ValueError(f"scores must be a non-empty matrix (m, n), got {shape}.")
    S = scores.detach().double().cpu()
    if not torch.isfinite(S).all():
        raise ValueError("scores contains NaN or infinite values: no assignment maximises them.")
    rows, cols = linear_sum_assignment(S.numpy(), maximize=True)
    return torch.as_tensor(rows), torch.as_tensor(cols)


def matched_cosine(A: torch.Tensor, B: torch.Tensor) -> float:
    """Mean cosine over the one-to-one pairing of :func:`match_one_to_one`."""
    return match_one_to_one(A, B)[2].mean().item()
