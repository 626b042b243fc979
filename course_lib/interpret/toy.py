"""The three-pattern toy experiment: train many small autoencoders at once and read their codes.

* :func:`train_toy_models` - one :class:`~course_lib.models.Autoencoder` per seed, trained together;
* :func:`activation_table`, :func:`one_latent_per_pattern`, :func:`format_tables` - the code of
  every pattern, whether it is the clean one-latent-per-pattern table, and tables as text.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import torch
from torch import nn

from ..models import Autoencoder
from ..sparsity import topk_activation
from .datasets import TOY_NAMES, TOY_PATTERNS

__all__ = ["train_toy_models", "activation_table", "one_latent_per_pattern", "format_tables"]


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
