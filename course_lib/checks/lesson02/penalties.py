"""Checks for lesson 02, the L1 sparsity penalty.

Graded functions (the learner writes them in ``solutions/02_l1_sparsity.ipynb``):

* ``l1_penalty(z, lam)``: ``lam * z.abs().sum(-1).mean()``.
* ``sparse_loss(x, x_hat, z, lam)``: summed squared error (batch mean) plus ``l1_penalty``.
* ``l2_penalty(z, lam)``: ``lam * z.pow(2).sum(-1).mean()``.
* ``decoder_weighted_l1(z, W_dec, lam)``: L1 with each ``|z_j|`` weighted by ``||W_dec[:, j]||``.
* ``renormalize_columns(W)``: a copy of W with unit-norm columns (zero columns stay zero).

A note on the pre-activation: a code that went through a ReLU is never negative, so a penalty
that forgets ``abs`` looks right on it. Several cases therefore use codes with negative entries,
as a pre-activation or a linear code has: the formula must hold for any code.
"""
from __future__ import annotations

import torch

from course_lib import metrics, sparsity
from course_lib.device import get_device

from ..core import Case, Mistake, check, exported, images, rand, with_grad

LESSON = "02"

_PRE_ACTIVATION_NOTE = (
    "This case has negative entries, as a pre-activation or a linear code has; on a ReLU code you "
    "would not notice, but the penalty has to be right for any code."
)


# ---------------------------------------------------------------- inputs


def _relu_code(n: int, h: int, seed: int, **kw) -> torch.Tensor:
    """A ReLU-like code: about 40% of the entries positive, the rest exactly zero."""
    return torch.relu(rand(n, h, seed=seed, low=-0.6, high=0.4, **kw) * 5)


def _signed_code(n: int, h: int, seed: int, **kw) -> torch.Tensor:
    """A code with negative entries, like a pre-activation."""
    return rand(n, h, seed=seed, low=-2.0, high=1.0, **kw)


# ---------------------------------------------------------------- l1_penalty


L1_MISTAKES = [
    Mistake("You forgot the absolute value: negative entries cancel positive ones. "
            + _PRE_ACTIVATION_NOTE,
            lambda z, lam: lam * z.sum(-1).mean()),
    Mistake("`relu(z)` ignores negative entries; the L1 penalty sums absolute values, `z.abs()`. "
            + _PRE_ACTIVATION_NOTE,
            lambda z, lam: lam * torch.relu(z).sum(-1).mean()),
    Mistake("You summed over the batch too: sum |z| over the units of each sample, then average over "
            "the batch, so that the penalty does not grow with the batch size.",
            lambda z, lam: lam * z.abs().sum()),
    Mistake("You averaged over the units: the penalty sums |z_i| over the units of a sample (so each "
            "active unit costs the same whatever the code size), then averages over the batch.",
            lambda z, lam: lam * z.abs().mean()),
    Mistake("You summed over the batch dimension (dim 0): sum over the units, the last dimension "
            "(`.sum(-1)`), then `.mean()` over the batch.",
            lambda z, lam: lam * z.abs().sum(0).mean()),
    Mistake("You squared the code: that is an L2 penalty. L1 uses the absolute value `z.abs()`.",
            lambda z, lam: lam * z.pow(2).sum(-1).mean()),
    Mistake("You forgot to multiply by `lam`, the strength of the penalty.",
            lambda z, lam: z.abs().sum(-1).mean()),
    Mistake("`z.norm(dim=-1)` is the Euclidean (L2) norm; the L1 norm is the sum of absolute "
            "values, `z.abs().sum(-1)`.",
            lambda z, lam: lam * z.norm(dim=-1).mean()),
]


