"""JumpReLU SAE (Rajamanoharan et al. 2024, "Jumping Ahead: Improving Reconstruction Fidelity with
JumpReLU Sparse Autoencoders").

Each latent j has its own threshold theta_j > 0 (stored as ``log_threshold``)::

    z = JumpReLU_theta(pre) = pre * H(pre - theta)          # H: the Heaviside step
    loss = ||x - x_hat||^2 + lam * sum_j H(pre_j - theta_j)  # an L0 penalty (batch mean)

H has zero derivative almost everywhere, so theta would never learn. The paper's
straight-through estimators replace the missing derivatives with respect to theta by a kernel
density estimate with bandwidth eps and the rectangle kernel ``K(u) = 1 if |u| < 1/2 else 0``::

    d/dtheta JumpReLU_theta(p) := -(theta / eps) K((p - theta) / eps)
    d/dtheta H(p - theta)      := -(1 / eps) K((p - theta) / eps)

while the derivative with respect to ``p`` stays the exact one (H(p - theta) for JumpReLU, 0 for
the step). Only samples within eps/2 of a threshold move it. Both are ``torch.autograd.Function``
subclasses: :func:`jumprelu` and :func:`step`. Shapes: pre (B, n); threshold (n,) or a scalar.
"""
from __future__ import annotations

import math

import torch

from ..metrics import reconstruction_error
from .base import SAE


def rectangle(u: torch.Tensor) -> torch.Tensor:
    """The rectangle kernel ``K(u) = 1`` where ``|u| < 1/2``, else 0 (same dtype as u)."""
    return (u.abs() < 0.5).to(u.dtype)


def _check(h: torch.Tensor, threshold: torch.Tensor, bandwidth: float) -> None:
    if not isinstance(h, torch.Tensor) or not isinstance(threshold, torch.Tensor):
        raise TypeError("h and threshold must be tensors (threshold: one per latent, or a 0-d tensor)")
    if not bandwidth > 0:
        raise ValueError(f"bandwidth must be > 0, got {bandwidth!r}")


class JumpReLUFunction(torch.autograd.Function):
    """``h * (h > threshold)`` with the straight-through derivative for the threshold."""

    @staticmethod
    def forward(ctx, h, threshold, bandwidth):
        ctx.save_for_backward(h, threshold)
        ctx.bandwidth = bandwidth
        return h * (h > threshold).to(h.dtype)

    @staticmethod
    def backward(ctx, grad_out):
        h, threshold = ctx.saved_tensors
        eps = ctx.bandwidth
        grad_h = grad_out * (h > threshold).to(h.dtype)
        grad_t = -(threshold / eps) * rectangle((h - threshold) / eps) * grad_out
        return grad_h, grad_t.sum_to_size(threshold.shape), None


class StepFunction(torch.autograd.Function):
    """``H(h - threshold)`` as 0/1 values with the straight-through derivative for the threshold."""

    @staticmethod
    def forward(ctx, h, threshold, bandwidth):
        ctx.save_for_backward(h, threshold)
        ctx.bandwidth = bandwidth
        return (h > threshold).to(h.dtype)

    @staticmethod
    def backward(ctx, grad_out):
        h, threshold = ctx.saved_tensors
        eps = ctx.bandwidth
        grad_t = -(1.0 / eps) * rectangle((h - threshold) / eps) * grad_out
        return torch.zeros_like(h), grad_t.sum_to_size(threshold.shape), None


def jumprelu(h: torch.Tensor, threshold: torch.Tensor, bandwidth: float = 0.1) -> torch.Tensor:
    """JumpReLU: h (B, n) where ``h > threshold``, else 0; straight-through gradient for threshold."""
    _check(h, threshold, bandwidth)
    return JumpReLUFunction.apply(h, threshold, bandwidth)


def step(h: torch.Tensor, threshold: torch.Tensor, bandwidth: float = 0.1) -> torch.Tensor:
    """Heaviside step ``H(h - threshold)`` (B, n) of 0/1 values; straight-through gradient for threshold."""
    _check(h, threshold, bandwidth)
    return StepFunction.apply(h, threshold, bandwidth)


class JumpReLUSAE(SAE):
    """Per-latent thresholds, an L0 penalty ``lam * L0``; ``bandwidth`` is the kernel's eps.

    The L0 coefficient ramps up linearly over the first ``warmup_steps`` steps, as in the paper.
    """

    family = "JumpReLU"

    def __init__(self, n_in: int, n_latent: int, lam: float, *, bandwidth: float = 0.1,
                 init_threshold: float = 1.0, warmup_steps: int = 100, **kwargs) -> None:
        if not lam >= 0 or not bandwidth > 0 or not init_threshold > 0:
            raise ValueError("lam must be >= 0, bandwidth and init_threshold > 0")
        super().__init__(n_in, n_latent, **kwargs)
        self.lam, self.bandwidth, self.warmup_steps = float(lam), float(bandwidth), int(warmup_steps)
        self.log_threshold = torch.nn.Parameter(torch.full((n_latent,), math.log(init_threshold)))
        self.steps = 0

    @property
    def threshold(self) -> torch.Tensor:
        """(n,) the thresholds theta_j = exp(log_threshold_j)."""
        return self.log_threshold.exp()

    def activation(self, pre: torch.Tensor) -> torch.Tensor:
        return jumprelu(pre, self.threshold, self.bandwidth)

    def training_loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        pre = self.pre_activation(x)
        theta = self.threshold
        x_hat = self.decode(jumprelu(pre, theta, self.bandwidth))
        recon = reconstruction_error(x, x_hat)
        ramp = min(1.0, (self.steps + 1) / max(self.warmup_steps, 1))
        l0 = step(pre, theta, self.bandwidth).sum(-1).mean()
        penalty = ramp * self.lam * l0
        return {"loss": recon + penalty, "recon": recon, "sparsity": penalty}

    def after_step(self, x: torch.Tensor) -> None:
        self.steps += 1
