"""Natural-image patches and measurements of receptive-field-like filters.

Olshausen & Field (1996) showed that asking for a *sparse* code of natural-image patches is
enough to learn filters that look like the receptive fields of simple cells in the primary
visual cortex: localised, oriented and band-pass. This module provides the pieces to repeat that
experiment on photographs bundled with scikit-image (no download):

* :func:`load_images` and :func:`whiten` (the Olshausen-Field whitening filter
  ``R(f) = f * exp(-(f / f0)**4)``, which flattens the ~1/f amplitude spectrum of natural images
  and removes the highest, noisiest frequencies);
* :func:`sample_patches` to cut random square patches;
* :func:`pca_filters`, the dense baseline (principal components are global gratings);
* measurements of filters given as (N, h, w): :func:`energy_in_best_window` (spatial
  localisation), :func:`orientation_selectivity` and :func:`peak_frequency` (from the Fourier
  power), and :func:`gabor_like` which combines them.
"""
from __future__ import annotations

import numpy as np
import torch

__all__ = [
    "BUNDLED_IMAGES",
    "load_images",
    "whiten",
    "sample_patches",
    "pca_filters",
    "energy_in_best_window",
    "orientation_selectivity",
    "peak_frequency",
    "gabor_like",
]

# Photographs that scikit-image ships inside the package (nothing is downloaded).
BUNDLED_IMAGES = ("camera", "astronaut", "coffee", "chelsea", "coins", "grass", "gravel", "brick", "rocket")


def load_images(names: tuple[str, ...] | list[str] = BUNDLED_IMAGES) -> list[np.ndarray]:
    """Grayscale float64 images in [0, 1] from ``skimage.data``, one array (H, W) per name."""
    import skimage.data
    from skimage.color import rgb2gray

    images = []
    for name in names:
        loader = getattr(skimage.data, name, None)
        if loader is None:
            raise ValueError(f"skimage.data has no image called {name!r}; try one of {BUNDLED_IMAGES}")
        img = np.asarray(loader())
        if img.ndim == 3:
            img = rgb2gray(img[..., :3])
        img = img.astype(np.float64)
        if img.max() > 1.0:
            img = img / 255.0
        images.append(img)
    return images