def _code_cases(device: torch.device) -> list[Case]:
    """Cases for a penalty ``f(z, lam)``; ``lam`` is never 1, so a missing ``lam`` shows."""
    return [
        Case("ReLU code, batch of 4, 6 units, lam=0.3", lambda: (_relu_code(4, 6, seed=0), 0.3)),
        Case("code with negative entries (like a pre-activation), lam=0.5",
             lambda: (_signed_code(5, 7, seed=1), 0.5)),
        Case("batch of 1, lam=2.0", lambda: (_relu_code(1, 9, seed=2), 2.0)),
        Case("all-zero code, lam=0.1", lambda: (torch.zeros(3, 8), 0.1)),
        Case("float64, lam=0.01", lambda: (_relu_code(6, 5, seed=3, dtype=torch.float64), 0.01)),
        Case("code that requires grad, lam=0.2", lambda: (*with_grad(_signed_code(4, 10, seed=4)), 0.2)),
        Case(f"code on {device}, lam=1e-3", lambda: (_relu_code(256, 1024, seed=5, device=device), 1e-3)),
    ]


_CODE_GRAD_CASES = ("code that requires grad, lam=0.2", "float64, lam=0.01")


@check(LESSON, reference=sparsity.l1_penalty, mistakes=L1_MISTAKES, grad_cases=_CODE_GRAD_CASES)
def check_l1_penalty():
    """Grade ``l1_penalty(z, lam)``: ``lam`` times the per-sample sum of |z|, averaged over the batch."""
    return _code_cases(get_device())


# ---------------------------------------------------------------- sparse_loss


_recon = metrics.reconstruction_error


SPARSE_LOSS_MISTAKES = [
    Mistake("Your penalty forgot the absolute value, so negative entries lower the loss. "
            + _PRE_ACTIVATION_NOTE,
            lambda x, x_hat, z, lam: _recon(x, x_hat) + lam * z.sum(-1).mean()),
    Mistake("Your reconstruction term averages over the pixels (like `F.mse_loss`); sum the squared "
            "error over the pixels of each image, then average over the batch.",
            lambda x, x_hat, z, lam: (x_hat - x).pow(2).mean() + lam * z.abs().sum(-1).mean()),
    Mistake("Your reconstruction term sums over the batch as well; average it over the batch.",
            lambda x, x_hat, z, lam: (x_hat - x).pow(2).sum() + lam * z.abs().sum(-1).mean()),
    Mistake("Your penalty sums over the batch as well; average it over the batch like the "
            "reconstruction term, so both parts keep the same balance at any batch size.",
            lambda x, x_hat, z, lam: _recon(x, x_hat) + lam * z.abs().sum()),
    Mistake("Your penalty averages over the units; sum |z_i| over the units, then average over the "
            "batch.",
            lambda x, x_hat, z, lam: _recon(x, x_hat) + lam * z.abs().mean()),
    Mistake("You forgot `lam` in front of the penalty.",
            lambda x, x_hat, z, lam: _recon(x, x_hat) + z.abs().sum(-1).mean()),
    Mistake("You multiplied the reconstruction term by `lam` too; `lam` weighs only the penalty.",
            lambda x, x_hat, z, lam: lam * (_recon(x, x_hat) + z.abs().sum(-1).mean())),
    Mistake("You put `lam` on the reconstruction term instead of on the penalty.",
            lambda x, x_hat, z, lam: lam * _recon(x, x_hat) + z.abs().sum(-1).mean()),
    Mistake("Your penalty squares the code (an L2 penalty); L1 uses `z.abs()`.",
            lambda x, x_hat, z, lam: _recon(x, x_hat) + lam * z.pow(2).sum(-1).mean()),
    Mistake("You subtracted the penalty: it must be added, so that an active unit costs something.",
            lambda x, x_hat, z, lam: _recon(x, x_hat) - lam * z.abs().sum(-1).mean()),
    Mistake("You penalised the reconstruction `x_hat`; the penalty is on the code `z`.",
            lambda x, x_hat, z, lam: _recon(x, x_hat) + lam * x_hat.abs().sum(-1).mean()),
]


