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

:class:`TopKSAE` is the same model written out as a small module of its own (the class the
learners of lesson 05 write), trained by :func:`train_topk_sae`, one :func:`topk_sae_step` at a
time; :func:`topk_goal` trains one with given settings and measures it on held-out images.

Typical use::

    model = make_topk_sae(784, 1024, k=32, X=X_train)
    history = train_topk(model, X_train, epochs=8)          # AuxK on by default
    metrics.evaluate(model, X_test)["dead_fraction"]         # measure dead latents on held-out data
"""
from __future__ import annotations

import torch
from torch import nn
from .pbar import tqdm

from .data import load_fashion_mnist
from .metrics import fraction_variance_unexplained, reconstruction_error
from .models import Autoencoder
from .sparsity import renormalize_columns, topk_activation
from .train import epoch_batches, make_optimizer, train, training_device

__all__ = [
    "AuxK",
    "TOPK_GOAL",
    "TopKSAE",
    "auxk_loss",
    "dead_latents",
    "encode_with_k",
    "make_topk_sae",
    "topk_goal",
    "topk_sae_step",
    "train_topk",
    "train_topk_sae",
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
        if isinstance(model, Autoencoder):
            x_in, W_dec = (x - model.b_dec if model.pre_bias else x), model.decoder_weight
        elif hasattr(model, "b_pre"):  # a TopKSAE: encoder, decoder (no bias) and pre-encoder bias b_pre
            x_in, W_dec = x - model.b_pre, model.decoder.weight
        else:  # a course_lib.saes model: the decoder bias b_dec is subtracted before encoding
            x_in, W_dec = x - model.b_dec, model.decoder_weight
        pre = nn.functional.linear(x_in, model.encoder.weight[idx], model.encoder.bias[idx])
        residual = (x - x_hat).detach()
        every = torch.ones(len(idx), dtype=torch.bool, device=dead.device)
        ratio = self.loss_fn(residual, pre, every, W_dec[:, idx], self.k_aux)
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


class TopKSAE(nn.Module):
    """The top-K sparse autoencoder of Gao et al. (2024), written out as one small module.

    ``z = relu(topk(W_enc (x - b_pre) + b_enc, k))`` and ``x_hat = W_dec z + b_pre``: the
    pre-encoder bias ``b_pre`` is subtracted before encoding and added back after decoding; the
    top-K selection runs on the pre-activations of each sample and the ReLU comes after it. At
    initialisation the decoder's columns have unit norm and the encoder's weight is the decoder's
    transpose (encoder bias 0, ``b_pre`` 0: set it to the data mean before training).

    Attributes: ``encoder`` ``nn.Linear(n_in, n_latent)``, ``decoder``
    ``nn.Linear(n_latent, n_in, bias=False)``, ``b_pre`` (n_in,), ``k``.
    Shapes: ``encode`` (B, n_in) -> (B, n_latent); ``decode`` (B, n_latent) -> (B, n_in);
    ``forward`` returns ``(x_hat, z)``.
    """

    def __init__(self, n_in: int, n_latent: int, k: int) -> None:
        super().__init__()
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n_latent:
            raise ValueError(f"k must be an integer in 1..n_latent={n_latent}, got {k!r}")
        self.k = k
        self.b_pre = nn.Parameter(torch.zeros(n_in))
        self.encoder = nn.Linear(n_in, n_latent)
        self.decoder = nn.Linear(n_latent, n_in, bias=False)
        self.normalize_decoder_()
        with torch.no_grad():
            self.encoder.weight.copy_(self.decoder.weight.t())
            self.encoder.bias.zero_()

    @torch.no_grad()
    def normalize_decoder_(self) -> None:
        """Rescale each decoder column (one per latent) to unit L2 norm, in place."""
        self.decoder.weight.copy_(renormalize_columns(self.decoder.weight))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(topk_activation(self.encoder(x - self.b_pre), self.k))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z) + self.b_pre

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encode(x)
        return self.decode(z), z


def topk_sae_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor,
                  auxk: AuxK | None = None) -> float:
    """One training step of a :class:`TopKSAE` (or a class with the same attributes).

    Loss: reconstruction error plus ``auxk(x, x_hat, z, model)`` when given. Between backward and
    step the decoder gradient loses its component along each (unit) column; after the step
    ``model.normalize_decoder_()`` puts the columns back on the unit sphere. Returns the loss.
    """
    x_hat, z = model(x)
    loss = reconstruction_error(x, x_hat)
    if auxk is not None:
        loss = loss + auxk(x, x_hat, z, model)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    W = model.decoder.weight
    if W.grad is not None:
        with torch.no_grad():
            W.grad.sub_(W * (W * W.grad).sum(0, keepdim=True))
    optimizer.step()
    model.normalize_decoder_()
    return loss.item()


def train_topk_sae(model: nn.Module, X: torch.Tensor, *, epochs: int, auxk: AuxK | bool = True,
                   batch_size: int = 256, lr: float = 1e-3, seed: int = 0,
                   progress: bool = True) -> dict[str, list]:
    """Train a :class:`TopKSAE` on X (N, n_in) with Adam, ``b_pre`` first set to the mean of X.

    ``auxk`` as in :func:`train_topk`. Returns ``{"loss": per-epoch mean loss, "dead": dead
    latents by the tracker after each step, "auxk": the tracker}``.
    """
    device = training_device(model, X, epochs, batch_size)
    if not isinstance(auxk, AuxK):
        auxk = AuxK(model.encoder.out_features, coef=0.25 if auxk else 0.0)
    with torch.no_grad():
        model.b_pre.copy_(X.mean(0))
    opt = make_optimizer(model.parameters(), lr)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    for _ in tqdm(range(epochs), desc="training", unit="epoch", disable=not progress, leave=False):
        total = 0.0
        for idx in epoch_batches(len(X), batch_size, gen, device):
            total += topk_sae_step(model, opt, X[idx], auxk) * len(idx)
        losses.append(total / len(X))
    return {"loss": losses, "dead": list(auxk.dead_history), "auxk": auxk}


TOPK_GOAL = {"fvu": 0.24, "dead_fraction": 0.05, "max_k": 32}  # lesson 05's goal exercise


def topk_goal(k: int, lr: float, auxk: bool = True, *, model_class: type = None, n_train: int = 3000,
              n_test: int = 1000, n_latent: int = 256, epochs: int = 3, seed: int = 0) -> dict[str, float]:
    """Train ``model_class(784, n_latent, k)`` (default :class:`TopKSAE`) on the first ``n_train``
    Fashion-MNIST training images, on the CPU, and measure it on the first ``n_test`` test images.

    Seeded and deterministic on a given machine. Returns ``{"fvu", "dead_fraction", "l0"}`` on
    the held-out images: a latent is dead when it is zero on every one of them.
    """
    X_train, _ = load_fashion_mnist("train", device="cpu")
    X_test, _ = load_fashion_mnist("test", device="cpu")
    X_train, X_test = X_train[:n_train], X_test[:n_test]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = (model_class or TopKSAE)(X_train.shape[1], n_latent, k)
    train_topk_sae(model, X_train, epochs=epochs, auxk=AuxK(n_latent, coef=0.25 if auxk else 0.0),
                   lr=lr, seed=seed, progress=False)
    with torch.no_grad():
        x_hat, z = model(X_test)
    return {"fvu": fraction_variance_unexplained(X_test, x_hat),
            "dead_fraction": (z == 0).all(0).float().mean().item(), "l0": (z != 0).sum(1).float().mean().item()}
