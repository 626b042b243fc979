"""Natural-image patches and filter measurements (course_lib.natural)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_lib import natural

YY, XX = torch.meshgrid(torch.arange(12.0), torch.arange(12.0), indexing="ij")


def grating(period=4.0, angle=0.0):
    return torch.cos(2 * math.pi * (XX * math.cos(angle) + YY * math.sin(angle)) / period)


def blob(cy=5.5, cx=5.5, width=1.5):
    return torch.exp(-((YY - cy) ** 2 + (XX - cx) ** 2) / (2 * width**2))


def gabor(angle=0.0):
    return blob(width=1.8) * grating(4.0, angle)


# ---------------------------------------------------------------- images and patches


def test_load_images_gives_grayscale_in_unit_range():
    images = natural.load_images(("coins", "astronaut"))
    assert [img.shape for img in images] == [(303, 384), (512, 512)]
    for img in images:
        assert img.dtype == np.float64 and 0.0 <= img.min() and img.max() <= 1.0


def test_load_images_rejects_unknown_names():
    with pytest.raises(ValueError, match="no image called 'nope'"):
        natural.load_images(("nope",))


def test_whiten_keeps_a_single_frequency_and_normalises():
    y, x = np.mgrid[0:64, 0:64]
    wave = np.cos(2 * np.pi * 8 * x / 64)  # 0.125 cycles per pixel, an exact Fourier mode
    out = natural.whiten(3.0 * wave + 7.0)
    assert out.mean() == pytest.approx(0.0, abs=1e-9) and out.std() == pytest.approx(1.0)
    assert np.allclose(out, wave / wave.std(), atol=1e-9)


def test_whiten_flattens_a_one_over_f_spectrum():
    rng = np.random.default_rng(0)
    f = np.sqrt(np.fft.fftfreq(128)[:, None] ** 2 + np.fft.fftfreq(128)[None, :] ** 2)
    spectrum = (rng.normal(size=(128, 128)) + 1j * rng.normal(size=(128, 128))) / np.maximum(f, 1 / 128)
    image = np.real(np.fft.ifft2(spectrum))
    power = np.abs(np.fft.fft2(natural.whiten(image, f0=0.4))) ** 2
    low = power[(f > 0.02) & (f < 0.05)].mean()
    mid = power[(f > 0.15) & (f < 0.25)].mean()
    raw = np.abs(np.fft.fft2(image)) ** 2
    assert raw[(f > 0.02) & (f < 0.05)].mean() / raw[(f > 0.15) & (f < 0.25)].mean() > 10
    assert 0.5 < low / mid < 2.0


@pytest.mark.parametrize("image, f0, match", [
    (np.zeros((4, 4, 3)), 0.4, "one grayscale image"),
    (np.zeros((8, 8)), 0.0, "f0 must be positive"),
])
def test_whiten_rejects_bad_input(image, f0, match):
    with pytest.raises(ValueError, match=match):
        natural.whiten(image, f0)


def test_sample_patches_shapes_statistics_and_seed():
    rng = np.random.default_rng(1)
    images = [rng.normal(size=(40, 50)), rng.normal(size=(30, 30))]
    P = natural.sample_patches(images, size=6, n=1001, seed=3)
    assert P.shape == (1001, 36) and P.dtype == torch.float32
    assert P.mean(1).abs().max() < 1e-5
    assert P.double().std().item() == pytest.approx(1.0, abs=1e-3)
    assert torch.equal(P, natural.sample_patches(images, size=6, n=1001, seed=3))
    assert not torch.equal(P, natural.sample_patches(images, size=6, n=1001, seed=4))


def test_sample_patches_rejects_small_images():
    with pytest.raises(ValueError, match="too small"):
        natural.sample_patches([np.zeros((10, 10))], size=8, n=5)


def test_pca_filters_find_the_axes_in_order():
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(5000, 3, generator=gen) * torch.tensor([1.0, 5.0, 2.0])
    F = natural.pca_filters(X, 3)
    assert F.shape == (3, 3)
    assert torch.allclose(F.abs(), torch.eye(3)[[1, 2, 0]], atol=0.05)
    assert torch.allclose(F @ F.t(), torch.eye(3), atol=1e-5)
    with pytest.raises(ValueError, match="n must be in 1..3"):
        natural.pca_filters(X, 4)


# ---------------------------------------------------------------- filter measurements


def test_energy_in_best_window_by_hand():
    delta = torch.zeros(1, 6, 6)
    delta[0, 4, 1] = -2.0
    flat = torch.ones(1, 4, 4)
    assert natural.energy_in_best_window(delta, 2).item() == pytest.approx(1.0)
    assert natural.energy_in_best_window(flat, 2).item() == pytest.approx(4 / 16)
    assert natural.energy_in_best_window(flat, 4).item() == pytest.approx(1.0)
    assert natural.energy_in_best_window(torch.zeros(2, 4, 4), 2).tolist() == [0.0, 0.0]


def test_localised_filters_beat_global_ones():
    loc = natural.energy_in_best_window(torch.stack([blob(), gabor(), grating()]), 6)
    assert loc[0] > 0.9 and loc[1] > 0.7 and loc[2] < 0.4


@pytest.mark.parametrize("filters, size, match", [
    (torch.zeros(3, 16), 2, r"shape \(N, h, w\)"),
    (torch.zeros(3, 4, 4), 5, "size must be an integer in 1..4"),
    (torch.zeros(3, 4, 4), 0, "size must be an integer"),
])
def test_energy_in_best_window_rejects_bad_input(filters, size, match):
    with pytest.raises(ValueError, match=match):
        natural.energy_in_best_window(filters, size)


def test_orientation_selectivity_separates_gratings_from_blobs():
    filters = torch.stack([grating(4.0, 0.0), grating(4.0, math.pi / 3), gabor(math.pi / 4),
                           blob(), blob(width=1.0) - 0.5 * blob(width=2.5)])
    osi = natural.orientation_selectivity(filters)
    assert (osi[:3] > 0.6).all()
    assert (osi[3:] < 0.1).all()


def test_peak_frequency_of_a_grating():
    pf = natural.peak_frequency(torch.stack([grating(4.0), grating(6.0), blob(width=3.0)]))
    assert pf[0].item() == pytest.approx(0.25, abs=1 / 32)
    assert pf[1].item() == pytest.approx(1 / 6, abs=1 / 32)
    assert pf[2].item() < 0.1  # a smooth blob is low-pass


def test_gabor_like_needs_localised_and_oriented():
    filters = torch.stack([gabor(0.0), gabor(1.0), grating(), blob()])
    assert natural.gabor_like(filters).tolist() == [True, True, False, False]