def _loss_args(n: int, d: int, h: int, seed: int, lam: float, signed: bool = False, **kw) -> tuple:
    x = images(n, d, seed, **kw)
    x_hat = x + 0.3 * rand(n, d, seed=seed + 100, **kw)
    z = (_signed_code if signed else _relu_code)(n, h, seed + 200, **kw)
    return x, x_hat, z, lam


@check(LESSON, reference=sparsity.sparse_loss, mistakes=SPARSE_LOSS_MISTAKES, rtol=1e-5, atol=1e-5,
       grad_cases=("inputs that require grad, lam=0.2", "float64, lam=0.05"))
def check_sparse_loss():
    """Grade ``sparse_loss(x, x_hat, z, lam)``: reconstruction error plus the L1 penalty."""
    device = get_device()

    def zeros() -> tuple:
        x = images(3, 10, seed=14)
        return x, x.clone(), torch.zeros(3, 6), 0.5

    return [
            Case("batch of 4, 12 pixels, 6 units, lam=0.3", lambda: _loss_args(4, 12, 6, 10, 0.3)),
            Case("code with negative entries (like a pre-activation), lam=0.5",
                 lambda: _loss_args(5, 12, 7, 11, 0.5, signed=True)),
            Case("batch of 1, lam=2.0", lambda: _loss_args(1, 12, 6, 12, 2.0)),
            Case("lam=0: only the reconstruction error", lambda: _loss_args(4, 12, 6, 13, 0.0)),
            Case("perfect reconstruction and all-zero code", zeros),
            Case("float64, lam=0.05", lambda: _loss_args(6, 9, 5, 15, 0.05, dtype=torch.float64)),
            Case("inputs that require grad, lam=0.2",
                 lambda: (*with_grad(*_loss_args(4, 12, 8, 16, 0.2, signed=True)[:3]), 0.2)),
            Case(f"tensors on {device}, lam=1e-3", lambda: _loss_args(64, 784, 1024, 17, 1e-3, device=device)),
    ]


# ---------------------------------------------------------------- l2_penalty


L2_MISTAKES = [
    Mistake("You used the absolute value (that is the L1 penalty); L2 squares each entry.",
            lambda z, lam: lam * z.abs().sum(-1).mean()),
    Mistake("`z.norm(dim=-1)` takes a square root; the L2 penalty is the *squared* norm, "
            "`z.pow(2).sum(-1)`.",
            lambda z, lam: lam * z.norm(dim=-1).mean()),
    Mistake("You summed over the batch too: sum z² over the units of each sample, then average over "
            "the batch.",
            lambda z, lam: lam * z.pow(2).sum()),
    Mistake("You averaged over the units; sum z² over the units, then average over the batch.",
            lambda z, lam: lam * z.pow(2).mean()),
    Mistake("You summed over the batch dimension (dim 0): sum over the units (`.sum(-1)`), then "
            "`.mean()`.",
            lambda z, lam: lam * z.pow(2).sum(0).mean()),
    Mistake("You forgot to multiply by `lam`.",
            lambda z, lam: z.pow(2).sum(-1).mean()),
    Mistake("You added a factor 1/2 (the weight-decay convention); the course's L2 penalty is "
            "`lam * sum_i z_i**2`, without the 1/2.",
            lambda z, lam: 0.5 * lam * z.pow(2).sum(-1).mean()),
]


@check(LESSON, reference=sparsity.l2_penalty, mistakes=L2_MISTAKES, grad_cases=_CODE_GRAD_CASES)
def check_l2_penalty():
    """Grade ``l2_penalty(z, lam)``: ``lam`` times the per-sample sum of z², averaged over the batch."""
    return _code_cases(get_device())


# ---------------------------------------------------------------- decoder_weighted_l1


