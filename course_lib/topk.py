"""The K-sparse (top-K) autoencoder recipe: initialisation, dead-latent tracking and the AuxK loss.

A top-K autoencoder keeps the k largest pre-activations of each code and zeros the rest, so the
sparsity level is set directly instead of through a penalty weight. Trained naively, many latents
stop firing for good ("dead latents"): a latent that is never in anyone's top k gets no gradient.
The recipe used here (after Makhzani & Frey 2013 and Gao et al. 2024, "Scaling and evaluating
sparse autoencoders"):

* decoder columns of unit norm (``unit_norm_decoder=True``; the training loop renormalises them
  and removes the gradient component along each column);
* the encoder initialised as a scaled copy of the decoder's transpose;
* a pre-encoder bias set to the data mean (``pre_bias=True`` + ``init_pre_bias``);
* the auxiliary loss :class:`AuxK`: the top ``k_aux`` *dead* latents are asked to reconstruct the
  residual ``x - x_hat`` that the live ones leave behind, which gives dead latents a gradient that
  pulls them back towards the data.

Typical use::

    model = make_topk_sae(784, 1024, k=32, X=X_train)
    history = train_topk(model, X_train, epochs=8)          # AuxK on by default
    metrics.evaluate(model, X_test)["dead_fraction"]         # measure dead latents on held-out data
"""
from __future__ import annotations

import torch
from torch import nn

from .metrics import reconstruction_error
from .models import Autoencoder
from .sparsity import topk_activation
from .train import train

__all__ = [
    "AuxK",
    "auxk_loss",
    "dead_latents",
    "encode_with_k",
    "make_topk_sae",
    "train_topk",
]


def dead_latents(last_fired: torch.Tensor, step: int, window: int) -> torch.Tensor:
    """Which latents have not fired during the last ``window`` training samples.

    Args:
        last_fired: (H,) the number of training samples seen when each latent last fired
            (0 for a latent that has not fired since training started).
        step: the number of training samples seen so far.
        window: how many samples of silence make a latent count as dead.

    Returns:
        (H,) bool mask, True where ``step - last_fired >= window``.
    """
    if window < 1:
        raise ValueError(f"window must be a positive number of samples, got {window!r}")
    return (step - last_fired) >= window


def auxk_loss(residual: torch.Tensor, pre_act: torch.Tensor, dead: torch.Tensor,
              decoder_weight: torch.Tensor, k_aux: int) -> torch.Tensor:
    """Normalised error of reconstructing the residual from the top-``k_aux`` dead latents.

    Among the latents marked ``dead``, each sample keeps its ``k_aux`` largest pre-activations
    (all dead latents when fewer are dead), applies ReLU and decodes them with the decoder weight
    (no bias): ``e_hat = z_aux @ decoder_weight.T``. The result is
    ``sum((residual - e_hat)**2) / sum(residual**2)`` over the whole batch (1 when the dead
    latents explain nothing, 0 when they explain the residual exactly), and exactly 0 when no
    latent is dead.

    Shapes: residual (B, D) (detach it: the live latents must not be pulled by this loss),
    pre_act (B, H), dead (H,) bool, decoder_weight (D, H). Returns a 0-d tensor.
    """
    if dead.dtype != torch.bool or dead.shape != pre_act.shape[-1:]:
        raise ValueError(f"dead must be a bool mask of shape ({pre_act.shape[-1]},), got "
                         f"{dead.dtype} {tuple(dead.shape)}")
    if isinstance(k_aux, bool) or not isinstance(k_aux, int) or k_aux < 1:
        raise ValueError(f"k_aux must be a positive integer, got {k_aux!r}")
    n_dead = int(dead.sum())
    if n_dead == 0:
        return residual.new_zeros(())
    masked = pre_act.masked_fill(~dead, float("-inf"))
    values, indices = masked.topk(min(k_aux, n_dead), dim=-1)
    z_aux = torch.zeros_like(pre_act).scatter(-1, indices, torch.relu(values))
    e_hat = z_aux @ decoder_weight.t()
    return (residual - e_hat).pow(2).sum() / residual.pow(2).sum().clamp_min(1e-12)


