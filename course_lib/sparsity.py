"""Reference sparsity penalties and activations; the graded exercises are checked against these.

Shapes: a code ``z`` is (batch, n_latent); penalties return a 0-d tensor that backpropagates.
"""
from __future__ import annotations

import torch

from . import validate
from .metrics import reconstruction_error


def _check_rho(rho: float) -> float:
    try:
        value = validate.number("rho", rho)
    except (TypeError, ValueError):
        value = None
    if value is None or not 0.0 < value < 1.0:
        raise ValueError(f"rho is a target firing rate and must lie strictly between 0 and 1, got {rho!r}")
    return value


def _rates(rho_hat: torch.Tensor) -> torch.Tensor:
    rho_hat = validate.tensor("rho_hat", rho_hat)
    validate.in_range("rho_hat", rho_hat, 0.0, 1.0, "mean activations of sigmoid units; clamp them away "
                      "from 0 and 1 before taking the KL, as kl_sparsity_penalty does")
    return rho_hat


def l1_penalty(z: torch.Tensor, lam: float) -> torch.Tensor:
    """``lam * sum_i |z_i|``, summed over units and averaged over the batch. z: (B, H) -> ()."""
    z, lam = validate.batch("z", z), validate.weight("lam", lam)
    return lam * z.abs().sum(-1).mean()


def l2_penalty(z: torch.Tensor, lam: float) -> torch.Tensor:
    """``lam * sum_i z_i**2``, summed over units and averaged over the batch. z: (B, H) -> ()."""
    z, lam = validate.batch("z", z), validate.weight("lam", lam)
    return lam * z.pow(2).sum(-1).mean()


def sparse_loss(x: torch.Tensor, x_hat: torch.Tensor, z: torch.Tensor, lam: float) -> torch.Tensor:
    """Reconstruction error plus ``l1_penalty(z, lam)``: the L1 sparse autoencoder's loss, ()."""
    return reconstruction_error(x, x_hat) + l1_penalty(z, lam)


def decoder_weighted_l1(z: torch.Tensor, W_dec: torch.Tensor, lam: float) -> torch.Tensor:
    """``lam * sum_j |z_j| * ||W_dec[:, j]||``, summed over units, averaged over the batch.

    z: (B, H); W_dec: (D, H). Unchanged when a code shrinks by c and its decoder column grows by c.
    """
    z, lam = validate.batch("z", z), validate.weight("lam", lam)
    W_dec = validate.tensor("W_dec", W_dec, dims=2, shape="(n_in, n_latent)")
    if W_dec.shape[1] != z.shape[1]:
        raise ValueError(f"W_dec has {W_dec.shape[1]} columns but z has {z.shape[1]} latents: W_dec must be "
                         f"(n_in, n_latent) with one column per latent (nn.Linear(n_latent, n_in).weight).")
    return lam * (z.abs() * W_dec.norm(dim=0)).sum(-1).mean()


def renormalize_columns(W: torch.Tensor) -> torch.Tensor:
    """A copy of W (D, H) whose non-zero columns have unit L2 norm; zero columns stay zero.

    A stack of decoders (D, models, H) is normalised column by column along its first axis too.
    """
    W = validate.tensor("W", W, dims=(2, 3), shape="(n_in, n_latent) or (n_in, models, n_latent)")
    return W / W.norm(dim=0, keepdim=True).clamp_min(1e-8)


def project_decoder_grad(W: torch.Tensor, G: torch.Tensor) -> torch.Tensor:
    """G (D, H) without its component along each column of W: ``g_j - (w_j . g_j / ||w_j||^2) w_j``.

    The gradient of a decoder whose columns are kept at unit norm: a step along it leaves each
    column's length unchanged to first order. Zero columns leave their gradient as it is.
    """
    if not isinstance(W, torch.Tensor) or not isinstance(G, torch.Tensor) or W.shape != G.shape:
        raise ValueError(f"W and its gradient G must be tensors of the same shape, got "
                         f"{getattr(W, 'shape', type(W).__name__)} and {getattr(G, 'shape', type(G).__name__)}")
    along = (W * G).sum(0, keepdim=True) / W.pow(2).sum(0, keepdim=True).clamp_min(1e-16)
    return G - along * W


def mean_activation(a: torch.Tensor) -> torch.Tensor:
    """Per-unit mean activation over the batch, ``rho_hat``. a: (B, H) -> (H,)."""
    return validate.batch("a", a).mean(0)


def kl_divergence(rho: float, rho_hat: torch.Tensor) -> torch.Tensor:
    """Bernoulli KL(rho || rho_hat), elementwise; rho_hat entries must be in (0, 1)."""
    rho, rho_hat = _check_rho(rho), _rates(rho_hat)
    return rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))


def kl_divergence_swapped(rho: float, rho_hat: torch.Tensor) -> torch.Tensor:
    """KL(rho_hat || rho), elementwise: the argument order some tutorials use by mistake.

    It stays small as rho_hat -> 0, so as a penalty it barely resists dead units (lesson 03).
    """
    rho, rho_hat = _check_rho(rho), _rates(rho_hat)
    return rho_hat * torch.log(rho_hat / rho) + (1 - rho_hat) * torch.log((1 - rho_hat) / (1 - rho))


def kl_sparsity_penalty(a: torch.Tensor, rho: float, beta: float, eps: float = 1e-6) -> torch.Tensor:
    """``beta * sum_j KL(rho || rho_hat_j)`` for codes a in (0, 1); rho_hat clamped to (eps, 1-eps)."""
    a, beta = validate.batch("a", a), validate.weight("beta", beta)
    validate.in_range("a", a.detach(), 0.0, 1.0, "the KL penalty treats each code as a firing "
                      "probability: use activation='sigmoid' codes, not ReLU or linear ones")
    rho_hat = mean_activation(a).clamp(eps, 1 - eps)
    return beta * kl_divergence(rho, rho_hat).sum()


def topk_activation(z: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the k largest entries of each row of z as they are and zero the rest. z: (B, H) -> (B, H).

    Gradients flow only through the kept entries.
    """
    z = validate.tensor("z", z, dims=(1, 2), shape="(batch, n_latent)")
    n = z.shape[-1]
    k = validate.count("k", k, low=1, high=n)
    values, indices = z.topk(k, dim=-1)
    return torch.zeros_like(z).scatter(-1, indices, values)
