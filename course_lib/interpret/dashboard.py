"""One latent at a glance, and lesson 04's goal experiment on the bars.

* :func:`feature_dashboard` - the numbers behind a feature dashboard for one latent: its
  top-activating samples, how often it fires, a histogram of its non-zero activations, its class
  profile and selectivity;
* :func:`bars_goal` - train an L1 sparse autoencoder on Foldiak's bars with a given penalty
  weight and width, and measure how well its latents line up with the bars.
"""
from __future__ import annotations

import torch

from ..metrics import encode_batched, fraction_variance_unexplained, reconstruct_batched
from ..models import Autoencoder
from ..sparsity import l1_penalty
from ..train import train
from .datasets import make_bars
from .measures import class_mean_activation, class_selectivity, factor_match_score, top_activating_examples

__all__ = ["feature_dashboard", "bars_goal", "BARS_GOAL"]


def feature_dashboard(Z: torch.Tensor, y: torch.Tensor, j: int, n_top: int = 8, bins: int = 10,
                      n_classes: int = 10) -> dict:
    """What latent ``j`` of the codes Z (N, n_latent) responds to; y (N,) are class labels.

    Returns a dict:

    * ``"top"``: LongTensor (n_top,), the samples with the largest activation, largest first;
    * ``"firing_rate"``: float, the fraction of samples on which the latent is non-zero;
    * ``"histogram"``: float tensor (bins,), counts of the *non-zero* activations in ``bins``
      equal bins from 0 to the largest activation (all zeros for a latent that never fires);
    * ``"class_profile"``: (n_classes,), the mean |activation| on each class divided by the sum
      of these means (all zeros for a latent that never fires);
    * ``"selectivity"``: float, :func:`~course_lib.interpret.measures.class_selectivity` of the latent.
    """
    column = Z[:, j : j + 1] if j >= 0 else Z[:, j:][:, :1]
    a = column[:, 0]
    active = a[a != 0]
    if len(active):
        histogram = torch.histc(active, bins=bins, min=0.0, max=float(active.max()))
    else:
        histogram = torch.zeros(bins, dtype=Z.dtype, device=Z.device)
    means = class_mean_activation(column, y, n_classes)[:, 0]
    total = means.sum()
    return {
        "top": top_activating_examples(Z, j, n_top),
        "firing_rate": (a != 0).float().mean().item(),
        "histogram": histogram,
        "class_profile": means / total if total > 0 else torch.zeros_like(means),
        "selectivity": class_selectivity(column, y, n_classes)[0].item(),
    }


BARS_GOAL = {"score": 0.95, "fvu": 0.1, "widths": (16, 64)}  # lesson 04's goal exercise


def bars_goal(lam: float, n_latent: int, *, n: int = 4000, epochs: int = 10, seed: int = 0) -> dict[str, float]:
    """Train ``Autoencoder(64, n_latent)`` (ReLU, unit-norm decoder, pre-bias) with an L1 penalty
    ``lam`` on ``n`` 8x8 bars images, on the CPU, and measure it on 2,000 fresh bars images.

    Seeded and deterministic on a given machine. Returns ``{"score", "fvu", "l0"}``: the factor
    match score of the codes against the bars, the FVU and the mean number of active latents.
    """
    X, _ = make_bars(n, seed=seed)
    X_test, F_test = make_bars(2000, seed=seed + 1)
    model = Autoencoder(64, n_latent, "relu", unit_norm_decoder=True, pre_bias=True, seed=seed)
    model.init_pre_bias(X)
    train(model, X, epochs=epochs, lr=1e-2, penalty=lambda z, m: l1_penalty(z, lam), seed=seed, progress=False)
    X_hat, Z = reconstruct_batched(model, X_test)
    return {"score": factor_match_score(encode_batched(model, X_test), F_test),
            "fvu": fraction_variance_unexplained(X_test, X_hat), "l0": (Z != 0).sum(1).float().mean().item()}
