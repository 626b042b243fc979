"""BatchTopK SAE (Bussmann, Leask & Nanda 2024, "BatchTopK Sparse Autoencoders").

In training, the code keeps the ``k * B`` largest entries of the *whole batch* of ReLU
pre-activations (:func:`batch_topk`), so the average L0 is k while each sample may use more or
fewer latents. A batch-level rule cannot be applied to one input at inference, so the model also
estimates a single threshold theta, the running mean of the smallest entry each training batch
kept, and encodes with ``z = relu(pre) * (pre > theta)`` in eval mode.
Shapes: x (B, d), z (B, n); decoder columns of unit norm; AuxK as in TopK.
"""
from __future__ import annotations

import torch

from ..metrics import reconstruction_error
from ..topk import AuxK
from .base import SAE
from .topk import _check_k


def batch_topk(z: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the ``k * B`` largest entries of the whole batch z (B, n) as they are; zero the rest.

    ``k`` is the average number kept per row: a row may keep more or fewer than k. Gradients flow
    only through the kept entries. ``ValueError`` unless z is 2-d and k an integer in 1..n.

        >>> batch_topk(torch.tensor([[3., 2.], [1., 0.5]]), 1)   # per-row top-1 would keep 3 and 1
        tensor([[3., 2.],
                [0., 0.]])
    """
    if not isinstance(z, torch.Tensor) or z.dim() != 2:
        raise ValueError(f"z must be a batch of codes of shape (B, n), got {getattr(z, 'shape', type(z))}")
    _check_k(k, z.shape[1])
    flat = z.reshape(-1)
    values, indices = flat.topk(k * z.shape[0])
    return torch.zeros_like(flat).scatter(0, indices, values).reshape(z.shape)


class BatchTopKSAE(SAE):
    """Batch top-k in training, one global threshold (buffer ``threshold``) at inference."""

    family = "BatchTopK"

    def __init__(self, n_in: int, n_latent: int, k: int, *, aux_coef: float = 0.25,
                 threshold_decay: float = 0.99, **kwargs) -> None:
        super().__init__(n_in, n_latent, **kwargs)
        self.k = _check_k(k, n_latent)
        self.auxk = AuxK(n_latent, coef=aux_coef) if aux_coef > 0 else None
        self.threshold_decay = float(threshold_decay)
        self.register_buffer("threshold", torch.tensor(float("nan")))
        self._batch_min: torch.Tensor | None = None

    def activation(self, pre: torch.Tensor) -> torch.Tensor:
        z = torch.relu(pre)
        if self.training:
            return batch_topk(z, self.k)
        if torch.isnan(self.threshold):
            raise RuntimeError("the inference threshold is not estimated yet: train the model first "
                               "(or call model.train() to use batch top-k)")
        return z * (z > self.threshold)

    def _track(self, z: torch.Tensor) -> None:
        kept = z.detach()[z.detach() > 0]
        self._batch_min = kept.min() if kept.numel() else None

    def after_step(self, x: torch.Tensor) -> None:
        if self._batch_min is None:
            return
        if torch.isnan(self.threshold):
            self.threshold.copy_(self._batch_min)
        else:
            self.threshold.lerp_(self._batch_min, 1 - self.threshold_decay)

    def training_loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x_hat, z = self(x)
        self._track(z)
        recon = reconstruction_error(x, x_hat)
        aux = self.auxk(x, x_hat, z, self) if self.auxk is not None else recon.new_zeros(())
        return {"loss": recon + aux, "recon": recon, "aux": aux}
