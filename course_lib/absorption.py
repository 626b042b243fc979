"""Feature absorption: a latent that reads a parent concept, and the children it stays silent on.

Fashion-MNIST has a two-level hierarchy: *footwear* = {sandal, sneaker, ankle boot} and *tops* =
{T-shirt, pullover, coat, shirt}. A sparse autoencoder often has a latent that fires on most
images of a parent concept. Absorption (Chanin et al. 2024, "A is for Absorption") is what
happens on the rest: on some images of a child class the parent latent is silent, and a more
specific latent (say, one for sneakers) fires instead and carries the parent's direction in its
decoder column. A sparse code saves one active latent that way, and the parent latent stops
being a faithful detector of its concept.

The measure, in three steps::

    is_parent = parent_mask(y, "footwear")                     # (N,) bool
    direction = parent_direction(X, is_parent)                 # (d,) unit vector: the concept
    result = absorption(Z, is_parent, model.decoder_weight, direction)
    result.rate                                                # absorbed parent images / parent images

``Z`` (N, H) are the SAE's codes of X, ``decoder`` (d, H) its decoder weight, one column per
latent, living in the same d-dimensional space as X and ``direction``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["HIERARCHY", "Absorption", "absorption", "absorption_rate", "find_parent_latent",
           "parent_direction", "parent_mask"]

HIERARCHY: dict[str, tuple[int, ...]] = {"footwear": (5, 7, 9), "tops": (0, 2, 4, 6)}
"""Fashion-MNIST's parent concepts and their child classes (labels: 5 sandal, 7 sneaker, 9 ankle
boot; 0 T-shirt/top, 2 pullover, 4 coat, 6 shirt)."""


def parent_mask(y: torch.Tensor, parent: str) -> torch.Tensor:
    """(N,) bool: which labels ``y`` (N,) belong to ``parent`` (a key of :data:`HIERARCHY`)."""
    if parent not in HIERARCHY:
        raise KeyError(f"unknown parent concept {parent!r}; choose one of {sorted(HIERARCHY)}")
    if not isinstance(y, torch.Tensor) or y.dim() != 1:
        raise ValueError(f"y must be a 1-d tensor of class labels, got {getattr(y, 'shape', type(y))}")
    return torch.isin(y, torch.tensor(HIERARCHY[parent], device=y.device))


def _mask(is_parent: torch.Tensor, n: int) -> torch.Tensor:
    if not isinstance(is_parent, torch.Tensor) or is_parent.dtype != torch.bool or is_parent.shape != (n,):
        raise ValueError(f"is_parent must be a bool tensor of shape ({n},), got "
                         f"{getattr(is_parent, 'dtype', type(is_parent))} {tuple(getattr(is_parent, 'shape', ()))}")
    if not is_parent.any() or is_parent.all():
        raise ValueError("is_parent must mark some samples as parent and some as not.")
    return is_parent


def parent_direction(X: torch.Tensor, is_parent: torch.Tensor) -> torch.Tensor:
    """The concept's direction: mean of the parent samples minus mean of the others, unit norm.

    X: (N, d) samples (pixels, or a layer's activations); is_parent: (N,) bool. Returns (d,).
    """
    if not isinstance(X, torch.Tensor) or X.dim() != 2:
        raise ValueError(f"X must be a tensor of shape (N, d), got {getattr(X, 'shape', type(X))}")
    m = _mask(is_parent, len(X)).to(X.device)
    v = X[m].float().mean(0) - X[~m].float().mean(0)
    if v.norm() == 0:
        raise ValueError("the parent and other samples have the same mean: there is no direction.")
    return v / v.norm()


def _codes(Z: torch.Tensor) -> torch.Tensor:
    if not isinstance(Z, torch.Tensor) or Z.dim() != 2:
        raise ValueError(f"Z must be a tensor of codes of shape (N, n_latent), got {getattr(Z, 'shape', type(Z))}")
    if not torch.isfinite(Z).all():
        raise ValueError("Z contains NaN or infinite values.")
    return Z


def find_parent_latent(Z: torch.Tensor, is_parent: torch.Tensor) -> int:
    """The latent whose firing (``Z > 0``) best detects the parent concept, by F1 score.

    Z: (N, H) codes; is_parent: (N,) bool. F1 = 2 TP / (2 TP + FP + FN), which rewards a latent
    that fires on many parent samples and few others; ties go to the lower index.
    """
    fires = _codes(Z) > 0
    m = _mask(is_parent, len(Z)).to(Z.device)
    tp = (fires & m[:, None]).sum(0).double()
    fp = (fires & ~m[:, None]).sum(0).double()
    fn = (~fires & m[:, None]).sum(0).double()
    f1 = 2 * tp / (2 * tp + fp + fn)
    return int(f1.argmax())


@dataclass(frozen=True)
class Absorption:
    """What :func:`absorption` measured for one parent concept.

    Attributes:
        parent_latent: the latent that reads the parent concept.
        n_parent: parent samples.
        n_missed: parent samples on which the parent latent is silent (``Z == 0``).
        n_absorbed: missed samples on which another latent carries the parent direction.
        rate: ``n_absorbed / n_parent``, the absorption rate.
        absorbed: (N,) bool, which samples were absorbed.
        absorber: (N,) long, the absorbing latent of each absorbed sample, -1 elsewhere.
    """

    parent_latent: int
    n_parent: int
    n_missed: int
    n_absorbed: int
    rate: float
    absorbed: torch.Tensor
    absorber: torch.Tensor

    @property
    def miss_rate(self) -> float:
        """``n_missed / n_parent``: how often the parent latent is silent on its own concept."""
        return self.n_missed / self.n_parent

    def top_absorbers(self, n: int = 5) -> list[tuple[int, int]]:
        """The ``n`` latents that absorb most often, as ``(latent, count)`` pairs, most first."""
        hits = self.absorber[self.absorber >= 0]
        if len(hits) == 0:
            return []
        latents, counts = hits.unique(return_counts=True)
        order = counts.argsort(descending=True, stable=True)[:n]
        return [(int(latents[i]), int(counts[i])) for i in order]


def absorption(Z: torch.Tensor, is_parent: torch.Tensor, decoder: torch.Tensor, direction: torch.Tensor,
               *, parent_latent: int | None = None, cos_threshold: float = 0.3) -> Absorption:
    """Measure absorption of a parent concept by other latents.

    Args:
        Z: (N, H) the SAE's codes (non-negative).
        is_parent: (N,) bool, which samples belong to the parent concept.
        decoder: (d, H) the decoder weight, one column per latent (``model.decoder_weight``).
        direction: (d,) the parent concept's direction (:func:`parent_direction`); any scale.
        parent_latent: the latent that reads the parent; by default :func:`find_parent_latent`.
        cos_threshold: how closely a latent's decoder column must align with ``direction``
            (cosine) to count as carrying it.

    On each parent sample where ``Z[i, parent_latent] == 0`` (a miss), every other active latent j
    contributes ``Z[i, j] * (decoder[:, j] . direction)`` along the concept's direction; the
    sample is *absorbed* when the largest contributor is positive and its decoder column has
    cosine ``>= cos_threshold`` with the direction. The rate is absorbed / parent samples.
    """
    Z = _codes(Z)
    N, H = Z.shape
    m = _mask(is_parent, N).to(Z.device)
    if not isinstance(decoder, torch.Tensor) or decoder.dim() != 2 or decoder.shape[1] != H:
        raise ValueError(f"decoder must be the decoder weight of shape (d, {H}), one column per latent, "
                         f"got {tuple(getattr(decoder, 'shape', ()))}; pass model.decoder_weight.")
    if not isinstance(direction, torch.Tensor) or direction.shape != (decoder.shape[0],):
        raise ValueError(f"direction must be a vector of shape ({decoder.shape[0]},), the decoder's space, "
                         f"got {tuple(getattr(direction, 'shape', ()))}")
    if direction.norm() == 0:
        raise ValueError("direction is the zero vector.")
    if not -1.0 <= cos_threshold <= 1.0:
        raise ValueError(f"cos_threshold is a cosine, in [-1, 1]; got {cos_threshold!r}")
    if parent_latent is None:
        parent_latent = find_parent_latent(Z, m)
    if isinstance(parent_latent, bool) or not isinstance(parent_latent, int) or not 0 <= parent_latent < H:
        raise ValueError(f"parent_latent must be a latent index in 0..{H - 1}, got {parent_latent!r}")
    W = decoder.detach().to(device=Z.device, dtype=torch.float64)
    p = direction.detach().to(device=Z.device, dtype=torch.float64)
    p = p / p.norm()
    along = p @ W                                          # (H,) decoder . direction
    cos = along / W.norm(dim=0).clamp_min(1e-12)           # (H,) cosine with the direction
    missed = m & (Z[:, parent_latent] == 0)
    contrib = Z.detach().double() * along                  # (N, H)
    contrib[:, parent_latent] = float("-inf")
    best, who = contrib.max(1)
    absorbed = missed & (best > 0) & (cos[who] >= cos_threshold)
    absorber = torch.where(absorbed, who, torch.full_like(who, -1))
    n_parent = int(m.sum())
    n_absorbed = int(absorbed.sum())
    return Absorption(parent_latent, n_parent, int(missed.sum()), n_absorbed, n_absorbed / n_parent,
                      absorbed.cpu(), absorber.cpu())


def absorption_rate(Z: torch.Tensor, is_parent: torch.Tensor, decoder: torch.Tensor, direction: torch.Tensor,
                    parent_latent: int, cos_threshold: float = 0.3) -> float:
    """Fraction of parent samples absorbed by another latent: ``absorption(...).rate`` as a float."""
    return absorption(Z, is_parent, decoder, direction, parent_latent=parent_latent,
                      cos_threshold=cos_threshold).rate
