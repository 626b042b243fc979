"""What every sparse autoencoder of lesson 08 shares: the affine maps, the set-up and the training loop.

An SAE reads activations x (B, d) and writes a code z (B, n) and a reconstruction x_hat (B, d)::

    pre = W_enc (x - b_dec) + b_enc          # (B, n) pre-activations
    z = activation(pre)                      # the family's own sparse activation
    x_hat = W_dec z + b_dec                  # (B, d)

``encoder`` is ``nn.Linear(d, n)`` and ``decoder`` is ``nn.Linear(n, d)``, so ``decoder_weight``
is (d, n) with one direction per column, as everywhere in the course (and what
:func:`course_lib.matching.match_one_to_one` and :class:`course_lib.topk.AuxK` expect). The
decoder bias doubles as the pre-encoder bias and starts at the data mean; the encoder starts as a
scaled copy of the decoder's transpose. Families differ only in ``activation`` (training and
inference may differ) and in the terms of :meth:`SAE.training_loss`.

Training: :func:`train_sae` runs every family through the same whole-tensor loop (batches are
slices of a seeded permutation of data already on the device), so time and data are matched.
"""
from __future__ import annotations

import math
import time

import torch
from torch import nn
from ..pbar import tqdm

from ..metrics import reconstruction_error
from ..models import DecoderNorm
from ..train import TrainingDiverged, epoch_batches, make_optimizer, training_device