DECODER_L1_MISTAKES = [
    Mistake("You took the norms of the rows (`dim=1`). Column j of `W_dec` (shape (n_in, n_latent)) "
            "is the image latent j writes, so use `W_dec.norm(dim=0)`, one norm per latent.",
            lambda z, W, lam: lam * (z.abs() * W.norm(dim=1)).sum(-1).mean()),
    Mistake("You used squared column norms; weight |z_j| by the norm itself, "
            "`W_dec.norm(dim=0)`, so the penalty is unchanged when z shrinks and W_dec grows.",
            lambda z, W, lam: lam * (z.abs() * W.pow(2).sum(0)).sum(-1).mean()),
    Mistake("You forgot the absolute value of z. " + _PRE_ACTIVATION_NOTE,
            lambda z, W, lam: lam * (z * W.norm(dim=0)).sum(-1).mean()),
    Mistake("You left out the decoder: each |z_j| must be multiplied by the norm of decoder column "
            "j, `W_dec.norm(dim=0)`.",
            lambda z, W, lam: lam * z.abs().sum(-1).mean()),
    Mistake("You summed over the batch too; average over the batch.",
            lambda z, W, lam: lam * (z.abs() * W.norm(dim=0)).sum()),
    Mistake("You forgot to multiply by `lam`.",
            lambda z, W, lam: (z.abs() * W.norm(dim=0)).sum(-1).mean()),
    Mistake("You weighted by the sum of absolute values of each column (its L1 norm); use the "
            "Euclidean length of each column, `W_dec.norm(dim=0)`.",
            lambda z, W, lam: lam * (z.abs() * W.abs().sum(0)).sum(-1).mean()),
    Mistake("You multiplied by the norm of the whole matrix; each latent j gets the norm of its own "
            "column, `W_dec.norm(dim=0)`.",
            lambda z, W, lam: lam * z.abs().sum(-1).mean() * W.norm()),
]


def _weighted_args(n: int, d: int, h: int, seed: int, lam: float, signed: bool = False,
                   unit: bool = False, **kw) -> tuple:
    z = (_signed_code if signed else _relu_code)(n, h, seed, **kw)
    W = rand(d, h, seed=seed + 50, **kw) * (1 + torch.arange(h, **kw))  # columns of different norms
    if unit:
        W = sparsity.renormalize_columns(W)
    return z, W, lam


@check(LESSON, reference=sparsity.decoder_weighted_l1, mistakes=DECODER_L1_MISTAKES,
       grad_cases=("code and decoder that require grad, lam=0.2", "float64, lam=0.05"))
def check_decoder_weighted_l1():
    """Grade ``decoder_weighted_l1(z, W_dec, lam)``: ``lam * (|z| * ||W_dec[:, j]||).sum(-1).mean()``."""
    device = get_device()
    return [
            # square first: a norm over the wrong dimension still has the right shape here
            Case("square decoder (6 pixels, 6 latents), batch of 4, lam=0.3",
                 lambda: _weighted_args(4, 6, 6, 20, 0.3)),
            Case("decoder of 12 pixels and 5 latents, batch of 3, lam=0.1",
                 lambda: _weighted_args(3, 12, 5, 21, 0.1)),
            Case("code with negative entries (like a pre-activation), lam=0.5",
                 lambda: _weighted_args(5, 10, 7, 22, 0.5, signed=True)),
            Case("unit-norm columns: same as the plain L1 penalty, lam=0.2",
                 lambda: _weighted_args(4, 10, 6, 23, 0.2, unit=True)),
            Case("batch of 1, lam=2.0", lambda: _weighted_args(1, 8, 4, 24, 2.0)),
            Case("all-zero code, lam=0.1", lambda: (torch.zeros(3, 5), rand(9, 5, seed=25), 0.1)),
            Case("float64, lam=0.05", lambda: _weighted_args(5, 8, 6, 26, 0.05, dtype=torch.float64)),
            Case("code and decoder that require grad, lam=0.2",
                 lambda: (*with_grad(*_weighted_args(4, 10, 6, 27, 0.2, signed=True)[:2]), 0.2)),
            Case(f"tensors on {device}, lam=1e-3",
                 lambda: _weighted_args(64, 784, 1024, 28, 1e-3, device=device)),
    ]


