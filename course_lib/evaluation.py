"""Evaluating a sparse autoencoder inside the network it explains, in the spirit of SAEBench.

Every column of lesson 08's table is one function here: :func:`loss_recovered` and
:func:`splice_metrics` (the classifier with the reconstruction spliced in, against zero-ablation),
:func:`sparse_probe_accuracy` (k most class-informative latents), :func:`shrinkage`,
:func:`seed_stability` (one-to-one decoder matching) and :func:`fvu_at_l0` (the frontier at a
matched L0). FVU, L0 and dead fraction are :mod:`course_lib.metrics`'.

    >>> round(loss_recovered(ce_clean=0.30, ce_spliced=0.40, ce_ablated=2.30), 4)
    0.95
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch import nn

from . import absorption, capstone, matching, metrics, validate


def loss_recovered(ce_clean, ce_spliced, ce_ablated) -> float:
    """How much of the layer's contribution to the loss survives the sparse autoencoder's splice.

    ``(ce_ablated - ce_spliced) / (ce_ablated - ce_clean)``: 1 when splicing the reconstruction in
    costs nothing, 0 when it is as bad as zero-ablating the layer (negative when worse). Each
    argument is a mean cross-entropy: of the intact network, with the layer replaced by the
    reconstruction, and with the layer's output set to zero.
    """
    clean = validate.number("ce_clean", ce_clean)
    spliced = validate.number("ce_spliced", ce_spliced)
    ablated = validate.number("ce_ablated", ce_ablated)
    if ablated == clean:
        raise ValueError(f"ce_ablated equals ce_clean ({clean:.4g}): zero-ablating the layer costs "
                         "nothing, so there is no loss to recover; choose a layer the network uses.")
    return (ablated - spliced) / (ablated - clean)


def _check_codes(Z: torch.Tensor, y: torch.Tensor, name: str = "Z") -> None:
    if not isinstance(Z, torch.Tensor) or Z.dim() != 2:
        raise ValueError(f"{name} must be codes of shape (N, n_latent), got {getattr(Z, 'shape', type(Z))}")
    if not isinstance(y, torch.Tensor) or y.shape != (len(Z),):
        raise ValueError(f"the labels must be a tensor of {len(Z)} class labels, got {getattr(y, 'shape', type(y))}")


# ---------------------------------------------------------------- splicing the reconstruction in


def splice_metrics(model: nn.Module, X: torch.Tensor, y: torch.Tensor, layer: str,
                   sae: nn.Module) -> dict[str, float]:
    """The classifier with layer ``layer`` intact, replaced by the SAE's reconstruction, and zeroed.

    Returns mean cross-entropies ``ce_clean``, ``ce_spliced``, ``ce_ablated``, accuracies
    ``acc_clean``, ``acc_spliced``, ``acc_ablated``, and ``ce_recovered`` / ``acc_recovered``:
    :func:`loss_recovered` of each (the same formula for accuracy: 1 when the splice loses no
    accuracy, 0 when it loses as much as zero-ablation).
    """
    runs = {"clean": lambda h: h, "spliced": capstone.sae_replacement(sae), "ablated": torch.zeros_like}
    out: dict[str, float] = {}
    for name, replace in runs.items():
        logits = capstone.splice_logits(model, X, layer, replace)
        out[f"ce_{name}"] = nn.functional.cross_entropy(logits, y).item()
        out[f"acc_{name}"] = capstone.accuracy(logits, y)
    out["ce_recovered"] = loss_recovered(out["ce_clean"], out["ce_spliced"], out["ce_ablated"])
    out["acc_recovered"] = loss_recovered(out["acc_clean"], out["acc_spliced"], out["acc_ablated"])
    return out


# ---------------------------------------------------------------- sparse probing


def informative_latents(Z: torch.Tensor, is_positive: torch.Tensor, k: int) -> torch.Tensor:
    """The k latents whose mean activation differs most between positive and negative rows.

    Z: (N, n) codes; is_positive: (N,) bool. SAEBench's selection rule: rank latents by
    ``|mean(Z[pos]) - mean(Z[neg])|``. Returns k indices, most informative first.
    """
    if is_positive.dtype != torch.bool or is_positive.shape != (len(Z),) or is_positive.all() or not is_positive.any():
        raise ValueError("is_positive must be a bool mask over the rows of Z with both values present")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= Z.shape[1]:
        raise ValueError(f"k must be an integer in 1..{Z.shape[1]}, got {k!r}")
    gap = (Z[is_positive].mean(0) - Z[~is_positive].mean(0)).abs()
    return gap.topk(k).indices


def _fit_binary_probe(A: torch.Tensor, t: torch.Tensor, max_iter: int) -> nn.Linear:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        probe = nn.Linear(A.shape[1], 1).to(A.device)
    pos_weight = (1 - t).sum() / t.sum().clamp_min(1)  # balance the classes
    opt = torch.optim.LBFGS(probe.parameters(), lr=1, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = nn.functional.binary_cross_entropy_with_logits(probe(A).squeeze(1), t, pos_weight=pos_weight)
        loss = loss + 1e-4 * probe.weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    return probe


def sparse_probe_accuracy(Z_train: torch.Tensor, y_train: torch.Tensor, Z_test: torch.Tensor,
                          y_test: torch.Tensor, k: int, *, max_iter: int = 50) -> float:
    """Sparse probing: can k latents tell one class from the rest?

    For each class c, pick the k most class-informative latents on the training codes
    (:func:`informative_latents`), fit a class-balanced logistic regression on those k latents
    only (standardised), and score its *balanced* accuracy (mean of the two recalls) on the test
    codes. Returns the mean over the classes: 0.5 is chance, 1 perfect. Z_*: (N, n); y_*: (N,).
    """
    _check_codes(Z_train, y_train, "Z_train")
    _check_codes(Z_test, y_test, "Z_test")
    scores = []
    for c in y_train.unique().tolist():
        pos_train, pos_test = y_train == c, y_test == c
        if not pos_test.any() or pos_test.all():
            continue
        idx = informative_latents(Z_train, pos_train, k)
        A, B = Z_train[:, idx].float(), Z_test[:, idx].float()
        mean, std = A.mean(0), A.std(0).clamp_min(1e-6)
        probe = _fit_binary_probe((A - mean) / std, pos_train.float(), max_iter)
        with torch.no_grad():
            pred = probe((B - mean) / std).squeeze(1) > 0
        scores.append(0.5 * (pred[pos_test].float().mean() + (~pred[~pos_test]).float().mean()).item())
    if not scores:
        raise ValueError("no class has both positive and negative test rows")
    return sum(scores) / len(scores)


# ---------------------------------------------------------------- shrinkage and seed stability


def shrinkage(x: torch.Tensor, x_hat: torch.Tensor, center: torch.Tensor | None = None) -> float:
    """The scale gamma that best fits the reconstruction to the data: ``argmin ||gamma x_hat - x||^2``.

    Measured around ``center`` (e.g. the decoder bias, so that only the part the codes write is
    scaled): ``gamma = <x - c, x_hat - c> / ||x_hat - c||^2`` over all rows. 1 means no
    shrinkage; above 1, the codes are systematically too small (as an L1 penalty makes them).
    """
    if x.shape != x_hat.shape:
        raise ValueError(f"x and x_hat must have the same shape, got {tuple(x.shape)} and {tuple(x_hat.shape)}")
    c = 0.0 if center is None else center.detach()
    a, b = (x - c).double(), (x_hat - c).double()
    denom = b.pow(2).sum()
    if denom == 0:
        raise ValueError("the reconstruction equals the centre everywhere: there is no scale to fit")
    return ((a * b).sum() / denom).item()


def seed_stability(decoder_a: torch.Tensor, decoder_b: torch.Tensor, *,
                   threshold: float = 0.9) -> dict[str, float]:
    """How far two SAEs trained from different seeds found the same dictionary.

    decoder_*: (d, n) decoder weights, one direction per column. The columns are paired one to
    one by cosine (:func:`course_lib.matching.match_one_to_one`, Hungarian); returns
    ``{"mean_cosine": mean over pairs, "shared": fraction of pairs with cosine >= threshold}``.
    """
    _, _, cos = matching.match_one_to_one(decoder_a.detach(), decoder_b.detach())
    return {"mean_cosine": cos.mean().item(), "shared": (cos >= threshold).double().mean().item()}


# ---------------------------------------------------------------- the frontier


def fvu_at_l0(l0s: Sequence[float], fvus: Sequence[float], target: float) -> float:
    """FVU of a family's frontier at L0 = ``target``, interpolated linearly in log L0.

    l0s, fvus: one point per trained model (any order). ``nan`` when ``target`` lies outside the
    measured L0 range: a frontier is not extrapolated.
    """
    if len(l0s) != len(fvus) or len(l0s) < 2:
        raise ValueError("give at least two (L0, FVU) points, as two lists of the same length")
    pts = sorted(zip(l0s, fvus))
    xs = np.log([p[0] for p in pts])
    if target <= 0 or not xs[0] <= math.log(target) <= xs[-1]:
        return float("nan")
    return float(np.interp(math.log(target), xs, [p[1] for p in pts]))


# ---------------------------------------------------------------- one row of the table


@torch.no_grad()
def evaluate_sae(sae: nn.Module, A_train: torch.Tensor, y_train: torch.Tensor, A_test: torch.Tensor,
                 y_test: torch.Tensor, *, model: nn.Module, X_test: torch.Tensor, layer: str,
                 probe_k: Sequence[int] = (1, 5), parent: str = "footwear",
                 n_probe_train: int = 10_000) -> dict[str, float]:
    """Every column of the lesson's table for one SAE of layer ``layer`` of ``model``.

    A_*: the layer's activations (N, d) on training and held-out images, y_*: their labels;
    X_test: the held-out images themselves (for the splice). Everything is measured on held-out
    data except the probes' and the latent selection's fit (first ``n_probe_train`` training rows).
    Keys: ``fvu``, ``l0``, ``dead`` (never active on the test set), ``shrinkage``, the keys of
    :func:`splice_metrics`, ``probe_k{k}`` for each k, and ``absorption`` (the rate of
    :func:`course_lib.absorption.absorption` for ``parent``, NaN when no latent fires on it).
    """
    X_hat, Z = metrics.reconstruct_batched(sae, A_test)
    row = {"fvu": metrics.fvu(A_test, X_hat), "l0": metrics.l0(Z), "dead": metrics.dead_fraction(Z),
           "shrinkage": shrinkage(A_test, X_hat, sae.b_dec)}
    row.update(splice_metrics(model, X_test, y_test, layer, sae))
    Z_train = metrics.encode_batched(sae, A_train[:n_probe_train])
    for k in probe_k:
        row[f"probe_k{k}"] = sparse_probe_accuracy(Z_train, y_train[:n_probe_train], Z, y_test, k)
    is_parent = absorption.parent_mask(y_test, parent)
    try:
        row["absorption"] = absorption.absorption(Z, is_parent, sae.decoder_weight.detach(),
                                                  absorption.parent_direction(A_test, is_parent)).rate
    except ValueError:
        row["absorption"] = float("nan")
    return row


def format_table(rows: dict[str, dict[str, float]], columns: Sequence[tuple[str, str, str]]) -> str:
    """A plain-text table: one line per entry of ``rows`` (name -> values), ``columns`` as
    ``(key, header, format)``, e.g. ``("fvu", "FVU", ".3f")``."""
    width = max(len(name) for name in rows) if rows else 4
    cells = [[format(values[key], fmt) for key, _, fmt in columns] for values in rows.values()]
    widths = [max([len(header)] + [len(c[i]) for c in cells]) for i, (_, header, _) in enumerate(columns)]
    lines = ["  ".join([" " * width] + [h.rjust(w) for (_, h, _), w in zip(columns, widths)])]
    for name, row in zip(rows, cells):
        lines.append("  ".join([name.ljust(width)] + [c.rjust(w) for c, w in zip(row, widths)]))
    return "\n".join(lines)
