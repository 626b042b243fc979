"""The L1 baseline: a ReLU code whose penalty is weighted by the decoder norms.

``z = relu(W_enc (x - b_dec) + b_enc)`` and the loss is

    ||x - x_hat||^2 + lam * sum_j z_j ||W_dec[:, j]||         (batch mean)

(lessons 02 and 05; the weighting, from Anthropic's "Towards Monosemanticity" update of April
2024, makes the penalty blind to trading code size against decoder norm, so the decoder norms are
left free instead of being held at 1). Shapes: x (B, d), z (B, n), ``decoder_weight`` (d, n).
"""
from __future__ import annotations

import torch

from ..metrics import reconstruction_error
from ..sparsity import decoder_weighted_l1
from .base import SAE


class L1SAE(SAE):
    """ReLU SAE trained with :func:`course_lib.sparsity.decoder_weighted_l1` (coefficient ``lam``)."""

    family = "L1"

    def __init__(self, n_in: int, n_latent: int, lam: float, **kwargs) -> None:
        if not lam >= 0:
            raise ValueError(f"lam must be >= 0, got {lam!r}")
        super().__init__(n_in, n_latent, unit_norm_decoder=False, **kwargs)
        self.lam = float(lam)

    def activation(self, pre: torch.Tensor) -> torch.Tensor:
        return torch.relu(pre)

    def training_loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x_hat, z = self(x)
        recon = reconstruction_error(x, x_hat)
        penalty = decoder_weighted_l1(z, self.decoder_weight, self.lam)
        return {"loss": recon + penalty, "recon": recon, "sparsity": penalty}
