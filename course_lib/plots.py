"""Matplotlib figures for the lessons. Each function returns a new Figure and keeps no state.

One convention for images across the course:

- **pixel images** (clothing, bars, reconstructions: values in about [0, 1]) are drawn
  as the data stores them, grey scale on the fixed range 0 (black) to 1 (white), the same for
  every image of a figure, never inverted, so that brightness can be compared across images;
- **weights and features** (decoder columns, filters: signed values) use the diverging
  ``RdBu_r`` map, symmetric around 0: red adds ink, blue removes it, white is 0.

Every image of a grid has a thin grey frame (``FRAME_COLOR``) and no ticks, so that white
pixels at its edge stay distinct from the white page.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

FRAME_COLOR = "0.6"   # the thin frame around each image of a grid (matplotlib grey level)


def _as_images(images) -> np.ndarray:
    """(N, D), (N, H, W) or (N, 1, H, W) -> (N, H, W) numpy; square D only for flat input."""
    arr = images.detach().float().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images, float)
    if arr.ndim == 4 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim == 2:
        side = math.isqrt(arr.shape[1])
        if side * side != arr.shape[1]:
            raise ValueError(f"cannot show vectors of length {arr.shape[1]} as square images")
        arr = arr.reshape(len(arr), side, side)
    if arr.ndim != 3:
        raise ValueError(f"expected images of shape (N, D), (N, H, W) or (N, 1, H, W), got {arr.shape}")
    return arr


def image_grid(
    images,
    *,
    ncols: int = 8,
    titles: Sequence[str] | None = None,
    title: str | None = None,
    cmap: str = "gray",
    symmetric: bool = False,
    size: float = 1.3,
    row_labels: Sequence[str] | None = None,
) -> Figure:
    """Show images in a grid. ``symmetric=True`` scales each image around 0 (for weights).

    ``row_labels`` (one per row) are written to the left of the rows.
    Otherwise images whose values lie in about [0, 1] (reconstructions overshoot a little) are
    pixel images, drawn on the fixed range 0-1, overshoots clipped (the course's convention, see
    the module's docstring); values far outside it are scaled per image.
    """
    arr = _as_images(images)
    pixels = bool(arr.size) and float(arr.min()) >= -0.25 and float(arr.max()) <= 1.25
    n = len(arr)
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.4 if title else 0)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.set_axis_off()
            continue
        # no ticks, but a thin grey frame, so that a white edge stays visible on a white page
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set(color=FRAME_COLOR, linewidth=0.5)
        if symmetric:
            lim = float(np.abs(arr[i]).max()) or 1.0
            ax.imshow(arr[i], cmap=cmap, vmin=-lim, vmax=lim)
        elif pixels:
            ax.imshow(arr[i], cmap=cmap, vmin=0.0, vmax=1.0)
        else:
            ax.imshow(arr[i], cmap=cmap)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if row_labels is not None:
        if len(row_labels) != nrows:
            raise ValueError(f"row_labels has {len(row_labels)} labels for {nrows} rows")
        fig.subplots_adjust(left=max(fig.subplotpars.left, 0.11))
        for r, label in enumerate(row_labels):
            ax = axes[r, 0]
            ax.text(-0.08, 0.5, str(label), transform=ax.transAxes, ha="right", va="center", fontsize=9)
    return fig


def feature_grid(features, *, n: int = 64, ncols: int = 16, title: str = "Decoder features") -> Figure:
    """Decoder features (n_latent, D) as images on a diverging scale: red adds, blue removes ink."""
    feats = features.features() if hasattr(features, "features") else features
    return image_grid(feats[:n], ncols=ncols, title=title, cmap="RdBu_r", symmetric=True, size=0.9)


def reconstruction_grid(x, x_hat, *, n: int = 8, title: str = "Inputs (top) and reconstructions (bottom)") -> Figure:
    """Inputs in the first row, their reconstructions underneath."""
    both = torch.cat([torch.as_tensor(x[:n]).cpu(), torch.as_tensor(x_hat[:n]).detach().cpu()])
    return image_grid(both, ncols=min(n, len(x)), title=title)


def activation_histogram(
    codes: Mapping[str, torch.Tensor] | torch.Tensor, *, bins: int = 60, log: bool = True,
    title: str = "Distribution of latent activations",
) -> Figure:
    """Histogram of all activation values of one code or of several, labelled by name.

    Every code shares the same ``bins`` bin edges (spanning all their values), so bar heights
    can be compared between codes.
    """
    codes = codes if isinstance(codes, Mapping) else {"code": codes}
    fig, ax = plt.subplots(figsize=(6, 3.5))
    values = {name: Z.detach().float().flatten().cpu().numpy() for name, Z in codes.items()}
    lo = min(float(v.min()) for v in values.values() if v.size)
    hi = max(float(v.max()) for v in values.values() if v.size)
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
    for name, v in values.items():
        ax.hist(v, bins=edges, histtype="step", linewidth=1.5, label=name)
    ax.set(xlabel=f"activation value (bins of width {edges[1] - edges[0]:.3g})",
           ylabel="count (log scale)" if log else "count", title=title)
    if log:
        ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    return fig


def training_curves(histories: Mapping[str, Mapping[str, list[float]]] | Mapping[str, list[float]],
                    *, key: str = "loss", title: str = "Training loss") -> Figure:
    """Per-epoch curves of ``key`` for one history or a dict of named histories."""
    if key in histories:
        histories = {"model": histories}
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, h in histories.items():
        ax.plot(range(1, len(h[key]) + 1), h[key], marker="o", label=name)
    ax.set(xlabel="epoch", ylabel=key, title=title)
    ax.legend()
    fig.tight_layout()
    return fig
