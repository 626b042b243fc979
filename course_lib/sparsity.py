"""Reference sparsity penalties and activations; the graded exercises are checked against these.

Shapes: a code ``z`` is (batch, n_latent); penalties return a 0-d tensor that backpropagates.
"""
from __future__ import annotations

import torch

from .metrics import reconstruction_error


def _check_rho(rho: float) -> None:
    if not (isinstance(rho, (float, int)) and 0.0 < float(rho) < 1.0):
        raise ValueError(f"rho is a target firing rate and must lie strictly between 0 and 1, got {rho!r}")


def _check_code(z: torch.Tensor, name: str = "z") -> None:
    if not isinstance(z, torch.Tensor) or z.dim() != 2:
        shape = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
        raise ValueError(f"{name} must be a tensor of shape (batch, n_latent), got {shape}")


def l1_penalty(z: torch.Tensor, lam: float) -> torch.Tensor:
    """``lam * sum_i |z_i|``, summed over units and averaged over the batch. z: (B, H) -> ()."""
    return lam * z.abs().sum(-1).mean()


def l2_penalty(z: torch.Tensor, lam: float) -> torch.Tensor:
    """``lam * sum_i z_i**2``, summed over units and averaged over the batch. z: (B, H) -> ()."""
    return lam * z.pow(2).sum(-1).mean()


def sparse_loss(x: torch.Tensor, x_hat: torch.Tensor, z: torch.Tensor, lam: float) -> torch.Tensor:
    """Reconstruction error plus ``l1_penalty(z, lam)``: the L1 sparse autoencoder's loss, ()."""
    return reconstruction_error(x, x_hat) + l1_penalty(z, lam)


def decoder_weighted_l1(z: torch.Tensor, W_dec: torch.Tensor, lam: float) -> torch.Tensor:
    """``lam * sum_j |z_j| * ||W_dec[:, j]||``, summed over units, averaged over the batch.

    z: (B, H); W_dec: (D, H). Unchanged when a code shrinks by c and its decoder column grows by c.
    """
    return lam * (z.abs() * W_dec.norm(dim=0)).sum(-1).mean()


def renormalize_columns(W: torch.Tensor) -> torch.Tensor:
    """A copy of W (D, H) whose non-zero columns have unit L2 norm; zero columns stay zero."""
    return W / W.norm(dim=0, keepdim=True).clamp_min(1e-8)


def mean_activation(a: torch.Tensor) -> torch.Tensor:
    """Per-unit mean activation over the batch, ``rho_hat``. a: (B, H) -> (H,)."""
    _check_code(a, "a")
    return a.mean(0)


def kl_divergence(rho: float, rho_hat: torch.Tensor) -> torch.Tensor:
    """Bernoulli KL(rho || rho_hat), elementwise; rho_hat entries must be in (0, 1)."""
    _check_rho(rho)
    return rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))


def kl_divergence_swapped(rho: float, rho_hat: torch.Tensor) -> torch.Tensor:
    """KL(rho_hat || rho), elementwise: the argument order some tutorials use by mistake.

    It stays small as rho_hat -> 0, so as a penalty it barely resists dead units (lesson 03).
    """
    _check_rho(rho)
    return rho_hat * torch.log(rho_hat / rho) + (1 - rho_hat) * torch.log((1 - rho_hat) / (1 - rho))


def kl_sparsity_penalty(a: torch.Tensor, rho: float, beta: float, eps: float = 1e-6) -> torch.Tensor:
    """``beta * sum_j KL(rho || rho_hat_j)`` for codes a in (0, 1); rho_hat clamped to (eps, 1-eps)."""
    rho_hat = mean_activation(a).clamp(eps, 1 - eps)
    return beta * kl_divergence(rho, rho_hat).sum()


def topk_activation(z: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the k largest entries of each row of z as they are and zero the rest. z: (B, H) -> (B, H).

    Gradients flow only through the kept entries.
    """
    if z.dim() < 1:
        raise ValueError("topk_activation needs a code of shape (batch, n_latent)")
    n = z.shape[-1]
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n:
        raise ValueError(f"k must be an integer in 1..{n} (the number of latents), got {k!r}")
    values, indices = z.topk(k, dim=-1)
    return torch.zeros_like(z).scatter(-1, indices, values)
