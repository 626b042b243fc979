"""TopK SAE (Makhzani & Frey 2013; Gao et al. 2024, "Scaling and evaluating sparse autoencoders").

``z = relu(topk(W_enc (x - b_dec) + b_enc, k))``: each row keeps its k largest pre-activations,
so L0 is at most k by construction and there is no penalty to tune. Loss: reconstruction plus the
AuxK term of :class:`course_lib.topk.AuxK` (dead latents asked to explain the residual).
Shapes: x (B, d), z (B, n); decoder columns of unit norm.
"""
from __future__ import annotations

import torch

from ..metrics import reconstruction_error
from ..sparsity import topk_activation
from ..topk import AuxK
from .base import SAE


def _check_k(k: int, n_latent: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n_latent:
        raise ValueError(f"k must be an integer in 1..n_latent={n_latent}, got {k!r}")
    return k


class TopKSAE(SAE):
    """Per-sample top-k code; ``aux_coef`` weighs AuxK (0 turns it off)."""

    family = "TopK"

    def __init__(self, n_in: int, n_latent: int, k: int, *, aux_coef: float = 0.25, **kwargs) -> None:
        super().__init__(n_in, n_latent, **kwargs)
        self.k = _check_k(k, n_latent)
        self.auxk = AuxK(n_latent, coef=aux_coef) if aux_coef > 0 else None

    def activation(self, pre: torch.Tensor) -> torch.Tensor:
        return torch.relu(topk_activation(pre, self.k))

    def training_loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x_hat, z = self(x)
        recon = reconstruction_error(x, x_hat)
        aux = self.auxk(x, x_hat, z, self) if self.auxk is not None else recon.new_zeros(())
        return {"loss": recon + aux, "recon": recon, "aux": aux}
