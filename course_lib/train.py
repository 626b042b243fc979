"""A fast training loop: the whole dataset stays on the device and batches are slices of it."""
from __future__ import annotations

import math
import time
from typing import Callable, Iterator

import torch
from torch import nn

from . import validate
from .metrics import reconstruction_error
from .sparsity import kl_sparsity_penalty, project_decoder_grad, renormalize_columns, sparse_loss
from .pbar import tqdm

Step = Callable[[nn.Module, torch.optim.Optimizer, torch.Tensor], float]
Penalty = Callable[[torch.Tensor, nn.Module], torch.Tensor]
ExtraLoss = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, nn.Module], torch.Tensor]


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite; the message names the likely cause."""


reconstruction_loss = reconstruction_error  # the training loss: squared error per sample, batch mean


def make_optimizer(params, lr: float, weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """Adam, using the fused kernel where this torch and device support it (much faster on CPU)."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


def training_device(model: nn.Module, X: torch.Tensor, epochs: int, batch_size: int) -> torch.device:
    """The model's device, after checking the arguments every training loop of the course takes."""
    validate.count("epochs", epochs)
    validate.count("batch_size", batch_size)
    validate.batch("X", X, shape="(N, features)")
    device = next(model.parameters()).device
    if X.device != device:
        raise ValueError(f"X is on {X.device} but the model is on {device}; move one: model.to(X.device)")
    return device


def epoch_batches(n: int, batch_size: int, gen: torch.Generator, device: torch.device) -> Iterator[torch.Tensor]:
    """One epoch's batches: index slices of a permutation of ``range(n)`` drawn from ``gen``."""
    perm = torch.randperm(n, generator=gen).to(device)
    for i in range(0, n, batch_size):
        yield perm[i : i + batch_size]


# An epoch whose mean loss exceeds this multiple of the first batch's loss has diverged.
EXPLODED = 1e3


def _diverged_message(epoch: int, lr: float, penalty: Penalty | None, what: str = "became NaN/inf") -> str:
    cause = f"the learning rate lr={lr:g} is too high"
    if penalty is not None:
        cause += ", or the penalty weight is too high (or the penalty takes a log of 0)"
    return (
        f"The loss {what} in epoch {epoch + 1}. Likely cause: {cause}. "
        "Try a learning rate 3-10x lower or a smaller penalty weight, and check inputs are finite."
    )


