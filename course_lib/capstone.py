"""The capstone: a sparse autoencoder on the hidden layer of a small image classifier.

The pieces, in the order lesson 06 uses them:

* :class:`MLPClassifier` (784 -> 256 -> ReLU -> 10, layers named ``fc1``, ``relu``, ``fc2``) and
  :func:`train_classifier`, a whole-tensor training loop like :func:`course_lib.train.train`;
* :func:`record_activations`: the output of a named layer, collected with a forward hook;
* :func:`class_profile` and :func:`selectivity`: how a unit's activation mass is shared among the
  classes (a per-class *mean*, so class sizes do not matter);
* :func:`make_layer_sae`: a sparse autoencoder set up for a layer's activations;
* :func:`splice_logits` and :func:`sae_replacement`: run the classifier with a layer's output
  replaced, e.g. by the SAE's reconstruction, or by a reconstruction with one latent edited;
* :func:`readout_basis`, :func:`readout_share` and :func:`matched_errors`: errors of the same size
  placed where the next layer does or does not look (why FVU alone is not enough);
* :func:`set_feature` (ablate: value 0; amplify: a large value) and :func:`prediction_shift`,
  which measures what an edit did to the predictions of one class;
* figures (in :mod:`course_lib.capstone_figures`, available here too): :func:`profile_heatmap`,
  :func:`selectivity_histogram`, :func:`unit_gallery`.

These are also the references the lesson's graded exercises are checked against.
"""
from __future__ import annotations

import math
import time
from collections import OrderedDict
from typing import Callable, Sequence

import torch
from torch import nn

from .capstone_figures import (SHORT_NAMES, mass_weighted_sample, profile_heatmap,  # noqa: F401 (re-exported)
                               selectivity_histogram, unit_gallery)
from .models import Autoencoder
from .pbar import tqdm
from .train import TrainingDiverged, epoch_batches, make_optimizer, training_device

HIDDEN_LAYER = "relu"
"""Name of the classifier's hidden layer whose output the lesson studies (256 values, >= 0)."""



# ---------------------------------------------------------------- the classifier


class MLPClassifier(nn.Sequential):
    """``x (B, n_in) -> fc1 -> relu -> fc2 -> logits (B, n_classes)``.

    A plain ``nn.Sequential`` whose layers have names, so a layer can be picked by name:
    ``model.get_submodule("relu")`` is the hidden layer. ``seed`` seeds the initialisation
    without touching the global random state.
    """

    def __init__(self, n_in: int = 784, n_hidden: int = 256, n_classes: int = 10, *,
                 seed: int | None = 0) -> None:
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            super().__init__(OrderedDict([
                ("fc1", nn.Linear(n_in, n_hidden)),
                ("relu", nn.ReLU()),
                ("fc2", nn.Linear(n_hidden, n_classes)),
            ]))
        self.n_in, self.n_hidden, self.n_classes = n_in, n_hidden, n_classes


def _check_xy(X: torch.Tensor, y: torch.Tensor) -> None:
    if not isinstance(X, torch.Tensor) or X.dim() != 2:
        raise ValueError(f"X must be a tensor of shape (N, features), got {getattr(X, 'shape', type(X))}")
    if not isinstance(y, torch.Tensor) or y.shape != (len(X),):
        raise ValueError(f"y must be a tensor of {len(X)} class labels, got {getattr(y, 'shape', type(y))}")
    if y.device != X.device:
        raise ValueError(f"X is on {X.device} but y is on {y.device}; move one of them")


