"""Autoencoders for flattened images: a linear encoder, an activation, a linear decoder.

``Autoencoder(784, 1024, activation="relu")`` is the dense baseline; options turn it into the
sparse variants the lessons study (top-K, tied weights, unit-norm decoder, pre-encoder bias).
"""
from __future__ import annotations

import torch
from torch import nn

from . import validate
from .sparsity import project_decoder_grad, renormalize_columns, topk_activation

ACTIVATIONS = ("relu", "sigmoid", "topk", "none")


class DecoderNorm:
    """The unit-norm decoder's two operations, for a module whose ``decoder`` is an ``nn.Linear``
    (one column per latent): the training loops call them around each optimiser step."""

    decoder: nn.Linear

    @torch.no_grad()
    def normalize_decoder_(self) -> None:
        """Rescale each decoder column to unit L2 norm, in place."""
        self.decoder.weight.copy_(renormalize_columns(self.decoder.weight))

    @torch.no_grad()
    def project_decoder_grad_(self) -> None:
        """Remove from the decoder gradient its component along each column, in place."""
        W, G = self.decoder.weight, self.decoder.weight.grad
        if G is not None:
            G.copy_(project_decoder_grad(W, G))


class Autoencoder(DecoderNorm, nn.Module):
    """``x -> z = act(W_enc (x - b_pre) + b_enc) -> x_hat = W_dec z + b_dec``.

    Args:
        n_in: input features (784 for 28x28 images).
        n_latent: code size; larger than ``n_in`` makes the code overcomplete.
        activation: ``"relu"``, ``"sigmoid"`` (codes in (0, 1), for the KL penalty), ``"topk"``
            (keep the k largest pre-activations, then ReLU) or ``"none"`` (linear).
        k: active latents per input, for ``activation="topk"``.
        tied: decoder weight is the encoder weight transposed.
        unit_norm_decoder: decoder columns (one per latent) kept at unit L2 norm; the training
            loop renormalises after each step and removes the gradient along each column.
        pre_bias: subtract the decoder bias from the input before encoding; set it to the data
            mean with :meth:`init_pre_bias`.
        seed: seeds the weight initialisation (``None`` uses the global RNG).

    Shapes: ``encode`` (B, n_in) -> (B, n_latent); ``decode`` (B, n_latent) -> (B, n_in);
    ``forward`` returns ``(x_hat, z)``.
    """

    def __init__(
        self,
        n_in: int = 784,
        n_latent: int = 256,
        activation: str = "relu",
        *,
        k: int | None = None,
        tied: bool = False,
        unit_norm_decoder: bool = False,
        pre_bias: bool = False,
        seed: int | None = 0,
    ) -> None:
        super().__init__()
        n_in, n_latent = validate.count("n_in", n_in), validate.count("n_latent", n_latent)
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        if activation == "topk":
            if k is None:
                raise ValueError(f"activation='topk' needs an integer k in 1..n_latent={n_latent}, got k=None")
            k = validate.count("k", k, low=1, high=n_latent)
        elif k is not None:
            raise ValueError(f"k is only used with activation='topk', not {activation!r}")
        if tied and unit_norm_decoder:
            raise ValueError("tied=True and unit_norm_decoder=True together would also rescale the encoder; pick one")
        self.n_in, self.n_latent, self.activation, self.k = n_in, n_latent, activation, k
        self.tied, self.unit_norm_decoder, self.pre_bias = tied, unit_norm_decoder, pre_bias
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            self.encoder = nn.Linear(n_in, n_latent)
            self.decoder = None if tied else nn.Linear(n_latent, n_in)
        self.decoder_bias = nn.Parameter(torch.zeros(n_in)) if tied else None
        if unit_norm_decoder:
            self.normalize_decoder_()

    # --- weights -------------------------------------------------------------------------
    @property
    def decoder_weight(self) -> torch.Tensor:
        """(n_in, n_latent): column j is the image latent j adds to the reconstruction."""
        return self.encoder.weight.t() if self.tied else self.decoder.weight

    @property
    def b_dec(self) -> torch.Tensor:
        return self.decoder_bias if self.tied else self.decoder.bias

    def features(self) -> torch.Tensor:
        """Decoder features as rows, (n_latent, n_in), detached; handy for plotting."""
        return self.decoder_weight.detach().t()

    @torch.no_grad()
    def init_pre_bias(self, X: torch.Tensor) -> None:
        """Set the decoder bias (the pre-encoder bias too, when enabled) to the mean of X (N, n_in)."""
        X = self._check_input(X)
        if len(X) == 0:
            raise ValueError("init_pre_bias needs at least one sample: X is empty.")
        self.b_dec.copy_(validate.finite("X", X.mean(0)))

    # --- forward -------------------------------------------------------------------------
    def _check_input(self, x: torch.Tensor) -> torch.Tensor:
        """x as (B, n_in) in the weights' dtype (float64, float16, int and bool inputs are converted)."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"expected a torch.Tensor, got {type(x).__name__}")
        if x.dim() != 2 or x.shape[-1] != self.n_in:
            hint = " Flatten images first: x.reshape(len(x), -1)." if x.dim() > 2 else ""
            raise ValueError(
                f"expected input of shape (batch, {self.n_in}), got {tuple(x.shape)}.{hint}"
            )
        if x.is_complex():
            raise TypeError(f"expected real-valued input, got {x.dtype}")
        return x.to(self.encoder.weight.dtype)

    def pre_activation(self, x: torch.Tensor) -> torch.Tensor:
        """Encoder output before the nonlinearity, (B, n_latent)."""
        x = self._check_input(x)
        if self.pre_bias:
            x = x - self.b_dec
        return self.encoder(x)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The code z, (B, n_in) -> (B, n_latent)."""
        h = self.pre_activation(x)
        if self.activation == "relu":
            return torch.relu(h)
        if self.activation == "sigmoid":
            return torch.sigmoid(h)
        if self.activation == "topk":
            return torch.relu(topk_activation(h, self.k))
        return h

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Reconstruction from a code, (B, n_latent) -> (B, n_in)."""
        if z.dim() != 2 or z.shape[-1] != self.n_latent:
            raise ValueError(f"expected a code of shape (batch, {self.n_latent}), got {tuple(z.shape)}")
        if self.tied:
            return z @ self.encoder.weight + self.decoder_bias
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encode(x)
        return self.decode(z), z

    def extra_repr(self) -> str:
        opts = [f"activation={self.activation!r}"] + [f"k={self.k}"] * (self.k is not None)
        opts += [name for name in ("tied", "unit_norm_decoder", "pre_bias") if getattr(self, name)]
        return ", ".join(opts)


class TinyAutoencoder(nn.Module):
    """The smallest autoencoder of the course: ``z = relu(W_enc x + b_enc)``, ``x_hat = W_dec z + b_dec``.

    Shapes: ``encode`` (B, n_in) -> (B, n_latent), the code, never negative; ``decode``
    (B, n_latent) -> (B, n_in); ``forward`` returns ``(x_hat, z)`` in that order.
    """

    def __init__(self, n_in: int, n_latent: int) -> None:
        super().__init__()
        self.encoder = nn.Linear(n_in, n_latent)
        self.decoder = nn.Linear(n_latent, n_in)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.encoder(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encode(x)
        return self.decode(z), z