def whiten(image: np.ndarray, f0: float = 0.4) -> np.ndarray:
    """Olshausen-Field whitening of one image (H, W): multiply its spectrum by
    ``R(f) = f * exp(-(f / f0)**4)`` (f in cycles per pixel, f0 the roll-off), then scale the
    result to zero mean and unit variance.

    The ramp ``f`` undoes the ~1/f fall-off of natural images' amplitude spectrum (so all scales
    carry similar power) and the exponential removes the highest frequencies, where noise and
    pixel aliasing live.
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"whiten expects one grayscale image (H, W), got shape {image.shape}")
    if not f0 > 0:
        raise ValueError(f"f0 must be positive, got {f0!r}")
    fy = np.fft.fftfreq(image.shape[0])[:, None]
    fx = np.fft.fftfreq(image.shape[1])[None, :]
    f = np.sqrt(fx**2 + fy**2)
    out = np.real(np.fft.ifft2(np.fft.fft2(image - image.mean()) * f * np.exp(-((f / f0) ** 4))))
    return (out - out.mean()) / (out.std() + 1e-12)


def sample_patches(images: list[np.ndarray], size: int = 12, n: int = 50_000, seed: int = 0,
                   border: int = 4) -> torch.Tensor:
    """``n`` random ``size`` x ``size`` patches, flattened: (n, size * size) float32.

    Patches are drawn from every image in turn (equal numbers per image), avoiding ``border``
    pixels at the edges (where the Fourier filtering wraps around). Each patch has its mean
    removed; the whole set is scaled to unit variance per pixel.
    """
    rng = np.random.default_rng(seed)
    per_image = np.array_split(np.arange(n), len(images))
    out = np.empty((n, size * size), dtype=np.float64)
    for img, rows in zip(images, per_image):
        h, w = img.shape
        if h < size + 2 * border or w < size + 2 * border:
            raise ValueError(f"an image of shape {img.shape} is too small for {size}x{size} patches")
        ys = rng.integers(border, h - size - border + 1, len(rows))
        xs = rng.integers(border, w - size - border + 1, len(rows))
        for row, y, x in zip(rows, ys, xs):
            out[row] = img[y : y + size, x : x + size].ravel()
    out -= out.mean(1, keepdims=True)
    out /= out.std() + 1e-12
    return torch.from_numpy(out).float()


def pca_filters(X: torch.Tensor, n: int) -> torch.Tensor:
    """The first ``n`` principal directions of the rows of X (N, D), as rows (n, D), unit norm,
    ordered by decreasing variance."""
    if not 1 <= n <= X.shape[1]:
        raise ValueError(f"n must be in 1..{X.shape[1]}, got {n}")
    Xc = X.double() - X.double().mean(0)
    cov = Xc.t() @ Xc / max(len(X) - 1, 1)
    _, vecs = torch.linalg.eigh(cov)
    return vecs.flip(-1)[:, :n].t().to(X.dtype).contiguous()


def _as_filters(filters: torch.Tensor) -> torch.Tensor:
    if not isinstance(filters, torch.Tensor) or filters.dim() != 3:
        shape = tuple(filters.shape) if isinstance(filters, torch.Tensor) else type(filters).__name__
        raise ValueError(f"filters must be a tensor of shape (N, h, w), got {shape}; reshape flat "
                         "filters with .reshape(-1, h, w)")
    return filters


def energy_in_best_window(filters: torch.Tensor, size: int) -> torch.Tensor:
    """Spatial localisation: the largest fraction of each filter's energy (sum of squared
    weights) that fits inside one ``size`` x ``size`` window. (N, h, w) -> (N,).

    1 means all the energy sits within one window; a filter spread evenly over an h x w grid
    scores about ``size**2 / (h * w)``. An all-zero filter scores 0.
    """
    filters = _as_filters(filters)
    h, w = filters.shape[-2:]
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= min(h, w):
        raise ValueError(f"size must be an integer in 1..{min(h, w)}, got {size!r}")
    energy = filters.pow(2)
    windows = energy.unfold(-2, size, 1).unfold(-2, size, 1).sum((-1, -2))  # (N, h-s+1, w-s+1)
    return windows.amax((-1, -2)) / energy.sum((-1, -2)).clamp_min(1e-12)


def _power(filters: torch.Tensor, pad: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fourier power of zero-padded filters (N, pad, pad) with frequency radius and angle grids."""
    f = filters.double() - filters.double().mean((-1, -2), keepdim=True)
    power = torch.fft.fft2(f, s=(pad, pad)).abs().pow(2)
    fy = torch.fft.fftfreq(pad, dtype=torch.float64)[:, None].expand(pad, pad)
    fx = torch.fft.fftfreq(pad, dtype=torch.float64)[None, :].expand(pad, pad)
    return power, torch.sqrt(fx**2 + fy**2), torch.atan2(fy, fx)


def orientation_selectivity(filters: torch.Tensor, pad: int = 32) -> torch.Tensor:
    """How concentrated each filter's Fourier power is around one orientation. (N, h, w) -> (N,).

    ``|sum P(f) exp(2i theta(f))| / sum P(f)`` over the (zero-padded) spectrum without the DC
    term: 1 for a single orientation (a grating or an elongated Gabor), 0 for an isotropic
    filter such as a centre-surround blob. The angle is doubled because a real filter's power
    spectrum is symmetric under ``f -> -f``.
    """
    power, radius, angle = _power(_as_filters(filters), pad)
    power = power * (radius > 0)
    total = power.sum((-1, -2)).clamp_min(1e-30)
    cos = (power * torch.cos(2 * angle)).sum((-1, -2))
    sin = (power * torch.sin(2 * angle)).sum((-1, -2))
    return (torch.sqrt(cos**2 + sin**2) / total).to(filters.dtype)


def peak_frequency(filters: torch.Tensor, pad: int = 32) -> torch.Tensor:
    """Spatial frequency (cycles per pixel, 0 to ~0.71) where each filter's Fourier power peaks.
    (N, h, w) -> (N,). Band-pass filters peak away from 0 (and below the Nyquist limit 0.5)."""
    power, radius, _ = _power(_as_filters(filters), pad)
    best = power.flatten(1).argmax(1)
    return radius.flatten()[best].to(filters.dtype)


def gabor_like(filters: torch.Tensor, *, window: int | None = None, min_energy: float = 0.6,
               min_orientation: float = 0.4) -> torch.Tensor:
    """Bool (N,): filters that are both localised (at least ``min_energy`` of their energy in one
    window of side ``window``, default half the filter side) and oriented
    (``orientation_selectivity >= min_orientation``)."""
    filters = _as_filters(filters)
    window = window or max(1, min(filters.shape[-2:]) // 2)
    return (energy_in_best_window(filters, window) >= min_energy) & (
        orientation_selectivity(filters) >= min_orientation)
