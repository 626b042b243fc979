"""Matryoshka SAE (Bussmann et al. 2025, "Learning Multi-Level Features with Matryoshka SAEs";
Nabeshima 2024).

The dictionary is read as nested prefixes: latents ``0..m_1-1``, ``0..m_2-1``, ..., all of them.
Each prefix must reconstruct the input *on its own*::

    loss = mean over m in prefixes of ||x - (W_dec[:, :m] z[:, :m] + b_dec)||^2

so the first latents are pushed to carry general, frequently useful directions (a small prefix
cannot afford to leave a parent concept to its children), and later ones add detail. The code is
BatchTopK's (:mod:`course_lib.saes.batchtopk`), with its inference threshold and AuxK term.
Shapes: x (B, d), z (B, n), decoder_weight (d, n), b_dec (d,).
"""
from __future__ import annotations

from typing import Sequence

import torch

from ..metrics import reconstruction_error
from .batchtopk import BatchTopKSAE


def _check_prefixes(prefixes: Sequence[int], n_latent: int) -> list[int]:
    sizes = [int(m) for m in prefixes]
    if not sizes or sizes != sorted(set(sizes)) or sizes[0] < 1 or sizes[-1] > n_latent:
        raise ValueError(f"prefixes must be increasing sizes in 1..{n_latent}, got {list(prefixes)!r}")
    return sizes


def matryoshka_loss(x: torch.Tensor, z: torch.Tensor, decoder_weight: torch.Tensor,
                    b_dec: torch.Tensor, prefixes: Sequence[int]) -> torch.Tensor:
    """Mean over the prefix sizes m of the reconstruction error of the first m latents alone.

    x (B, d), z (B, n), decoder_weight (d, n), b_dec (d,); prefixes: increasing sizes in 1..n.
    Each term is :func:`course_lib.metrics.reconstruction_error` (squared error summed over
    features, batch mean) of ``z[:, :m] @ decoder_weight[:, :m].T + b_dec``. Returns a 0-d tensor.
    """
    sizes = _check_prefixes(prefixes, z.shape[-1])
    terms = [reconstruction_error(x, z[:, :m] @ decoder_weight[:, :m].t() + b_dec) for m in sizes]
    return torch.stack(terms).mean()


class MatryoshkaSAE(BatchTopKSAE):
    """BatchTopK code trained with :func:`matryoshka_loss` over ``prefixes`` (the last is n)."""

    family = "Matryoshka"

    def __init__(self, n_in: int, n_latent: int, k: int, *, prefixes: Sequence[int] | None = None,
                 **kwargs) -> None:
        super().__init__(n_in, n_latent, k, **kwargs)
        if prefixes is None:
            prefixes = [m for m in (n_latent // 16, n_latent // 8, n_latent // 4, n_latent // 2) if m >= 1]
        sizes = _check_prefixes(list(prefixes), n_latent)
        self.prefixes = sizes if sizes[-1] == n_latent else sizes + [n_latent]

    def training_loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        z = self.encode(x)
        x_hat = self.decode(z)
        recon = reconstruction_error(x, x_hat)
        nested = matryoshka_loss(x, z, self.decoder_weight, self.b_dec, self.prefixes)
        aux = self.auxk(x, x_hat, z, self) if self.auxk is not None else recon.new_zeros(())
        return {"loss": nested + aux, "recon": recon, "nested": nested, "aux": aux}