@torch.no_grad()
def predict_logits(model: nn.Module, X: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
    """``model(X)`` in batches without building a graph: (N, n_in) -> (N, n_classes)."""
    return torch.cat([model(X[i : i + batch_size]) for i in range(0, len(X), batch_size)])


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of rows whose largest logit is at the true class."""
    if logits.dim() != 2 or len(logits) != len(y):
        raise ValueError(f"expected logits (N, n_classes) and N labels, got {tuple(logits.shape)} and {tuple(y.shape)}")
    return (logits.argmax(1) == y).float().mean().item()


def train_classifier(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    batch_size: int = 256,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, list[float]]:
    """Train ``model`` to classify X (N, D) as y (N,) with cross-entropy and Adam.

    As in :func:`course_lib.train.train`, X and y stay on the device and every batch is a slice of
    a seeded permutation, which is many times faster than a DataLoader on small images.

    Returns the per-epoch history ``{"loss", "train_accuracy", "seconds"}`` (loss and accuracy are
    averages over the epoch's batches, measured while training).
    """
    _check_xy(X, y)
    device = training_device(model, X, epochs, batch_size)
    model.train()
    opt = make_optimizer(model.parameters(), lr, weight_decay)
    gen = torch.Generator().manual_seed(seed)
    n = len(X)
    history: dict[str, list[float]] = {"loss": [], "train_accuracy": [], "seconds": []}
    bar = tqdm(range(epochs), desc="training classifier", unit="epoch", disable=not progress, leave=False)
    for epoch in bar:
        start = time.perf_counter()
        sums = torch.zeros(2, device=device)
        for idx in epoch_batches(n, batch_size, gen, device):
            logits = model(X[idx])
            loss = nn.functional.cross_entropy(logits, y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            correct = (logits.detach().argmax(1) == y[idx]).sum()
            sums += torch.stack([loss.detach() * len(idx), correct.to(sums.dtype)])
        loss_m, acc_m = (sums / n).tolist()
        if not math.isfinite(loss_m):
            raise TrainingDiverged(f"The loss became NaN/inf in epoch {epoch + 1}; try a learning "
                                   f"rate 3-10x lower than lr={lr:g}.")
        history["loss"].append(loss_m)
        history["train_accuracy"].append(acc_m)
        history["seconds"].append(time.perf_counter() - start)
        bar.set_postfix(loss=f"{loss_m:.3f}", acc=f"{acc_m:.3f}")
    model.eval()
    return history


# ---------------------------------------------------------------- hooks: read and replace a layer


def get_layer(model: nn.Module, layer: str) -> nn.Module:
    """The submodule called ``layer``; an unknown name raises an error listing the names."""
    try:
        return model.get_submodule(layer)
    except AttributeError:
        names = [name for name, _ in model.named_modules() if name]
        raise ValueError(f"the model has no layer {layer!r}; its layers are {names}") from None


def record_activations(model: nn.Module, X: torch.Tensor, layer: str, batch_size: int = 4096) -> torch.Tensor:
    """The output of ``model``'s layer ``layer`` on every row of X: (N, n_in) -> (N, H).

    A forward hook on the layer stores its output for each batch; the hook is removed
    afterwards (even on error) and the result is detached.
    """
    module = get_layer(model, layer)
    chunks: list[torch.Tensor] = []

    def hook(_module, _inputs, output):
        chunks.append(output.detach())

    handle = module.register_forward_hook(hook)
    try:
        with torch.no_grad():
            for i in range(0, len(X), batch_size):
                model(X[i : i + batch_size])
    finally:
        handle.remove()
    return torch.cat(chunks)


def splice_logits(model: nn.Module, X: torch.Tensor, layer: str,
                  replace: Callable[[torch.Tensor], torch.Tensor], batch_size: int = 4096) -> torch.Tensor:
    """Logits of ``model`` on X when layer ``layer``'s output ``h`` is replaced by ``replace(h)``.

    Everything after the layer runs on the replacement; the hook is removed afterwards.
    ``replace`` must return a tensor of the same shape as ``h``. Returns (N, n_classes).
    """
    module = get_layer(model, layer)

    def hook(_module, _inputs, output):
        new = replace(output)
        if not isinstance(new, torch.Tensor) or new.shape != output.shape:
            raise ValueError(f"replace must return a tensor of shape {tuple(output.shape)}, "
                             f"got {getattr(new, 'shape', type(new).__name__)}")
        return new

    handle = module.register_forward_hook(hook)
    try:
        with torch.no_grad():
            return torch.cat([model(X[i : i + batch_size]) for i in range(0, len(X), batch_size)])
    finally:
        handle.remove()


def sae_replacement(sae: Autoencoder, edit: Callable[[torch.Tensor], torch.Tensor] | None = None,
                    *, keep_error: bool = False) -> Callable[[torch.Tensor], torch.Tensor]:
    """A ``replace`` function for :func:`splice_logits` built from a sparse autoencoder.

    * ``keep_error=False``: ``h -> decode(edit(encode(h)))``, the reconstruction (``edit``
      defaults to no change): this tests whether the SAE captures what the network uses.
    * ``keep_error=True``: ``h -> h + decode(edit(z)) - decode(z)`` with ``z = encode(h)``: the
      SAE's reconstruction error is kept, so only the edit changes the layer. Use it for
      interventions; without an edit it returns ``h`` (up to rounding).
    """
    def replace(h: torch.Tensor) -> torch.Tensor:
        z = sae.encode(h)
        z_new = edit(z) if edit is not None else z
        if keep_error:
            return h + sae.decode(z_new) - sae.decode(z)
        return sae.decode(z_new)

    return replace


# ---------------------------------------------------------------- errors the next layer can or cannot see


def readout_basis(W: torch.Tensor, rtol: float = 1e-6) -> torch.Tensor:
    """Orthonormal basis (H, r) of the directions a linear layer ``y = W h + b`` reads.

    W is the layer's weight (out, H); the basis spans its row space (r = rank of W, at most
    ``out``). A change of ``h`` orthogonal to every basis vector leaves ``y`` exactly unchanged.
    """
    _, S, Vh = torch.linalg.svd(W.detach(), full_matrices=False)
    keep = S > rtol * S.max()
    return Vh[keep].t()


def readout_share(E: torch.Tensor, W: torch.Tensor) -> float:
    """Fraction of the total squared size of the errors E (N, H) that lies in ``readout_basis(W)``.

    A random direction puts about ``rank(W) / H`` of its size there.
    """
    B = readout_basis(W).to(E.dtype)
    return ((E @ B).pow(2).sum() / E.pow(2).sum().clamp_min(torch.finfo(E.dtype).tiny)).item()


def matched_errors(E: torch.Tensor, W: torch.Tensor, *, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random errors with exactly the row norms of E (N, H), so the same FVU, in three directions.

    * ``"random"``: any direction;
    * ``"read"``: inside the directions the layer with weight W reads (:func:`readout_basis`);
    * ``"unread"``: orthogonal to them, invisible to that layer.
    """
    B = readout_basis(W).to(E.dtype)
    gen = torch.Generator().manual_seed(seed)
    G = torch.randn(E.shape, generator=gen, dtype=torch.float64).to(dtype=E.dtype, device=E.device)
    read = (G @ B) @ B.t()
    norms = E.norm(dim=1, keepdim=True)
    tiny = torch.finfo(E.dtype).tiny

    def scaled(D: torch.Tensor) -> torch.Tensor:
        return D / D.norm(dim=1, keepdim=True).clamp_min(tiny) * norms

    return {"random": scaled(G), "read": scaled(read), "unread": scaled(G - read)}


# ---------------------------------------------------------------- which classes does a unit serve?


def class_profile(A: torch.Tensor, y: torch.Tensor, n_classes: int) -> torch.Tensor:
    """How each unit's activation is shared among the classes: (N, H), (N,) -> (n_classes, H).

    ``P[c, j] = mean_{i: y_i = c} A[i, j] / sum_c' mean_{i: y_i = c'} A[i, j]``: a per-class
    *mean*, so a class with more examples does not weigh more; each column sums to 1. A class
    with no examples has mean 0. A unit that is zero on every row has no preference: its column
    is uniform, ``1 / n_classes``. A must be non-negative (ReLU outputs, SAE codes).
    """
    onehot = nn.functional.one_hot(y, n_classes).to(A.dtype)  # (N, C)
    counts = onehot.sum(0).clamp_min(1)
    means = (onehot.t() @ A) / counts[:, None]  # (C, H)
    total = means.sum(0, keepdim=True)
    tiny = torch.finfo(A.dtype).tiny
    uniform = torch.full_like(means, 1.0 / n_classes)
    return torch.where(total > 0, means / total.clamp_min(tiny), uniform)


def selectivity(P: torch.Tensor) -> torch.Tensor:
    """Largest class share of each unit, (n_classes, H) -> (H,): from 1/n_classes (no preference) to 1.

    The *top-class share* of a class profile. Lesson 04's
    :func:`course_lib.interpret.class_selectivity` scores the same profile by its entropy instead
    (0 for no preference, 1 for one class): related scores on different scales, not one number.
    """
    return P.max(0).values


def active_units(A: torch.Tensor, min_count: int = 20) -> torch.Tensor:
    """Indices of the units (columns of A) that are positive on at least ``min_count`` rows."""
    return ((A > 0).sum(0) >= min_count).nonzero().flatten()


# ---------------------------------------------------------------- an SAE for a layer


def make_layer_sae(A: torch.Tensor, n_latent: int, *, seed: int = 0) -> Autoencoder:
    """An L1-ready sparse autoencoder for activations A (N, H), on A's device.

    ReLU code, unit-norm decoder columns (so the L1 penalty cannot be dodged by shrinking codes),
    pre-encoder bias at the mean activation, and the encoder initialised as the decoder's
    transpose (each latent starts out detecting the direction it writes), which keeps far fewer
    latents from dying early than a random encoder.
    """
    sae = Autoencoder(A.shape[1], n_latent, "relu", unit_norm_decoder=True, pre_bias=True, seed=seed).to(A.device)
    sae.init_pre_bias(A)
    with torch.no_grad():
        sae.encoder.weight.copy_(sae.decoder.weight.t())
        sae.encoder.bias.zero_()
    return sae


# ---------------------------------------------------------------- interventions


def set_feature(z: torch.Tensor, j: int | Sequence[int] | torch.Tensor, value: float) -> torch.Tensor:
    """A copy of the code z (B, n_latent) with latent(s) ``j`` set to ``value`` on every row.

    ``value=0`` ablates the latent; a large value amplifies it, even on rows where it was off.
    ``j`` is one index or several. z itself is not modified, and gradients flow to the other
    entries.
    """
    mask = torch.zeros(z.shape[-1], dtype=torch.bool, device=z.device)
    mask[torch.as_tensor(j, device=z.device)] = True
    return torch.where(mask, torch.as_tensor(value, dtype=z.dtype, device=z.device), z)


def prediction_shift(logits_before: torch.Tensor, logits_after: torch.Tensor, c: int) -> tuple[float, float]:
    """What an intervention did to class ``c``: ``(kept, gained)``, two floats.

    * ``kept``: among the rows predicted ``c`` before, the fraction still predicted ``c`` after;
    * ``gained``: among the rows *not* predicted ``c`` before, the fraction predicted ``c`` after.

    A prediction is the arg-max of a row of logits (N, n_classes). A fraction over no rows is
    ``nan``.
    """
    before = logits_before.argmax(1) == c
    after = logits_after.argmax(1) == c
    kept = after[before].float().mean().item()
    gained = after[~before].float().mean().item()
    return kept, gained

