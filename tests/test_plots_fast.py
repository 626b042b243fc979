import matplotlib

matplotlib.use("Agg")
import pytest
import torch
from matplotlib.figure import Figure

from course_lib import fast, plots
from course_lib.models import Autoencoder


def test_figures_have_titles_and_labels():
    fig = plots.activation_histogram({"dense": torch.rand(50, 8), "sparse": torch.zeros(50, 8)})
    ax = fig.axes[0]
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["dense", "sparse"]
    curves = plots.training_curves({"a": {"loss": [3, 2, 1]}, "b": {"loss": [4, 3, 2]}})
    assert curves.axes[0].get_xlabel() == "epoch" and len(curves.axes[0].lines) == 2


def test_grids_take_flat_and_image_shapes():
    fig = plots.image_grid(torch.rand(10, 784), ncols=5, titles=[str(i) for i in range(10)], title="t")
    assert isinstance(fig, Figure) and len(fig.axes) == 10 and fig.axes[3].get_title() == "3"
    assert len(plots.image_grid(torch.rand(3, 1, 28, 28)).axes) == 3
    assert len(plots.feature_grid(Autoencoder(784, 20), n=12, ncols=6).axes) == 12
    assert len(plots.reconstruction_grid(torch.rand(4, 784), torch.rand(4, 784), n=4).axes) == 8
    with pytest.raises(ValueError, match="square images"):
        plots.image_grid(torch.rand(2, 10))


def test_fast_mode_switch(monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "1")
    assert fast.is_fast() and fast.pick(10, 1) == 1
    a, b = fast.subset(torch.arange(10), torch.arange(10), n_fast=3)
    assert a.tolist() == [0, 1, 2] and b.tolist() == [0, 1, 2]
    monkeypatch.setenv("COURSE_FAST", "0")
    assert not fast.is_fast() and fast.pick(10, 1) == 10
    assert len(fast.subset(torch.arange(10), n_fast=3)) == 10


def test_activation_histograms_share_their_bins_and_grids_take_row_labels():
    fig = plots.activation_histogram({"wide": torch.linspace(0, 4, 400), "narrow": torch.linspace(0, 1, 400)}, bins=8)
    wide, narrow = fig.axes[0].patches  # one step patch per code
    assert "width 0.5" in fig.axes[0].get_xlabel()  # (4 - 0) / 8, the same for both codes
    assert wide.get_path().vertices[:, 0].max() == pytest.approx(4.0)
    assert sorted(set(narrow.get_path().vertices[:, 0].round(6)))[:3] == [0.0, 0.5, 1.0]
    fig = plots.image_grid(torch.rand(6, 784), ncols=3, row_labels=["K = 2", "K = 8"])
    assert [t.get_text() for t in fig.axes[0].texts + fig.axes[3].texts] == ["K = 2", "K = 8"]
    with pytest.raises(ValueError, match="row_labels"):
        plots.image_grid(torch.rand(6, 784), ncols=3, row_labels=["one"])
def test_pixel_images_share_one_fixed_scale_and_weights_a_symmetric_one():
    dim, bright = torch.full((1, 784), 0.2), torch.rand(1, 784)
    fig = plots.image_grid(torch.cat([dim, bright]), ncols=2)
    assert [ax.images[0].get_clim() for ax in fig.axes] == [(0.0, 1.0), (0.0, 1.0)]
    signed = plots.image_grid(torch.randn(2, 784), symmetric=True, cmap="RdBu_r")
    low, high = signed.axes[0].images[0].get_clim()
    assert low == -high and low < 0
    unscaled = plots.image_grid(torch.rand(1, 784) * 5)  # not pixel values: scaled to its own range
    assert unscaled.axes[0].images[0].get_clim()[1] > 1


def test_every_image_has_a_thin_grey_frame_and_empty_cells_none():
    fig = plots.image_grid(torch.ones(3, 784), ncols=2)   # all white: only the frame shows the edge
    drawn, empty = fig.axes[:3], fig.axes[3]
    for ax in drawn:
        assert ax.axison and not ax.get_xticks().size and not ax.get_yticks().size
        assert all(s.get_visible() and s.get_edgecolor()[:3] != (1.0, 1.0, 1.0) for s in ax.spines.values())
    assert not empty.axison
