"""Gated SAE (Rajamanoharan et al. 2024, "Improving Dictionary Learning with Gated Sparse Autoencoders").

Whether a latent fires and how strongly are decided by two paths that share ``W_enc``::

    lin    = W_enc (x - b_dec)                       # (B, n), shared
    gate   = lin + b_gate                            # which latents fire: H(gate)
    mag    = exp(r_mag) * lin + b_mag                # how much: relu(mag)
    z      = H(gate) * relu(mag)

The L1 penalty acts on ``relu(gate)`` only, so it no longer shrinks the magnitudes. Decoder
columns are held at unit norm: with free norms, the penalty could be dodged by shrinking the
decoder while ``exp(r_mag)`` grows to compensate (the gate path has no such compensation).

H gives the gate no gradient from the reconstruction, so an auxiliary loss trains it:
``relu(gate)`` must reconstruct x on its own through a *frozen* copy of the decoder,
``||x - (W_dec.detach() relu(gate) + b_dec.detach())||^2``. ``encoder.bias`` is b_gate.
Shapes: x (B, d), z (B, n), decoder_weight (d, n), unit-norm columns.
"""
from __future__ import annotations

import torch
from torch import nn

from ..metrics import reconstruction_error
from ..sparsity import l1_penalty
from .base import SAE


class GatedSAE(SAE):
    """Gate and magnitude paths with shared weights; ``lam`` weighs the gate's L1 penalty."""

    family = "Gated"

    def __init__(self, n_in: int, n_latent: int, lam: float, **kwargs) -> None:
        if not lam >= 0:
            raise ValueError(f"lam must be >= 0, got {lam!r}")
        super().__init__(n_in, n_latent, **kwargs)
        self.lam = float(lam)
        self.r_mag = nn.Parameter(torch.zeros(n_latent))
        self.b_mag = nn.Parameter(torch.zeros(n_latent))

    def gate_and_magnitude(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(gate, mag)`` pre-activations, each (B, n)."""
        self._check_input(x)
        lin = nn.functional.linear(x - self.b_dec, self.encoder.weight)
        return lin + self.encoder.bias, self.r_mag.exp() * lin + self.b_mag

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        gate, mag = self.gate_and_magnitude(x)
        return (gate > 0).to(mag.dtype) * torch.relu(mag)

    def training_loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        gate, mag = self.gate_and_magnitude(x)
        z = (gate > 0).to(mag.dtype) * torch.relu(mag)
        recon = reconstruction_error(x, self.decode(z))
        active_gate = torch.relu(gate)
        penalty = l1_penalty(active_gate, self.lam)
        frozen = nn.functional.linear(active_gate, self.decoder.weight.detach(), self.decoder.bias.detach())
        aux = reconstruction_error(x, frozen)
        return {"loss": recon + penalty + aux, "recon": recon, "sparsity": penalty, "aux": aux}
