"""The three-pattern toy experiment: train many small autoencoders at once and read their codes.

* :func:`train_toy_models` - one :class:`~course_lib.models.Autoencoder` per seed, trained together;
* :func:`activation_table`, :func:`one_latent_per_pattern`, :func:`format_tables` - the code of
  every pattern, whether it is the clean one-latent-per-pattern table, and tables as text.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Mapping, Sequence

import torch
from torch import nn
from torch.func import functional_call, stack_module_state

from ..models import Autoencoder
from ..sparsity import l1_penalty
from ..train import reconstruction_loss
from .datasets import TOY_NAMES, TOY_PATTERNS

__all__ = ["train_toy_models", "activation_table", "one_latent_per_pattern", "format_tables"]


class _StackedUnitNormDecoder:
    """The stacked decoder weights of S models, seen the way one Autoencoder sees its own.

    ``decoder.weight`` is the (S, D, H) stack viewed as (D, S, H), so its dim-0 column norms are
    each model's per-latent norms and :meth:`Autoencoder.project_decoder_grad_` and
    :meth:`Autoencoder.normalize_decoder_` constrain every seed at once, in place.
    """

    def __init__(self, stacked_weight: torch.Tensor) -> None:
        self._stacked = stacked_weight
        self.decoder = SimpleNamespace(weight=stacked_weight.detach().permute(1, 0, 2))

    def project_grad_(self) -> None:
        self.decoder.weight.grad = self._stacked.grad.permute(1, 0, 2)
        Autoencoder.project_decoder_grad_(self)

    def normalize_(self) -> None:
        Autoencoder.normalize_decoder_(self)


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
    the weights of all seeds are stacked and trained together with full-batch Adam, the
    Autoencoder's own forward pass mapped over the seeds with :func:`torch.vmap` (each seed's
    parameters only see their own loss, so this equals training them one by one, only faster).
    Loss per model: squared error summed over inputs, averaged over samples, plus
    ``l1 * sum |z|`` averaged over samples. Returns the trained models, in seed order.
    """
    if activation not in ("relu", "topk"):
        raise ValueError(f"activation must be 'relu' or 'topk', got {activation!r}")
    X = X.float()
    models = [Autoencoder(X.shape[1], n_latent, activation, k=k, unit_norm_decoder=unit_norm_decoder,
                          pre_bias=pre_bias, seed=s) for s in seeds]
    if pre_bias:
        for m in models:
            m.init_pre_bias(X)
    params, buffers = stack_module_state(models)  # {name: (S, *shape)}: fresh leaves that need grad
    template = models[0]  # supplies the code of the forward pass; its own weights are not used

    def loss_of_one(p: dict, b: dict) -> torch.Tensor:
        x_hat, z = functional_call(template, (p, b), (X,))
        return reconstruction_loss(X, x_hat) + l1_penalty(z, l1)

    loss_per_seed = torch.vmap(loss_of_one)
    opt = torch.optim.Adam(params.values(), lr=lr)
    decoder = _StackedUnitNormDecoder(params["decoder.weight"]) if unit_norm_decoder else None
    for _ in range(steps):
        loss = loss_per_seed(params, buffers).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if decoder is not None:
            decoder.project_grad_()
        opt.step()
        if decoder is not None:
            decoder.normalize_()
    with torch.no_grad():
        for i, m in enumerate(models):
            for name, p in m.named_parameters():
                p.copy_(params[name][i])
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
