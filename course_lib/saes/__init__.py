"""Sparse autoencoder families of lesson 08, one small module each, SAELens-style.

=================  =============================================  =======================
family             activation / loss                              module
=================  =============================================  =======================
``L1SAE``          ReLU, L1 weighted by decoder norms             :mod:`.l1`
``TopKSAE``        per-sample top-k, AuxK                         :mod:`.topk`
``BatchTopKSAE``   top k*B over the batch, one threshold at eval  :mod:`.batchtopk`
``JumpReLUSAE``    per-latent thresholds, L0 via straight-through :mod:`.jumprelu`
``GatedSAE``       gate and magnitude paths, auxiliary gate loss  :mod:`.gated`
``MatryoshkaSAE``  nested prefixes each reconstruct, BatchTopK    :mod:`.matryoshka`
=================  =============================================  =======================

All share :class:`.base.SAE` (``forward(x) -> (x_hat, z)``, ``decoder_weight`` (d, n)) and train
with the same loop, :func:`.base.train_sae`. :func:`make_sae` builds one set up for data A.
"""
from __future__ import annotations

import torch

from .base import SAE, train_sae
from .batchtopk import BatchTopKSAE, batch_topk
from .gated import GatedSAE
from .jumprelu import JumpReLUFunction, JumpReLUSAE, StepFunction, jumprelu, rectangle, step
from .l1 import L1SAE
from .matryoshka import MatryoshkaSAE, matryoshka_loss
from .topk import TopKSAE

FAMILIES: dict[str, type[SAE]] = {cls.family: cls for cls in
                                  (L1SAE, TopKSAE, BatchTopKSAE, JumpReLUSAE, GatedSAE, MatryoshkaSAE)}
"""Every family by its name, in the lesson's order."""

__all__ = ["SAE", "train_sae", "FAMILIES", "make_sae", "L1SAE", "TopKSAE", "BatchTopKSAE", "batch_topk",
           "JumpReLUSAE", "JumpReLUFunction", "StepFunction", "jumprelu", "step", "rectangle", "GatedSAE",
           "MatryoshkaSAE", "matryoshka_loss"]


def make_sae(family: str, A: torch.Tensor, n_latent: int, *, seed: int = 0, **kwargs) -> SAE:
    """A ``family`` SAE for activations A (N, d), on A's device, decoder bias at A's mean.

    ``kwargs`` go to the family's class (``lam`` for L1, Gated and JumpReLU; ``k`` for TopK,
    BatchTopK and Matryoshka).
    """
    if family not in FAMILIES:
        raise KeyError(f"unknown SAE family {family!r}; choose one of {', '.join(FAMILIES)}")
    sae = FAMILIES[family](A.shape[1], n_latent, seed=seed, **kwargs).to(A.device)
    return sae.init_pre_bias(A)