# ---------------------------------------------------------------- renormalize_columns


RENORMALIZE_MISTAKES = [
    Mistake("You normalised the rows. Each *column* (one per latent) should get unit norm: "
            "`W.norm(dim=0, keepdim=True)`.",
            lambda W: W / W.norm(dim=1, keepdim=True).clamp_min(1e-8)),
    Mistake("`W.norm(dim=1)` without `keepdim` broadcasts the row norms across the columns. Use "
            "`W.norm(dim=0, keepdim=True)`: one norm per column.",
            lambda W: W / W.norm(dim=1).clamp_min(1e-8)),
    Mistake("You divided by the norm of the whole matrix; each column needs its own norm, "
            "`W.norm(dim=0, keepdim=True)`.",
            lambda W: W / W.norm()),
    Mistake("You divided by the squared norms; divide by the norms themselves.",
            lambda W: W / W.pow(2).sum(0, keepdim=True).clamp_min(1e-8)),
    Mistake("You divided by the sum of absolute values (the L1 norm); unit norm here means unit "
            "Euclidean length, `W.norm(dim=0, keepdim=True)`.",
            lambda W: W / W.abs().sum(0, keepdim=True).clamp_min(1e-8)),
    Mistake("You divided by the largest entry of each column; divide by its Euclidean length.",
            lambda W: W / W.abs().amax(0, keepdim=True).clamp_min(1e-8)),
    Mistake("A zero column gave NaN (0 / 0). Clamp the norms before dividing, e.g. "
            "`W.norm(dim=0, keepdim=True).clamp_min(1e-8)`, so zero columns stay zero.",
            lambda W: W / W.norm(dim=0, keepdim=True)),
    Mistake("You multiplied by the column norms; divide by them.",
            lambda W: W * W.norm(dim=0, keepdim=True)),
    Mistake("Only columns longer than 1 were shrunk (e.g. `W.norm(...).clamp_min(1.0)`): columns "
            "shorter than 1 must grow to unit norm too. A freshly initialised decoder has columns of "
            "norm about 0.5, so this version would leave it unchanged.",
            lambda W: W / W.norm(dim=0, keepdim=True).clamp_min(1.0)),
]


@check(LESSON, reference=sparsity.renormalize_columns, mistakes=RENORMALIZE_MISTAKES)
def check_renormalize_columns():
    """Grade ``renormalize_columns(W)``: a new tensor whose columns have unit L2 norm."""
    device = get_device()

    def with_zero_column() -> tuple[torch.Tensor]:
        W = rand(7, 4, seed=32)
        W[:, 2] = 0
        return (W,)

    return [
            Case("square 5 x 5 matrix", lambda: (rand(5, 5, seed=30) * 3,)),
            Case("decoder of 12 pixels and 4 latents", lambda: (rand(12, 4, seed=31) * 2,)),
            Case("a zero column stays zero", with_zero_column),
            Case("columns that already have unit norm",
                 lambda: (sparsity.renormalize_columns(rand(6, 3, seed=33)),)),
            Case("short columns (norms below 1, as a fresh decoder has)", lambda: (rand(20, 6, seed=38) * 0.1,)),
            Case("one latent (a single column)", lambda: (rand(9, 1, seed=34),)),
            Case("float64", lambda: (rand(10, 6, seed=35, dtype=torch.float64) * 5,)),
            Case("matrix that requires grad", lambda: with_grad(rand(8, 5, seed=36))),
            Case(f"784 x 1024 decoder on {device}", lambda: (rand(784, 1024, seed=37, device=device) * 0.1,)),
    ]


__all__ = exported(LESSON)
