"""BatchTopK SAE (Bussmann, Leask & Nanda 2024, "BatchTopK Sparse Autoencoders").

In training, the code keeps the ``k * B`` largest entries of the *whole batch* of ReLU
pre-activations (:func:`batch_topk`), so the average L0 is k while each sample may use more or
fewer latents. A batch-level rule cannot be applied to one input at inference, so when training
ends the model estimates a single threshold theta (:meth:`BatchTopKSAE.calibrate_threshold`): the
mean, over batches of the training data, of the smallest entry batch top-k keeps, computed with
the final weights. It then encodes with ``z = relu(pre) * (pre > theta)`` in eval mode.
(A running mean kept during a short training run lags behind: it still remembers the large
values of the first steps, and the inference L0 falls well below k.)
Shapes: x (B, d), z (B, n); decoder columns of unit norm; AuxK as in TopK.
"""
from __future__ import annotations

import torch

from .. import validate
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

    def __init__(self, n_in: int, n_latent: int, k: int, *, aux_coef: float = 0.25, **kwargs) -> None:
        super().__init__(n_in, n_latent, **kwargs)
        self.k = _check_k(k, n_latent)
        self.auxk = AuxK(n_latent, coef=aux_coef) if aux_coef > 0 else None
        self.register_buffer("threshold", torch.tensor(float("nan")))

    def activation(self, pre: torch.Tensor) -> torch.Tensor:
        z = torch.relu(pre)
        if self.training:
            return batch_topk(z, self.k)
        if torch.isnan(self.threshold):
            raise RuntimeError("the inference threshold is not estimated yet: train the model with "
                               "saes.train_sae, or call model.calibrate_threshold(X) on training data "
                               "(or call model.train() to use batch top-k)")
        return z * (z > self.threshold)

    @torch.no_grad()
    def calibrate_threshold(self, X: torch.Tensor, batch_size: int = 512) -> float:
        """Set ``threshold`` from training data X (N, d) and return it.

        theta is the mean, over the batches ``X[i : i + batch_size]``, of the smallest positive
        entry that :func:`batch_topk` keeps; batches in which nothing is positive are skipped,
        and theta is 0 if that is all of them. ``ValueError`` for a bad X or batch_size.
        """
        validate.batch("X", X, shape="(N, features)")
        validate.count("batch_size", batch_size)
        smallest = []
        for i in range(0, len(X), batch_size):
            kept = batch_topk(torch.relu(self.pre_activation(X[i : i + batch_size])), self.k)
            kept = kept[kept > 0]
            if kept.numel():
                smallest.append(kept.min())
        theta = torch.stack(smallest).mean() if smallest else self.threshold.new_zeros(())
        self.threshold.copy_(theta)
        return float(theta)

    def after_training(self, X: torch.Tensor, batch_size: int) -> None:
        self.calibrate_threshold(X, batch_size)

    def training_loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x_hat, z = self(x)
        recon = reconstruction_error(x, x_hat)
        aux = self.auxk(x, x_hat, z, self) if self.auxk is not None else recon.new_zeros(())
        return {"loss": recon + aux, "recon": recon, "aux": aux}