def train(
    model: nn.Module,
    X: torch.Tensor,
    *,
    epochs: int,
    batch_size: int = 256,
    lr: float = 1e-3,
    penalty: Penalty | None = None,
    extra_loss: ExtraLoss | None = None,
    weight_decay: float = 0.0,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, list[float]]:
    """Train ``model`` (``forward(x) -> (x_hat, z)``) to reconstruct X (N, D) with Adam.

    The loss is :func:`reconstruction_loss` plus ``penalty(z, model)`` plus
    ``extra_loss(x, x_hat, z, model)`` when given. Batches are slices of a seeded permutation of
    X, which should already be on the model's device. A model with ``unit_norm_decoder`` gets its
    decoder gradient projected and its columns renormalised around every step.

    Returns the per-epoch history: ``{"loss", "recon", "penalty", "extra", "seconds"}``.
    """
    X = validate.batch("X", X, shape="(N, features)")
    validate.finite("X", X)
    lr = validate.number("lr", lr, low=0.0, low_open=True)
    weight_decay = validate.weight("weight_decay", weight_decay)
    device = training_device(model, X, epochs, batch_size)
    unit_norm = getattr(model, "unit_norm_decoder", False)
    opt = make_optimizer(model.parameters(), lr, weight_decay)
    gen = torch.Generator().manual_seed(seed)
    n = len(X)
    history: dict[str, list[float]] = {k: [] for k in ("loss", "recon", "penalty", "extra", "seconds")}
    first = None  # the first batch's loss, the scale against which an exploding loss is judged
    bar = tqdm(range(epochs), desc="training", unit="epoch", disable=not progress, leave=False)
    for epoch in bar:
        start = time.perf_counter()
        sums = torch.zeros(3, device=device)
        for idx in epoch_batches(n, batch_size, gen, device):
            x = X[idx]
            x_hat, z = model(x)
            recon = reconstruction_loss(x, x_hat)
            pen = penalty(z, model) if penalty is not None else recon.new_zeros(())
            extra = extra_loss(x, x_hat, z, model) if extra_loss is not None else recon.new_zeros(())
            loss = recon + pen + extra
            if first is None:
                first = abs(loss.item())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if unit_norm:
                model.project_decoder_grad_()
            opt.step()
            if unit_norm:
                model.normalize_decoder_()
            sums += torch.stack([recon.detach(), pen.detach(), extra.detach()]) * len(x)
        recon_m, pen_m, extra_m = (sums / n).tolist()
        total = recon_m + pen_m + extra_m
        if not math.isfinite(total):
            raise TrainingDiverged(_diverged_message(epoch, lr, penalty))
        if abs(total) > EXPLODED * max(first, 1e-3):
            raise TrainingDiverged(_diverged_message(
                epoch, lr, penalty, f"exploded to {total:.3g} (from {first:.3g} at the first batch)"))
        for key, value in zip(history, (total, recon_m, pen_m, extra_m, time.perf_counter() - start)):
            history[key].append(value)
        bar.set_postfix(loss=f"{total:.3f}")
    return history


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor,
               penalty: Callable[[torch.Tensor], torch.Tensor] | None = None) -> float:
    """One optimisation step on ``reconstruction_error(x, x_hat)`` (+ ``penalty(z)`` when given).

    ``model(x)`` returns ``(x_hat, z)``. Clears the old gradients, backpropagates, steps the
    optimizer and returns the loss as a Python float, as computed before the step.
    """
    x_hat, z = model(x)
    loss = reconstruction_error(x, x_hat)
    if penalty is not None:
        loss = loss + penalty(z)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def constrained_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, lam: float) -> float:
    """One step of an L1 sparse autoencoder whose decoder columns are kept at unit norm.

    The loss is :func:`~course_lib.sparsity.sparse_loss`. After ``backward`` the decoder gradient
    loses its component along each column (:func:`~course_lib.sparsity.project_decoder_grad`);
    after the optimizer's step every column is rescaled to unit norm
    (:func:`~course_lib.sparsity.renormalize_columns`), in the parameter itself. ``model.decoder``
    is an ``nn.Linear(n_latent, n_in)``: its weight (n_in, n_latent) has one column per latent.
    Returns the loss as a float, as computed before the step.
    """
    x_hat, z = model(x)
    loss = sparse_loss(x, x_hat, z, lam)
    optimizer.zero_grad()
    loss.backward()
    W = model.decoder.weight
    with torch.no_grad():
        W.grad.copy_(project_decoder_grad(W, W.grad))
    optimizer.step()
    with torch.no_grad():
        W.copy_(renormalize_columns(W))
    return loss.item()


def kl_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, rho: float, beta: float) -> float:
    """One step of a sigmoid autoencoder on ``reconstruction_error + kl_sparsity_penalty(a, rho, beta)``.

    ``model(x)`` returns ``(x_hat, a)`` with ``a`` in (0, 1); the penalty compares each unit's
    batch-mean activation with ``rho``. Returns the loss as a float, as computed before the step.
    """
    return train_step(model, optimizer, x, lambda a: kl_sparsity_penalty(a, rho, beta))


def train_with_step(model: nn.Module, X: torch.Tensor, step: Step, *, epochs: int, lr: float,
                    batch_size: int = 64, seed: int = 0, progress: bool = False) -> list[float]:
    """Train ``model`` on X (N, D) by calling ``step(model, optimizer, x)`` on each batch.

    The optimizer is Adam (:func:`make_optimizer`); batches are slices of a permutation of X drawn
    from ``seed``, so a run is reproducible. Returns each epoch's mean loss (the values ``step``
    returned); raises :class:`TrainingDiverged` when it is not finite.
    """
    if not isinstance(X, torch.Tensor) or X.dim() != 2:
        raise ValueError(f"X must be a tensor of shape (N, features), got {getattr(X, 'shape', type(X))}")
    device = training_device(model, X, epochs, batch_size)
    optimizer = make_optimizer(model.parameters(), lr)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    for epoch in tqdm(range(epochs), desc="training", unit="epoch", disable=not progress, leave=False):
        total = 0.0
        for idx in epoch_batches(len(X), batch_size, gen, device):
            total += float(step(model, optimizer, X[idx])) * len(idx)
        losses.append(total / len(X))
        if not math.isfinite(losses[-1]):
            raise TrainingDiverged(_diverged_message(epoch, lr, None))
    return losses
