"""Evaluating a sparse autoencoder inside the network it explains.

    >>> round(loss_recovered(ce_clean=0.30, ce_spliced=0.40, ce_ablated=2.30), 4)
    0.95
"""
from __future__ import annotations

import math
from numbers import Real


def _finite(name: str, value) -> float:
    if hasattr(value, "item") and getattr(value, "numel", lambda: 1)() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number (a loss), got {type(value).__name__}.")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} is {value}: a cross-entropy must be finite.")
    return value


def loss_recovered(ce_clean, ce_spliced, ce_ablated) -> float:
    """How much of the layer's contribution to the loss survives the sparse autoencoder's splice.

    ``(ce_ablated - ce_spliced) / (ce_ablated - ce_clean)``: 1 when splicing the reconstruction in
    costs nothing, 0 when it is as bad as zero-ablating the layer (negative when worse). Each
    argument is a mean cross-entropy: of the intact network, with the layer replaced by the
    reconstruction, and with the layer's output set to zero.
    """
    clean = _finite("ce_clean", ce_clean)
    spliced = _finite("ce_spliced", ce_spliced)
    ablated = _finite("ce_ablated", ce_ablated)
    if ablated == clean:
        raise ValueError(f"ce_ablated equals ce_clean ({clean:.4g}): zero-ablating the layer costs "
                         "nothing, so there is no loss to recover; choose a layer the network uses.")
    return (ablated - spliced) / (ablated - clean)
