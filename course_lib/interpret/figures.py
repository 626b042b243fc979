"""Lesson 04's figures: decoder features, top-activating inputs, selectivity, matched bars and
one latent at a glance.

Rows of small images are drawn as one mosaic per axes (NaN gaps between tiles), which keeps
figures with a hundred tiles fast to build and to redraw.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from .datasets import bar_images
from .measures import (class_mean_activation, class_selectivity, factor_correlations, factor_matches_one_to_one,
                       top_activating_examples)

__all__ = ["compare_features", "top_examples_figure", "selectivity_histogram", "selectivity_null_figure",
           "matched_features_figure", "latent_figure"]

# ------------------------------------------------------------------ mosaics


def _square(n_in: int) -> tuple[int, int]:
    side = math.isqrt(n_in)
    if side * side != n_in:
        raise ValueError(f"cannot show inputs of length {n_in} as square images")
    return side, side


def _as_tiles(images, shape: tuple[int, int] | None = None) -> np.ndarray:
    """(n, D) or (n, h, w) tensor/array -> float numpy (n, h, w)."""
    arr = images.detach().float().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images, float)
    if arr.ndim == 2:
        arr = arr.reshape(len(arr), *(shape or _square(arr.shape[1])))
    return arr


def _draw_mosaic(ax, tiles: np.ndarray, *, ncols: int | None = None, diverging: bool,
                 titles: Sequence[str] | None = None, fontsize: float = 7) -> None:
    """Draw tiles (n, h, w) as one image on ``ax``, ``ncols`` per row, each titled above.

    Diverging tiles are scaled one by one to [-1, 1] (red adds ink, blue removes it); other
    tiles are images with values in [0, 1], drawn as the whole course draws inputs
    (:func:`course_lib.plots.image_grid`): white ink on black.
    """
    n, h, w = tiles.shape
    ncols = ncols or n
    nrows = math.ceil(n / ncols)
    gap_y = 0.55 * h if titles is not None else 0.2 * h
    gap_y, gap_x = max(1, round(gap_y)), max(1, round(0.2 * w))
    canvas = np.full((nrows * (h + gap_y), ncols * (w + gap_x) - gap_x), np.nan)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, ncols)
        if diverging:
            lim = float(np.abs(tile).max()) or 1.0
            tile = tile / lim
        y0, x0 = r * (h + gap_y) + gap_y, c * (w + gap_x)
        canvas[y0 : y0 + h, x0 : x0 + w] = tile
        if titles is not None:
            ax.text(x0 + w / 2, y0 - 0.6, titles[i], ha="center", va="bottom", fontsize=fontsize)
    cmap = plt.get_cmap("RdBu_r" if diverging else "gray").with_extremes(bad="white")
    ax.imshow(canvas, cmap=cmap, vmin=-1 if diverging else 0, vmax=1, interpolation="nearest")
    for i in range(n):  # thin frames around the tiles
        r, c = divmod(i, ncols)
        y0, x0 = r * (h + gap_y) + gap_y, c * (w + gap_x)
        ax.add_patch(plt.Rectangle((x0 - 0.5, y0 - 0.5), w, h, fill=False, linewidth=0.5, edgecolor="0.6"))
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


# ------------------------------------------------------------------ lesson figures


def compare_features(features: Mapping[str, torch.Tensor], *, latents: Sequence[int] | None = None,
                     n: int = 12, title: str = "Decoder features (same latent indices in every row)") -> Figure:
    """One row of decoder images per model: {name: (n_latent, n_in)} -> Figure.

    Shows ``latents`` (default: the first ``n``), each on its own diverging scale: red adds
    ink, blue removes it.
    """
    latents = list(range(n)) if latents is None else list(latents)
    fig, axes = plt.subplots(len(features), 1, figsize=(1.0 * len(latents) + 1.2, 1.25 * len(features) + 0.5),
                             squeeze=False)
    for r, (name, feats) in enumerate(features.items()):
        ax = axes[r, 0]
        _draw_mosaic(ax, _as_tiles(feats[latents]), diverging=True,  # same title space in every row
                     titles=[f"latent {j}" if r == 0 else "" for j in latents])
        ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=10)
    fig.suptitle(title)
    fig.subplots_adjust(left=0.08, right=0.99, top=0.9, bottom=0.02, hspace=0.08)
    return fig


def top_examples_figure(Z: torch.Tensor, X: torch.Tensor, y: torch.Tensor, latents: Sequence[int], *,
                        features: torch.Tensor | None = None, n: int = 8,
                        class_names: Sequence[str] | None = None, title: str = "Top-activating inputs") -> Figure:
    """One row per latent: its decoder image (if ``features`` given) then its ``n`` top inputs,
    each titled with its class and activation. Row labels give the fraction of inputs on which
    the latent is non-zero and its class selectivity."""
    Z = Z.detach().float().cpu()
    Xc, yc = X.detach().float().cpu(), y.detach().cpu()
    n_classes = len(class_names) if class_names else int(yc.max()) + 1
    sel = class_selectivity(Z[:, list(latents)], yc, n_classes)
    rate = (Z[:, list(latents)] != 0).float().mean(0)
    extra = 1 if features is not None else 0
    fig, axes = plt.subplots(len(latents), 1 + extra, figsize=(1.05 * (n + extra) + 1.6, 1.45 * len(latents) + 0.5),
                             squeeze=False, gridspec_kw={"width_ratios": [1.2] * extra + [n]})
    for r, j in enumerate(latents):
        if features is not None:
            _draw_mosaic(axes[r, 0], _as_tiles(features[j][None]), diverging=True, titles=["feature"])
        top = top_activating_examples(Z, j, n).tolist()
        names = [class_names[int(yc[i])] if class_names else str(int(yc[i])) for i in top]
        _draw_mosaic(axes[r, extra], _as_tiles(Xc[top]), diverging=False,
                     titles=[f"{nm}\n{Z[i, j]:.2f}" for nm, i in zip(names, top)])
        axes[r, 0].set_ylabel(f"latent {j}\nnon-zero on {100 * rate[r]:.0f}%\nselectivity {sel[r]:.2f}",
                              rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle(title)
    fig.subplots_adjust(left=0.13, right=0.99, top=0.92, bottom=0.01, hspace=0.12, wspace=0.03)
    return fig


def selectivity_histogram(selectivities: Mapping[str, torch.Tensor], *, bins: int = 20,
                          title: str = "Class selectivity of the live latents") -> Figure:
    """Overlaid histograms of per-latent selectivity, one per model, with medians marked."""
    fig, ax = plt.subplots(figsize=(7, 3.8))
    edges = np.linspace(0, 1, bins + 1)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (name, sel) in enumerate(selectivities.items()):
        values = sel.detach().float().cpu().numpy()
        color = colors[i % len(colors)]
        ax.hist(values, bins=edges, histtype="step", linewidth=1.8, color=color,
                weights=np.full(len(values), 1 / max(len(values), 1)),
                label=f"{name} (median {np.median(values):.2f}, {len(values)} latents)")
        ax.axvline(float(np.median(values)), color=color, linestyle=":", linewidth=1.2)
    ax.set(xlabel="class selectivity  (0 = responds to every class alike, 1 = one class only)",
           ylabel="fraction of live latents", title=title, xlim=(0, 1))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def selectivity_null_figure(selectivity: Mapping[str, torch.Tensor], null: Mapping[str, torch.Tensor],
                            counts: Mapping[str, torch.Tensor], *, n_inputs: int | None = None,
                            title: str = "Class selectivity against firing count, with its chance level") -> Figure:
    """One panel per model: each latent's selectivity (dots) and its shuffled-label null (grey)
    against the number of inputs it fires on (log scale).

    selectivity, counts: {name: (H,)}; null: {name: (n_shuffles, H)} from
    :func:`~course_lib.interpret.measures.shuffled_label_selectivity`.
    """
    names = list(selectivity)
    fig, axes = plt.subplots(1, len(names), figsize=(3.1 * len(names) + 0.6, 3.4), sharey=True, squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (ax, name) in enumerate(zip(axes[0], names)):
        c = counts[name].detach().float().cpu().numpy()
        nl = null[name].detach().float().cpu()
        ax.scatter(c, nl.mean(0).numpy(), s=7, color="0.6", label="shuffled labels (mean)")
        ax.scatter(c, selectivity[name].detach().float().cpu().numpy(), s=7, color=colors[i % len(colors)],
                   label="true labels")
        ax.set_xscale("log")
        if n_inputs:
            ax.set_xlim(0.8, n_inputs * 1.3)
        ax.set(xlabel="inputs it fires on", title=name)
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("class selectivity")
    axes[0, 0].legend(fontsize=7, loc="upper right")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def matched_features_figure(models: Mapping[str, tuple[torch.Tensor, torch.Tensor]], factors: torch.Tensor,
                            *, one_to_one: bool = False,
                            title: str | None = None) -> Figure:
    """Rows: the true bars, then per model the feature of the latent matched to each bar.

    models: {name: (features (n_latent, n_in), Z (N, n_latent))}; factors: (N, n_factors).
    By default each bar gets the latent best correlated with it (two bars may get the same
    one); with ``one_to_one=True`` the Hungarian pairing of
    :func:`~course_lib.interpret.measures.factor_matches_one_to_one` (a latent serves one bar).
    """
    if title is None:
        how = "its latent in a one-to-one matching" if one_to_one else "its best-matching latent"
        title = f"For every bar, the decoder feature of {how} (above each: |correlation|)"
    n_f = factors.shape[1]
    size = n_f // 2
    fig, axes = plt.subplots(len(models) + 1, 1, figsize=(0.68 * n_f + 1.4, 0.95 * (len(models) + 1) + 0.5),
                             squeeze=False)
    _draw_mosaic(axes[0, 0], _as_tiles(bar_images(size)), diverging=False)
    axes[0, 0].set_ylabel("true bar", rotation=0, ha="right", va="center", fontsize=9)
    for r, (name, (feats, Z)) in enumerate(models.items(), start=1):
        Zc, Fc = Z.detach().float().cpu(), factors.float().cpu()
        if one_to_one:
            best, corr = factor_matches_one_to_one(Zc, Fc)
            best = best.clamp_min(0)  # a bar left without a latent (fewer latents than bars) shows latent 0
        else:
            C = factor_correlations(Zc, Fc).abs()
            best = C.argmax(1)
            corr = C[torch.arange(n_f), best]
        _draw_mosaic(axes[r, 0], _as_tiles(feats.detach().cpu()[best]), diverging=True,
                     titles=[f"{corr[c]:.2f}" for c in range(n_f)])
        axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle(title)
    fig.subplots_adjust(left=0.09, right=0.99, top=0.9, bottom=0.01, hspace=0.1)
    return fig


# ------------------------------------------------------------------ one latent at a glance


def latent_figure(
    feature: torch.Tensor,
    z: torch.Tensor,
    X: torch.Tensor,
    y: torch.Tensor,
    j: int,
    *,
    n_top: int = 12,
    class_names: Sequence[str] | None = None,
    n_classes: int | None = None,
    model_name: str = "",
) -> Figure:
    """Everything about latent ``j`` in one figure.

    feature: its decoder image (n_in,); z: its activation on every sample (N,); X: (N, n_in)
    inputs; y: (N,) labels. Shows the decoder image, the ``n_top`` most activating inputs, the
    histogram of its non-zero activations and its mean activation per class.
    """
    z = z.detach().float().cpu()
    y = y.detach().cpu()
    n_classes = n_classes or (len(class_names) if class_names else int(y.max()) + 1)
    names = list(class_names) if class_names else [str(c) for c in range(n_classes)]
    n_top = min(n_top, len(z))
    top = top_activating_examples(z[:, None], 0, n_top).tolist()
    ncol = math.ceil(n_top / 2)

    fig = plt.figure(figsize=(14, 4.0))
    gs = fig.add_gridspec(1, 4, width_ratios=[2.2, 0.95 * ncol, 3.0, 2.6], wspace=0.25,
                          left=0.02, right=0.99, top=0.84, bottom=0.14)
    ax = fig.add_subplot(gs[0])
    _draw_mosaic(ax, _as_tiles(feature[None]), diverging=True, titles=["decoder feature"], fontsize=9)
    ax.set_xlabel("red adds ink, blue removes it", fontsize=8)

    ax = fig.add_subplot(gs[1])
    _draw_mosaic(ax, _as_tiles(X.detach().float().cpu()[top]), ncols=ncol, diverging=False,
                 titles=[f"{names[int(y[i])]}\nz={z[i]:.2f}" for i in top], fontsize=6.5)
    ax.set_xlabel(f"its top {n_top} inputs", fontsize=9)

    ax = fig.add_subplot(gs[2])
    active = z[z != 0].numpy()
    frac = len(active) / max(len(z), 1)
    if len(active):
        ax.hist(active, bins=40, color="tab:orange")
        ax.set_yscale("log")
    ax.set(xlabel="activation (non-zero only)", ylabel="count (log scale)")
    ax.set_title(f"non-zero on {100 * frac:.1f}% of inputs", fontsize=9)

    sub = gs[3].subgridspec(1, 2, width_ratios=[0.45, 1.0], wspace=0.0)
    ax = fig.add_subplot(sub[1])
    means = class_mean_activation(z[:, None], y, n_classes)[:, 0].numpy()
    ax.barh(range(n_classes), means, color="tab:blue")
    ax.set_yticks(range(n_classes), names[:n_classes], fontsize=7)
    ax.invert_yaxis()
    sel = class_selectivity(z[:, None], y, n_classes)[0].item()
    ax.set(xlabel="mean |activation|")
    ax.set_title(f"per class (selectivity {sel:.2f})", fontsize=9)

    prefix = f"{model_name}: " if model_name else ""
    fig.suptitle(f"{prefix}latent {j}", fontsize=12)
    return fig
