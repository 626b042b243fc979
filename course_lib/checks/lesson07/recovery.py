"""Lesson 07's recovery exercises: mean max cosine similarity and the absorption rate.

``mean_max_cosine_similarity`` has a few classic slips, each with its own case that tells it
apart: dictionaries whose columns have different lengths (a missing normalisation), more learned
than true columns (a max over the wrong side), a learned column pointing against a true one
(absolute instead of signed cosine) and matrices taller than wide (rows taken for directions).
"""
from __future__ import annotations

import torch

from course_lib import absorption, matching

from ..core import Case, Mistake, check, rand

LESSON = "07"


# ---------------------------------------------------------------- mean_max_cosine_similarity


def _unit(D, dim=0):
    return D / D.norm(dim=dim, keepdim=True)


def _cos(A, B):
    return _unit(A).T @ _unit(B)


MMCS_MISTAKES = [
    Mistake("You took the max over the wrong side: for each *learned* column its best true match. "
            "MMCS asks, for each *true* direction, whether some learned column recovers it: the max "
            "runs over the learned columns (`C.max(dim=0)` for C = learned^T true), the mean over the "
            "true ones.",
            lambda L, T: _cos(L, T).max(dim=1).values.mean().item()),
    Mistake("You compared dot products, not cosines: normalise every column to unit length first "
            "(`D / D.norm(dim=0, keepdim=True)`), so that the measure does not depend on their scale.",
            lambda L, T: (L.T @ T).max(dim=0).values.mean().item()),
    Mistake("You normalised only one of the two dictionaries: both need unit-length columns.",
            lambda L, T: (_unit(L).T @ T).max(dim=0).values.mean().item()),
    Mistake("You normalised the rows (`norm(dim=1)`). The directions are the *columns*: "
            "`D / D.norm(dim=0, keepdim=True)`.",
            lambda L, T: (_unit(L, 1).T @ _unit(T, 1)).max(dim=0).values.mean().item()),
    Mistake("You took the absolute value of the cosine. This lesson's MMCS is signed: a learned "
            "column pointing the opposite way does not recover a direction, because a ReLU code, "
            "never negative, can only add that column, never subtract it.",
            lambda L, T: _cos(L, T).abs().max(dim=0).values.mean().item()),
    Mistake("You averaged every cosine instead of each true direction's *best* one: take the max over "
            "the learned columns first.",
            lambda L, T: _cos(L, T).mean().item()),
    Mistake("You returned the single best cosine. MMCS averages, over the true directions, each one's "
            "best cosine.",
            lambda L, T: _cos(L, T).max().item()),
    Mistake("You returned the best cosine of each true direction, a tensor: average them and return "
            "a float (`.mean().item()`).",
            lambda L, T: _cos(L, T).max(dim=0).values),
]


def _flipped() -> tuple:
    T = rand(6, 4, seed=731)
    L = torch.cat([-T[:, :2], rand(6, 3, seed=732)], dim=1)  # two true directions learned backwards
    return L, T


@check(LESSON, reference=matching.mean_max_cosine_similarity, mistakes=MMCS_MISTAKES, returns="number",
       rtol=1e-4, atol=1e-5)
def check_mean_max_cosine_similarity():
    """Grade ``mean_max_cosine_similarity(D_learned, D_true)``."""
    return [
        Case("8 learned and 5 true directions in 6 dimensions", lambda: (rand(6, 8, seed=733), rand(6, 5, seed=734))),
        Case("learned columns of very different lengths", lambda: (
            rand(6, 7, seed=735) * torch.tensor([0.1, 5, 1, 20, 0.5, 3, 2]), rand(6, 4, seed=736))),
        Case("3 learned, 9 true, in 20 dimensions", lambda: (rand(20, 3, seed=737), rand(20, 9, seed=738))),
        Case("two true directions learned pointing backwards", _flipped),
        Case("the truth itself, rescaled and shuffled", lambda: (
            3 * rand(5, 6, seed=739)[:, [3, 1, 0, 5, 4, 2]], rand(5, 6, seed=739))),
        Case("float64, 10 learned, 10 true", lambda: (rand(4, 10, seed=740, dtype=torch.float64),
                                                    rand(4, 10, seed=741, dtype=torch.float64))),
    ]


# ---------------------------------------------------------------- absorption_rate


def _abs_parts(Z, m, W, p):
    W, p = W.double(), p.double() / p.norm()
    along = p @ W
    cos = along / W.norm(dim=0)
    return along, cos


def _rate_any_aligned(Z, m, W, p, j, thr=0.3):
    _, cos = _abs_parts(Z, m, W, p)
    missed = m & (Z[:, j] == 0)
    others = (Z > 0) & (cos >= thr)
    others[:, j] = False
    return (missed & others.any(1)).sum().item() / m.sum().item()


def _rate_largest_activation(Z, m, W, p, j, thr=0.3):
    _, cos = _abs_parts(Z, m, W, p)
    missed = m & (Z[:, j] == 0)
    Zo = Z.clone()
    Zo[:, j] = -1
    who = Zo.argmax(1)
    return (missed & (Zo.max(1).values > 0) & (cos[who] >= thr)).sum().item() / m.sum().item()


def _rate_raw_dot(Z, m, W, p, j, thr=0.3):
    along = (p.double() / p.norm()) @ W.double()  # not divided by the column's length
    missed = m & (Z[:, j] == 0)
    contrib = Z.double() * along
    contrib[:, j] = float("-inf")
    best, who = contrib.max(1)
    return (missed & (best > 0) & (along[who] >= thr)).sum().item() / m.sum().item()


