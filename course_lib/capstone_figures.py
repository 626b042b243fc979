"""The capstone's figures: class profiles as heat maps, selectivity histograms and unit galleries.

Re-exported by :mod:`course_lib.capstone`, whose functions compute what these draw (a class
profile ``P`` of shape (n_classes, H): how each unit's activation mass is shared among classes).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

SHORT_NAMES = ("T-shirt", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Boot")
"""Class names short enough for axis ticks and image titles."""


def profile_heatmap(P: torch.Tensor, *, units: Sequence[int] | torch.Tensor | None = None,
                    title: str = "Class profile", unit_label: str = "unit",
                    class_names: Sequence[str] = SHORT_NAMES, ax: plt.Axes | None = None,
                    vmax: float | None = None) -> Figure:
    """Heat map of a class profile (n_classes, H), columns ``units``: where each unit's mass goes.

    The colour scale runs from 0 to ``vmax`` (default: the largest share shown), so that shares
    that all lie well below 1 are still told apart.
    """
    units = list(range(P.shape[1])) if units is None else [int(u) for u in units]
    data = P[:, units].detach().float().cpu().numpy()
    if ax is None:
        fig, ax = plt.subplots(figsize=(0.38 * len(units) + 2.2, 3.6))
    else:
        fig = ax.figure
    im = ax.imshow(data, cmap="viridis", vmin=0, vmax=float(data.max()) if vmax is None else vmax, aspect="auto")
    ax.set_yticks(range(len(class_names)), class_names, fontsize=8)
    ax.set_xticks(range(len(units)), [str(u) for u in units], rotation=90, fontsize=7)
    ax.set(xlabel=unit_label, title=title)
    fig.colorbar(im, ax=ax, label="share of mean activation", fraction=0.04, pad=0.02)
    fig.tight_layout()
    return fig


def selectivity_histogram(selectivities: Mapping[str, torch.Tensor], *, n_classes: int = 10,
                          bins: int = 30, title: str = "Class selectivity") -> Figure:
    """Overlaid histograms (as fractions of units) of selectivities, with medians and chance marked."""
    fig, ax = plt.subplots(figsize=(7, 3.8))
    edges = np.linspace(1.0 / n_classes, 1.0, bins + 1)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for (name, s), color in zip(selectivities.items(), colors):
        values = s.detach().float().cpu().numpy()
        weights = np.full(len(values), 1.0 / max(len(values), 1))
        med = float(np.median(values))
        ax.hist(values, bins=edges, weights=weights, histtype="stepfilled", alpha=0.35, color=color,
                edgecolor=color, linewidth=1.5, label=f"{name} ({len(values)} units, median {med:.2f})")
        ax.axvline(med, color=color, linestyle="--", linewidth=1.5)
    ax.axvline(1.0 / n_classes, color="gray", linestyle=":", linewidth=1.5,
               label=f"no preference (1/{n_classes})")
    ax.set(xlabel="selectivity = largest class share of the unit's activation",
           ylabel="fraction of units", title=title, xlim=(0, 1.02))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def mass_weighted_sample(a: torch.Tensor, n: int, *, seed: int = 0) -> torch.Tensor:
    """``n`` distinct row indices drawn with probability proportional to the activations a (N,).

    The draw pictures what a unit's activation mass is made of. Fewer than ``n`` rows are
    returned when fewer than ``n`` activations are positive.
    """
    weights = a.detach().float().clamp_min(0).cpu()
    n = min(n, int((weights > 0).sum()))
    if n == 0:
        return torch.zeros(0, dtype=torch.long)
    gen = torch.Generator().manual_seed(seed)
    idx = torch.multinomial(weights, n, replacement=False, generator=gen)
    return idx[weights[idx].argsort(descending=True)]


def unit_gallery(X: torch.Tensor, A: torch.Tensor, y: torch.Tensor, P: torch.Tensor,
                 units: Sequence[int], *, n_images: int = 10, unit_label: str = "neuron",
                 class_names: Sequence[str] = SHORT_NAMES, seed: int = 0,
                 title: str | None = None) -> Figure:
    """One row per unit: its class profile as bars, then images drawn in proportion to its activation.

    X: images (N, 784); A: activations (N, H); y: labels (N,); P: class profile (n_classes, H).
    Each image is titled with its class; the bar of the unit's top class is highlighted.
    """
    units = [int(u) for u in units]
    n_classes = P.shape[0]
    fig = plt.figure(figsize=(3.4 + 0.95 * n_images, 1.4 * len(units) + (0.5 if title else 0.1)))
    grid = fig.add_gridspec(len(units), n_images + 3, wspace=0.15, hspace=0.55)
    for row, u in enumerate(units):
        ax = fig.add_subplot(grid[row, :3])
        shares = P[:, u].detach().float().cpu().numpy()
        colors = ["tab:orange" if c == shares.argmax() else "tab:blue" for c in range(n_classes)]
        ax.barh(range(n_classes), shares, color=colors)
        ax.set_yticks(range(n_classes), class_names, fontsize=7)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.tick_params(axis="x", labelsize=6)
        ax.set_title(f"{unit_label} {u}: selectivity {shares.max():.2f}", fontsize=8)
        if row == len(units) - 1:
            ax.set_xlabel("share of mean activation", fontsize=7)
        idx = mass_weighted_sample(A[:, u], n_images, seed=seed + u)
        for k in range(n_images):
            axi = fig.add_subplot(grid[row, 3 + k])
            axi.set_axis_off()
            if k < len(idx):
                i = int(idx[k])
                axi.imshow(X[i].detach().float().cpu().reshape(28, 28).numpy(), cmap="gray", vmin=0, vmax=1)
                axi.set_title(class_names[int(y[i])], fontsize=7)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.subplots_adjust(left=0.07, right=0.99, top=0.86 if title else 0.93, bottom=0.08)
    return fig
