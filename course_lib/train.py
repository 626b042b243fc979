"""A fast training loop: the whole dataset stays on the device and batches are slices of it."""
from __future__ import annotations

import math
import time
from typing import Callable, Iterator

import torch
from torch import nn
from tqdm.auto import tqdm

from .metrics import reconstruction_error

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
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be positive, got {epochs} and {batch_size}")
    device = next(model.parameters()).device
    if X.device != device:
        raise ValueError(f"X is on {X.device} but the model is on {device}; move one: model.to(X.device)")
    return device


def epoch_batches(n: int, batch_size: int, gen: torch.Generator, device: torch.device) -> Iterator[torch.Tensor]:
    """One epoch's batches: index slices of a permutation of ``range(n)`` drawn from ``gen``."""
    perm = torch.randperm(n, generator=gen).to(device)
    for i in range(0, n, batch_size):
        yield perm[i : i + batch_size]


def _diverged_message(epoch: int, lr: float, penalty: Penalty | None) -> str:
    cause = f"the learning rate lr={lr:g} is too high"
    if penalty is not None:
        cause += ", or the penalty weight is too high (or the penalty takes a log of 0)"
    return (
        f"The loss became NaN/inf in epoch {epoch + 1}. Likely cause: {cause}. "
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
    if not isinstance(X, torch.Tensor) or X.dim() != 2:
        raise ValueError(f"X must be a tensor of shape (N, features), got {getattr(X, 'shape', type(X))}")
    device = training_device(model, X, epochs, batch_size)
    unit_norm = getattr(model, "unit_norm_decoder", False)
    opt = make_optimizer(model.parameters(), lr, weight_decay)
    gen = torch.Generator().manual_seed(seed)
    n = len(X)
    history: dict[str, list[float]] = {k: [] for k in ("loss", "recon", "penalty", "extra", "seconds")}
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