def _rate_abs_cos(Z, m, W, p, j, thr=0.3):
    along, cos = _abs_parts(Z, m, W, p)
    missed = m & (Z[:, j] == 0)
    contrib = (Z.double() * along).abs()
    contrib[:, j] = float("-inf")
    best, who = contrib.max(1)
    return (missed & (best > 0) & (cos[who].abs() >= thr)).sum().item() / m.sum().item()


def _ref(**kw):
    def fn(Z, m, W, p, j, thr=0.3):
        res = absorption.absorption(Z, m, W, p, parent_latent=j, cos_threshold=thr)
        return kw["pick"](res)
    return fn


ABSORPTION_MISTAKES = [
    Mistake("You divided by the number of *missed* parent samples. The absorption rate is a fraction "
            "of all parent samples: absorbed / parent.",
            _ref(pick=lambda r: r.n_absorbed / r.n_missed if r.n_missed else 0.0)),
    Mistake("You counted every parent sample on which the parent latent is silent. A miss is absorbed "
            "only when another latent carries the parent direction (its decoder column has cosine >= "
            "cos_threshold with it, and it contributes most along it).",
            _ref(pick=lambda r: r.miss_rate)),
    Mistake("You divided by the number of all samples. The rate is a fraction of the *parent* "
            "samples: `is_parent.sum()`.",
            _ref(pick=lambda r: r.n_absorbed / len(r.absorbed))),
    Mistake("You accepted any active latent whose column is aligned. Take the latent that contributes "
            "most along the direction, `Z[i, j] * (decoder[:, j] . direction)`, and test *its* cosine.",
            _rate_any_aligned),
    Mistake("You picked the other latent with the largest activation. Pick the one that contributes "
            "most *along the parent direction*, `Z[i, j] * (decoder[:, j] . direction)`: a strong "
            "latent pointing elsewhere does not carry the parent.",
            _rate_largest_activation),
    Mistake("You compared a dot product with the threshold: divide by the decoder column's length "
            "(and use a unit direction), so that the test is on the cosine.",
            _rate_raw_dot),
    Mistake("You took absolute values: a latent whose column points *against* the parent direction "
            "removes the parent from the reconstruction, it does not carry it.",
            _rate_abs_cos),
]


def _hand_made() -> tuple:
    """Twelve samples, ten of them parent; decoder columns of different lengths in 3-d. Each
    catalogued mistake gets a different rate here (reference 0.2)."""
    m = torch.tensor([True] * 10 + [False] * 2)
    Z = torch.tensor([[1.0, 0.0, 0.0, 0.0],   # the parent latent fires
                      [0.0, 0.5, 0.0, 0.0],   # absorbed by latent 1 (long column, cosine 0.6)
                      [0.0, 0.1, 0.9, 0.0],   # latent 2 contributes most, but its cosine is 0.16
                      [0.0, 0.0, 0.0, 0.0],   # nothing fires: missed, not absorbed
                      [0.0, 0.0, 0.0, 0.6],   # latent 3 points against the direction
                      [0.0, 0.0, 0.0, 0.6],
                      [0.0, 0.0, 0.0, 0.6],
                      [0.0, 0.0, 0.5, 0.0],   # latent 2 alone: a dot product of 0.5, a cosine of 0.16
                      [0.0, 0.3, 0.4, 0.0],   # latent 2 is the strongest, latent 1 contributes most
                      [2.0, 0.0, 0.0, 0.0],
                      [0.0, 0.3, 0.0, 0.0],
                      [0.0, 0.0, 1.0, 0.0]])
    W = torch.tensor([[1.0, 1.2, 0.5, -0.9],
                      [0.0, 1.6, 3.0, 0.1],
                      [0.0, 0.0, 0.0, 0.3]])  # (d=3, H=4), one column per latent
    return Z, m, W, torch.tensor([1.0, 0.0, 0.0])


def _random(seed: int, n: int = 60, h: int = 12, d: int = 8) -> tuple:
    Z = torch.relu(rand(n, h, seed=seed, low=-2.0, high=1.0))
    W = rand(d, h, seed=seed + 1) * rand(1, h, seed=seed + 2, low=0.2, high=3.0)
    m = rand(n, seed=seed + 3) > 0.2
    p = rand(d, seed=seed + 4)
    return Z, m, W, p


@check(LESSON, reference=absorption.absorption_rate, mistakes=ABSORPTION_MISTAKES, returns="number")
def check_absorption_rate():
    """Grade ``absorption_rate(Z, is_parent, decoder, direction, parent_latent, cos_threshold=0.3)``."""
    return [
        Case("12 samples, 4 latents, by hand", lambda: _hand_made() + (0,)),
        Case("12 samples, by hand, cos_threshold 0.7", lambda: _hand_made() + (0,), kwargs={"cos_threshold": 0.7}),
        Case("60 random codes, 12 latents, parent latent 3", lambda: _random(750) + (3,)),
        Case("60 random codes, parent latent 0, cos_threshold 0.1", lambda: _random(760) + (0,),
             kwargs={"cos_threshold": 0.1}),
        Case("200 random codes, 30 latents in 16 dimensions", lambda: _random(770, 200, 30, 16) + (7,)),
    ]