class AuxK:
    """Dead-latent tracker plus auxiliary loss, usable as ``train(..., extra_loss=AuxK(...))``.

    Each call (one training step) marks the latents that fired in the batch, finds the dead ones
    with :func:`dead_latents` and returns ``coef * recon * auxk_loss(...)``, where ``recon`` is the
    batch's (detached) reconstruction loss: the auxiliary term is measured in the same units as
    the main loss. With ``coef=0`` it only tracks (useful as a control run). ``dead_fn`` and
    ``loss_fn`` replace :func:`dead_latents` and :func:`auxk_loss` (same signatures), for example
    by your own versions.

    Attributes:
        last_fired: (H,) samples seen when each latent last fired.
        seen: training samples seen so far.
        dead_history: number of dead latents after each step.
    """

    def __init__(self, n_latent: int, *, k_aux: int = 512, coef: float = 0.25, window: int = 2000,
                 dead_fn=dead_latents, loss_fn=auxk_loss):
        if coef < 0:
            raise ValueError(f"coef must be >= 0, got {coef!r}")
        self.k_aux, self.coef, self.window = k_aux, float(coef), int(window)
        dead_latents(torch.zeros(1), 0, self.window)  # validates window
        self.dead_fn, self.loss_fn = dead_fn, loss_fn
        self.last_fired = torch.zeros(n_latent, dtype=torch.long)
        self.seen = 0
        self.dead_history: list[int] = []

    def dead(self) -> torch.Tensor:
        """(H,) bool mask of the latents that are dead right now."""
        return self.dead_fn(self.last_fired, self.seen, self.window)

    def __call__(self, x: torch.Tensor, x_hat: torch.Tensor, z: torch.Tensor,
                 model: nn.Module) -> torch.Tensor:
        if self.last_fired.device != z.device:
            self.last_fired = self.last_fired.to(z.device)
        self.seen += len(x)
        self.last_fired.masked_fill_((z != 0).any(0), self.seen)
        dead = self.dead()
        n_dead = int(dead.sum())
        self.dead_history.append(n_dead)
        if n_dead == 0 or self.coef == 0:
            return x.new_zeros(())
        # Only the dead latents take part, so compute their pre-activations and decoder columns
        # alone: the cost of this term then shrinks as latents come back to life.
        idx = dead.nonzero().squeeze(1)
        x_in = x - model.b_dec if model.pre_bias else x
        pre = nn.functional.linear(x_in, model.encoder.weight[idx], model.encoder.bias[idx])
        residual = (x - x_hat).detach()
        every = torch.ones(len(idx), dtype=torch.bool, device=dead.device)
        ratio = self.loss_fn(residual, pre, every, model.decoder_weight[:, idx], self.k_aux)
        return self.coef * reconstruction_error(x_hat.detach(), x.detach()) * ratio


def make_topk_sae(n_in: int = 784, n_latent: int = 1024, k: int = 32, *, X: torch.Tensor | None = None,
                  encoder_scale: float = 0.1, seed: int | None = 0) -> Autoencoder:
    """A top-K autoencoder initialised with the recipe: unit-norm decoder, encoder = scaled
    decoder transpose (zero encoder bias), pre-encoder bias at the mean of ``X`` when given.

    The model is created on ``X``'s device (CPU without ``X``).
    """
    model = Autoencoder(n_in, n_latent, "topk", k=k, unit_norm_decoder=True, pre_bias=True, seed=seed)
    with torch.no_grad():
        model.encoder.weight.copy_(encoder_scale * model.decoder.weight.t())
        model.encoder.bias.zero_()
    if X is not None:
        model.to(X.device)
        model.init_pre_bias(X)
    return model


def train_topk(model: Autoencoder, X: torch.Tensor, *, epochs: int, auxk: AuxK | bool = True,
               batch_size: int = 256, lr: float = 1e-3, seed: int = 0,
               progress: bool = True) -> dict[str, list]:
    """Train a top-K autoencoder with the AuxK loss.

    ``auxk=True`` uses ``AuxK(model.n_latent)`` with its default settings (k_aux 512, coef 0.25,
    window 2000 samples), ``False`` tracks dead latents without the auxiliary loss, and an
    :class:`AuxK` instance is used as given. Returns :func:`course_lib.train.train`'s history plus
    ``"dead"`` (dead latents by the training-time tracker, per step) and ``"auxk"`` (the tracker).
    """
    if not isinstance(auxk, AuxK):
        auxk = AuxK(model.n_latent, coef=0.25 if auxk else 0.0)
    history = train(model, X, epochs=epochs, batch_size=batch_size, lr=lr, extra_loss=auxk,
                    seed=seed, progress=progress)
    history["dead"] = list(auxk.dead_history)
    history["auxk"] = auxk
    return history


@torch.no_grad()
def encode_with_k(model: Autoencoder, X: torch.Tensor, k: int, batch_size: int = 4096) -> torch.Tensor:
    """Codes of X with ``k`` active latents instead of the model's own ``model.k``.

    Makhzani & Frey train with k and encode with ``alpha * k`` (alpha around 2-4) when the codes
    feed a classifier. (N, n_in) -> (N, n_latent).
    """
    return torch.cat([torch.relu(topk_activation(model.pre_activation(X[i : i + batch_size]), k))
                      for i in range(0, len(X), batch_size)])