class SAE(DecoderNorm, nn.Module):
    """Base class: ``forward(x) -> (x_hat, z)``; subclasses define :meth:`activation` and the loss.

    Args:
        n_in: width d of the activations.
        n_latent: dictionary size n.
        unit_norm_decoder: keep decoder columns at unit norm (the loop renormalises them after
            each step and removes the gradient along each column). Families whose penalty is
            weighted by the decoder norms leave the norms free.
        encoder_scale: the encoder starts as ``encoder_scale * W_dec.T``.
        seed: seeds the initialisation without touching the global random state.
    """

    family = "sae"

    def __init__(self, n_in: int, n_latent: int, *, unit_norm_decoder: bool = True,
                 encoder_scale: float = 1.0, seed: int | None = 0) -> None:
        super().__init__()
        for name, value in (("n_in", n_in), ("n_latent", n_latent)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.n_in, self.n_latent = n_in, n_latent
        self.unit_norm_decoder, self.pre_bias = unit_norm_decoder, True
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            self.encoder = nn.Linear(n_in, n_latent)
            self.decoder = nn.Linear(n_latent, n_in)
        self.normalize_decoder_()
        with torch.no_grad():
            self.decoder.bias.zero_()
            self.encoder.weight.copy_(encoder_scale * self.decoder.weight.t())
            self.encoder.bias.zero_()

    # --- weights -------------------------------------------------------------------------
    @property
    def decoder_weight(self) -> torch.Tensor:
        """(d, n): column j is the direction latent j writes."""
        return self.decoder.weight

    @property
    def b_dec(self) -> torch.Tensor:
        """(d,) decoder bias, also subtracted from the input before encoding."""
        return self.decoder.bias

    @torch.no_grad()
    def init_pre_bias(self, X: torch.Tensor) -> "SAE":
        """Set the decoder bias to the mean of X (N, d); returns the model."""
        self._check_input(X)
        self.b_dec.copy_(X.mean(0))
        return self

    # --- forward -------------------------------------------------------------------------
    def _check_input(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"expected a torch.Tensor, got {type(x).__name__}")
        if x.dim() != 2 or x.shape[-1] != self.n_in:
            raise ValueError(f"expected activations of shape (batch, {self.n_in}), got {tuple(x.shape)}")

    def pre_activation(self, x: torch.Tensor) -> torch.Tensor:
        """``W_enc (x - b_dec) + b_enc``: (B, d) -> (B, n)."""
        self._check_input(x)
        return self.encoder(x - self.b_dec)

    def activation(self, pre: torch.Tensor) -> torch.Tensor:
        """The family's sparse activation, (B, n) -> (B, n); training mode may differ from eval."""
        raise NotImplementedError

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The code z: (B, d) -> (B, n)."""
        return self.activation(self.pre_activation(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Reconstruction from a code: (B, n) -> (B, d)."""
        if z.dim() != 2 or z.shape[-1] != self.n_latent:
            raise ValueError(f"expected a code of shape (batch, {self.n_latent}), got {tuple(z.shape)}")
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encode(x)
        return self.decode(z), z

    # --- training ------------------------------------------------------------------------
    def training_loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The loss of one batch and its parts: ``{"loss", "recon", ...}`` (0-d tensors)."""
        x_hat, _ = self(x)
        recon = reconstruction_error(x, x_hat)
        return {"loss": recon, "recon": recon}

    def after_step(self, x: torch.Tensor) -> None:
        """Called after each optimiser step (e.g. to count steps for a warm-up)."""

    def after_training(self, X: torch.Tensor, batch_size: int) -> None:
        """Called once when training ends, with the training data (e.g. to set an inference threshold)."""

    def extra_repr(self) -> str:
        return f"{self.n_in} -> {self.n_latent}, family={self.family!r}"


def train_sae(sae: SAE, X: torch.Tensor, *, epochs: int, batch_size: int = 512, lr: float = 1e-3,
              seed: int = 0, progress: bool = True, desc: str | None = None) -> dict[str, list[float]]:
    """Train any :class:`SAE` on activations X (N, d) with Adam; the same loop for every family.

    Each step minimises ``sae.training_loss(x)["loss"]``; a unit-norm decoder gets its gradient
    projected and its columns renormalised around the step; then ``sae.after_step(x)`` runs.
    After the last epoch ``sae.after_training(X, batch_size)`` runs once (BatchTopK sets its
    inference threshold there). The model is left in eval mode (inference behaviour). Returns the
    per-epoch history: the mean of each loss part, plus ``"seconds"``.
    """
    if not isinstance(X, torch.Tensor) or X.dim() != 2:
        raise ValueError(f"X must be a tensor of shape (N, features), got {getattr(X, 'shape', type(X))}")
    device = training_device(sae, X, epochs, batch_size)
    opt = make_optimizer(sae.parameters(), lr)
    gen = torch.Generator().manual_seed(seed)
    history: dict[str, list[float]] = {"seconds": []}
    sae.train()
    bar = tqdm(range(epochs), desc=desc or f"training {sae.family}", unit="epoch",
               disable=not progress, leave=False)
    for epoch in bar:
        start = time.perf_counter()
        sums: dict[str, torch.Tensor] = {}
        for idx in epoch_batches(len(X), batch_size, gen, device):
            x = X[idx]
            parts = sae.training_loss(x)
            opt.zero_grad(set_to_none=True)
            parts["loss"].backward()
            if sae.unit_norm_decoder:
                sae.project_decoder_grad_()
            opt.step()
            if sae.unit_norm_decoder:
                sae.normalize_decoder_()
            sae.after_step(x)
            for key, value in parts.items():
                sums[key] = sums.get(key, 0.0) + value.detach() * len(idx)
        means = {key: (value / len(X)).item() for key, value in sums.items()}
        if not math.isfinite(means["loss"]):
            sae.eval()
            raise TrainingDiverged(f"The loss became NaN/inf in epoch {epoch + 1}; try a learning rate "
                                   f"3-10x lower than lr={lr:g} or a smaller sparsity coefficient.")
        for key, value in means.items():
            history.setdefault(key, []).append(value)
        history["seconds"].append(time.perf_counter() - start)
        bar.set_postfix(loss=f"{means['loss']:.3f}")
    sae.after_training(X, batch_size)
    sae.eval()
    return history
