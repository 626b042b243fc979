"""Looking inside a trained autoencoder: what does each latent respond to?

Reference implementations of lesson 04's graded functions and the tools the lesson builds on:

* :func:`top_activating_examples` - the inputs on which a latent fires hardest;
* :func:`class_mean_activation`, :func:`class_selectivity` - how much a latent prefers one class;
* :func:`make_bars`, :func:`bar_images` - Foldiak's bars, a dataset with known generating factors;
* :func:`factor_correlations`, :func:`factor_match_score` - how well latents line up with them;
* :data:`TOY_PATTERNS`, :func:`toy_dataset`, :func:`train_toy_models`, :func:`activation_table`,
  :func:`one_latent_per_pattern` - the three-pattern toy experiment;
* :func:`compare_features`, :func:`top_examples_figure`, :func:`selectivity_histogram`,
  :func:`matched_features_figure` - the lesson's comparison figures;
* :func:`latent_figure` and :func:`explore` - one latent at a glance, and a slider over all of them.

Shapes: codes ``Z`` are (N, n_latent); labels ``y`` are (N,) int64; ``factors`` are (N, n_factors).
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from .fast import is_fast
from .metrics import encode_batched
from .models import Autoencoder
from .sparsity import topk_activation

__all__ = [
    "top_activating_examples", "class_mean_activation", "class_selectivity",
    "make_bars", "bar_images", "factor_correlations", "factor_match_score",
    "TOY_PATTERNS", "TOY_NAMES", "toy_dataset", "train_toy_models", "activation_table",
    "one_latent_per_pattern", "format_tables",
    "compare_features", "top_examples_figure", "selectivity_histogram", "matched_features_figure",
    "latent_figure", "widgets_available", "LatentExplorer", "explore",
]


def _check_codes(Z: torch.Tensor, name: str = "Z") -> None:
    if not isinstance(Z, torch.Tensor) or Z.dim() != 2:
        shape = tuple(Z.shape) if isinstance(Z, torch.Tensor) else type(Z).__name__
        raise ValueError(f"{name} must be a tensor of shape (N, n_latent), got {shape}")


# ------------------------------------------------------------------ what a latent looks for


def top_activating_examples(Z: torch.Tensor, j: int, n: int) -> torch.Tensor:
    """Indices of the ``n`` samples on which latent ``j`` is largest, largest first.

    Z: (N, n_latent) codes; returns a LongTensor of shape (n,). Ties are broken arbitrarily.
    """
    _check_codes(Z)
    N, H = Z.shape
    if not -H <= j < H:
        raise ValueError(f"latent index j={j} is out of range for {H} latents")
    if not 1 <= n <= N:
        raise ValueError(f"n must be between 1 and the number of samples ({N}), got {n}")
    return torch.topk(Z[:, j], n).indices


def class_mean_activation(Z: torch.Tensor, y: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Mean of ``|z_j|`` over the samples of each class: (N, H), (N,) -> (n_classes, H).

    A class with no samples gets 0 for every latent.
    """
    _check_codes(Z)
    if not isinstance(y, torch.Tensor) or y.shape != Z.shape[:1]:
        raise ValueError(f"y must be a tensor of shape ({len(Z)},), got {getattr(y, 'shape', type(y).__name__)}")
    onehot = nn.functional.one_hot(y.long(), n_classes).to(Z.dtype)  # (N, C)
    counts = onehot.sum(0)  # (C,)
    sums = onehot.t() @ Z.abs()  # (C, H)
    return sums / counts.clamp_min(1).unsqueeze(1)


def class_selectivity(Z: torch.Tensor, y: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Class selectivity of every latent, in [0, 1]: (N, H), (N,) -> (H,).

    For latent j, let ``m_jc`` be its mean activation magnitude ``|z_j|`` over the samples of
    class c (0 for a class with no samples) and ``p_jc = m_jc / sum_c m_jc`` the share of that
    mean activation that class c receives. Then

        selectivity_j = 1 - H(p_j) / log(n_classes),   H(p) = -sum_c p_c log p_c  (0 log 0 = 0)

    1 means the latent responds to one class only; 0 means it responds equally to every class.
    Class means (not sums) keep frequent classes from looking preferred; dividing by
    ``log(n_classes)`` (not by the log of the number of classes present) keeps scores comparable
    across label sets. A latent that is zero on every sample has no preference: it scores 0.
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    M = class_mean_activation(Z, y, n_classes)  # (C, H)
    total = M.sum(0)  # (H,)
    alive = total > 0
    P = M / torch.where(alive, total, torch.ones_like(total))
    entropy = -torch.xlogy(P, P).sum(0)
    return torch.where(alive, 1 - entropy / math.log(n_classes), torch.zeros_like(entropy))


# ------------------------------------------------------------------ bars: known factors


def make_bars(n: int, size: int = 8, p: float = 1 / 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Foldiak's bars: ``size x size`` images made of independent horizontal and vertical bars.

    Each of the ``2 * size`` bars is on with probability ``p``, independently. Factor ``r`` (for
    ``r < size``) is the horizontal bar filling row ``r``; factor ``size + c`` is the vertical bar
    filling column ``c``. A pixel is 1 when any bar covers it (a crossing is 1, not 2).

    Returns ``(images, factors)``: float32 tensors of shape (n, size*size) and (n, 2*size) with
    values 0 and 1, on the CPU. The same ``seed`` gives the same data.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")
    if not 0.0 <= float(p) <= 1.0:
        raise ValueError(f"p is a probability and must lie in [0, 1], got {p!r}")
    gen = torch.Generator().manual_seed(seed)
    factors = (torch.rand(n, 2 * size, generator=gen) < p).float()
    rows = factors[:, :size, None].expand(n, size, size)  # horizontal bar r covers row r
    cols = factors[:, None, size:].expand(n, size, size)  # vertical bar c covers column c
    images = torch.maximum(rows, cols).reshape(n, size * size)
    return images, factors


def bar_images(size: int = 8) -> torch.Tensor:
    """The ``2 * size`` single-bar images, in factor order: (2*size, size*size)."""
    eye = torch.eye(2 * size)
    rows = eye[:, :size, None].expand(-1, size, size)
    cols = eye[:, None, size:].expand(-1, size, size)
    return torch.maximum(rows, cols).reshape(2 * size, size * size)


def factor_correlations(Z: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """Pearson correlation of every factor with every latent: (N, H), (N, F) -> (F, H).

    A constant column (a dead latent, or a factor that never changes) has no defined
    correlation; it gets 0.
    """
    _check_codes(Z)
    _check_codes(factors, "factors")
    if len(Z) != len(factors):
        raise ValueError(f"Z has {len(Z)} samples but factors has {len(factors)}")
    factors = factors.to(Z.dtype)
    Zc, Fc = Z - Z.mean(0), factors - factors.mean(0)
    cov = Fc.t() @ Zc / len(Z)
    std_z, std_f = Zc.pow(2).mean(0).sqrt(), Fc.pow(2).mean(0).sqrt()
    varies = (factors.amax(0) > factors.amin(0))[:, None] & (Z.amax(0) > Z.amin(0))[None, :]
    denom = std_f[:, None] * std_z[None, :]
    return torch.where(varies, cov / torch.where(varies, denom, torch.ones_like(denom)), torch.zeros_like(cov))


def factor_match_score(Z: torch.Tensor, factors: torch.Tensor) -> float:
    """How well latents line up with known factors, in [0, 1].

    For every factor, take the latent whose activation correlates best with it (absolute
    Pearson correlation, so a latent that switches *off* for the factor counts too); the score is
    the mean of these best correlations over factors. 1 means every factor has its own latent
    that tracks it exactly (two factors may pick the same latent; look at the matched features).
    """
    return factor_correlations(Z, factors).abs().amax(1).mean().item()


# ------------------------------------------------------------------ the three-pattern toy


TOY_NAMES = ("A", "B", "C")
TOY_PATTERNS = torch.tensor([[1.0, 0.0, 0.0, 1.0],   # A
                             [0.0, 1.0, 1.0, 0.0],   # B
                             [1.0, 1.0, 0.0, 0.0]])  # C
"""Three 4-pixel input patterns (rows A, B, C)."""


def toy_dataset(n: int, *, seed: int = 0, strength: tuple[float, float] = (0.5, 1.5)) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` samples, each one of :data:`TOY_PATTERNS` (chosen uniformly) times a random strength.

    The strength is uniform in ``strength``; without it, one latent plus the decoder bias could
    reproduce two fixed patterns (any two points lie on a line). Returns (X (n, 4), pattern (n,)).
    """
    gen = torch.Generator().manual_seed(seed)
    which = torch.randint(len(TOY_PATTERNS), (n,), generator=gen)
    lo, hi = strength
    scale = lo + (hi - lo) * torch.rand(n, 1, generator=gen)
    return TOY_PATTERNS[which] * scale, which


def train_toy_models(
    X: torch.Tensor,
    seeds: Sequence[int],
    *,
    n_latent: int = 4,
    activation: str = "relu",
    k: int | None = None,
    l1: float = 0.0,
    unit_norm_decoder: bool = False,
    pre_bias: bool = False,
    steps: int = 1500,
    lr: float = 1e-2,
) -> list[Autoencoder]:
    """Train one small :class:`~course_lib.models.Autoencoder` per seed on X, all at once.

    Every model starts from the weights of ``Autoencoder(D, n_latent, activation, k=k,
    unit_norm_decoder=..., pre_bias=..., seed=seed)`` (with ``pre_bias``, the decoder bias starts
    at the data mean and is subtracted from the input before encoding);
    the weights of all seeds are stacked and trained together with full-batch Adam (each seed's
    parameters only see their own loss, so this equals training them one by one, only faster).
    Loss per model: squared error summed over inputs, averaged over samples, plus
    ``l1 * sum |z|`` averaged over samples. Returns the trained models, in seed order.
    """
    if activation not in ("relu", "topk"):
        raise ValueError(f"activation must be 'relu' or 'topk', got {activation!r}")
    X = X.float()
    D = X.shape[1]
    models = [Autoencoder(D, n_latent, activation, k=k, unit_norm_decoder=unit_norm_decoder,
                          pre_bias=pre_bias, seed=s) for s in seeds]
    if pre_bias:
        for m in models:
            m.init_pre_bias(X)
    W_e = torch.stack([m.encoder.weight.detach() for m in models]).requires_grad_()  # (S, H, D)
    b_e = torch.stack([m.encoder.bias.detach() for m in models]).requires_grad_()  # (S, H)
    W_d = torch.stack([m.decoder.weight.detach() for m in models]).requires_grad_()  # (S, D, H)
    b_d = torch.stack([m.decoder.bias.detach() for m in models]).requires_grad_()  # (S, D)
    params = [W_e, b_e, W_d, b_d]
    opt = torch.optim.Adam(params, lr=lr)
    for _ in range(steps):
        x_in = X - b_d[:, None, :] if pre_bias else X  # (S or 1, N, D)
        h = torch.einsum("snd,shd->snh", x_in.expand(len(W_e), -1, -1), W_e) + b_e[:, None, :]
        z = torch.relu(topk_activation(h, k)) if activation == "topk" else torch.relu(h)
        x_hat = torch.einsum("snh,sdh->snd", z, W_d) + b_d[:, None, :]
        loss = (x_hat - X).pow(2).sum(-1).mean(-1).sum() + l1 * z.abs().sum(-1).mean(-1).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if unit_norm_decoder:
            with torch.no_grad():
                W_d.grad.sub_(W_d * (W_d * W_d.grad).sum(1, keepdim=True))
        opt.step()
        if unit_norm_decoder:
            with torch.no_grad():
                W_d.div_(W_d.norm(dim=1, keepdim=True).clamp_min(1e-8))
    with torch.no_grad():
        for i, m in enumerate(models):
            m.encoder.weight.copy_(W_e[i])
            m.encoder.bias.copy_(b_e[i])
            m.decoder.weight.copy_(W_d[i])
            m.decoder.bias.copy_(b_d[i])
    return models


@torch.no_grad()
def activation_table(model: nn.Module, patterns: torch.Tensor = TOY_PATTERNS) -> torch.Tensor:
    """Code of every pattern, one column per pattern: (n_latent, n_patterns)."""
    return model.encode(patterns.float()).t()


def one_latent_per_pattern(table: torch.Tensor, rel_threshold: float = 0.01) -> bool:
    """True when every pattern (column) has exactly one active latent and no two share it.

    A latent counts as active for a pattern when its activation exceeds ``rel_threshold`` times
    the largest entry of the table.
    """
    top = table.abs().max()
    if top <= 0:
        return False
    active = table.abs() > rel_threshold * top
    if not bool((active.sum(0) == 1).all()):
        return False
    owners = active.float().argmax(0)
    return len(set(owners.tolist())) == table.shape[1]


def format_tables(tables: Mapping[str, torch.Tensor], names: Sequence[str] = TOY_NAMES, digits: int = 2) -> str:
    """Several (n_latent, n_patterns) tables side by side as text, one block per model."""
    width = digits + 4
    blocks = []
    for title, T in tables.items():
        T = T.detach().cpu()
        lines = [title, "       " + "".join(f"{nm:>{width}}" for nm in names)]
        for i, row in enumerate(T.tolist()):
            lines.append(f"lat{i + 1:<4d}" + "".join(f"{v:>{width}.{digits}f}" for v in row))
        blocks.append(lines)
    widths = [max(len(line) for line in b) for b in blocks]
    out = []
    for r in range(max(len(b) for b in blocks)):
        out.append("   ".join((b[r] if r < len(b) else "").ljust(w) for b, w in zip(blocks, widths)).rstrip())
    return "\n".join(out)


# ------------------------------------------------------------------ lesson figures
#
# Rows of small images are drawn as one mosaic per axes (NaN gaps between tiles), which keeps
# figures with a hundred tiles fast to build and to redraw.


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
    tiles are shown as ink on paper with values in [0, 1].
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
    cmap = plt.get_cmap("RdBu_r" if diverging else "gray_r").with_extremes(bad="white")
    ax.imshow(canvas, cmap=cmap, vmin=-1 if diverging else 0, vmax=1, interpolation="nearest")
    for i in range(n):  # thin frames around the tiles
        r, c = divmod(i, ncols)
        y0, x0 = r * (h + gap_y) + gap_y, c * (w + gap_x)
        ax.add_patch(plt.Rectangle((x0 - 0.5, y0 - 0.5), w, h, fill=False, linewidth=0.5, edgecolor="0.6"))
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


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


def matched_features_figure(models: Mapping[str, tuple[torch.Tensor, torch.Tensor]], factors: torch.Tensor,
                            *, title: str = "For every bar, the decoder feature of its best-matching latent "
                                          "(above each: |correlation|)") -> Figure:
    """Rows: the true bars, then per model the feature of the latent best correlated with each bar.

    models: {name: (features (n_latent, n_in), Z (N, n_latent))}; factors: (N, n_factors).
    """
    n_f = factors.shape[1]
    size = n_f // 2
    fig, axes = plt.subplots(len(models) + 1, 1, figsize=(0.68 * n_f + 1.4, 0.95 * (len(models) + 1) + 0.5),
                             squeeze=False)
    _draw_mosaic(axes[0, 0], _as_tiles(bar_images(size)), diverging=False)
    axes[0, 0].set_ylabel("true bar", rotation=0, ha="right", va="center", fontsize=9)
    for r, (name, (feats, Z)) in enumerate(models.items(), start=1):
        C = factor_correlations(Z.detach().float().cpu(), factors.float().cpu()).abs()
        best = C.argmax(1)
        _draw_mosaic(axes[r, 0], _as_tiles(feats.detach()[best]), diverging=True,
                     titles=[f"{C[c, int(best[c])]:.2f}" for c in range(n_f)])
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


def widgets_available() -> bool:
    """True when ipywidgets can be shown: importable, inside a Jupyter kernel, not fast mode."""
    if is_fast():
        return False
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class LatentExplorer:
    """A slider over the latents of one model; see :func:`explore`.

    State after every update: ``latent`` (the index shown), ``top_indices`` (its top inputs, a
    LongTensor) and ``figure`` (the matplotlib Figure). With widgets, ``slider`` (an IntSlider),
    ``summary`` (an HTML line) and ``output`` (an Output) make up ``widget``.
    """

    def __init__(self, model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, n_top: int = 12,
                 class_names: Sequence[str] | None = None, latent: int | None = None,
                 interactive: bool | None = None, model_name: str = "", Z: torch.Tensor | None = None):
        self.X, self.y = X, y.detach().cpu()
        self.Z = (encode_batched(model, X) if Z is None else Z).detach().float().cpu()
        if len(self.Z) != len(X):
            raise ValueError(f"Z has {len(self.Z)} rows but X has {len(X)}")
        self.features = model.features().cpu()
        self.n_top, self.class_names, self.model_name = n_top, class_names, model_name
        self.n_classes = len(class_names) if class_names else int(self.y.max()) + 1
        self.selectivity = class_selectivity(self.Z, self.y, self.n_classes)
        self.alive = (self.Z != 0).any(0)
        n_latent = self.Z.shape[1]
        if latent is None:
            latent = int(self.Z.abs().sum(0).argmax())
        if not 0 <= latent < n_latent:
            raise ValueError(f"latent must be in 0..{n_latent - 1}, got {latent}")
        self.interactive = widgets_available() if interactive is None else interactive
        self.latent: int | None = None
        self.top_indices: torch.Tensor | None = None
        self.figure: Figure | None = None
        self.widget = None
        if self.interactive:
            import ipywidgets as widgets

            self.slider = widgets.IntSlider(value=latent, min=0, max=n_latent - 1, step=1,
                                            description="latent", continuous_update=False,
                                            layout=widgets.Layout(width="60%"))
            self.summary = widgets.HTML()
            self.output = widgets.Output()
            self.slider.observe(self._on_change, names="value")
            self.widget = widgets.VBox([widgets.HBox([self.slider, self.summary]), self.output])
        self.show(latent)

    def _on_change(self, change: dict) -> None:
        self.show(int(change["new"]))

    def describe(self, j: int) -> str:
        """One line about latent j: how often it fires and its class selectivity."""
        rate = (self.Z[:, j] != 0).float().mean().item()
        state = "dead on these inputs" if not bool(self.alive[j]) else f"non-zero on {100 * rate:.1f}% of inputs"
        return f"latent {j}: {state}, class selectivity {self.selectivity[j].item():.2f}"

    def show(self, j: int) -> Figure:
        """Draw latent ``j`` (into the widget's output when interactive) and update the state."""
        self.latent = int(j)
        self.top_indices = top_activating_examples(self.Z, self.latent, min(self.n_top, len(self.Z)))
        fig = latent_figure(self.features[self.latent], self.Z[:, self.latent], self.X, self.y, self.latent,
                            n_top=self.n_top, class_names=self.class_names, n_classes=self.n_classes,
                            model_name=self.model_name)
        plt.close(fig)  # shown explicitly below / by the caller, never twice by the inline backend
        self.figure = fig
        if self.interactive:
            from IPython.display import clear_output, display

            self.summary.value = self.describe(self.latent)
            with self.output:
                clear_output(wait=True)
                display(fig)
        return fig

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget if self.interactive else self.figure)


def explore(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, n_top: int = 12,
            class_names: Sequence[str] | None = None, latent: int | None = None,
            interactive: bool | None = None, model_name: str = "") -> LatentExplorer:
    """Browse a model's latents: pick one with a slider, see its decoder image, top inputs,
    activation histogram and mean activation per class.

    Without a widget front-end (ipywidgets missing, no Jupyter kernel, or ``COURSE_FAST=1``)
    the same figure is shown once, for ``latent`` (default: the latent with the most total
    activation). Force either mode with ``interactive=True`` / ``False``. Put the call last in
    a cell (or ``display`` the result) to show it.
    """
    return LatentExplorer(model, X, y, n_top=n_top, class_names=class_names, latent=latent,
                          interactive=interactive, model_name=model_name)
