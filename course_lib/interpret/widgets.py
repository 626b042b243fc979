"""Browse a model's latents: a slider over :func:`~course_lib.interpret.figures.latent_figure`.

With ipywidgets inside a Jupyter kernel (and not in fast mode) :func:`explore` shows a slider;
otherwise it shows the figure for one latent, once. Either way the figure itself is an ordinary
output (a PNG, updated in place when the slider moves), so a notebook saved by an automated run
keeps a static figure rather than a widget that needs a live kernel to draw anything.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import nn

from .. import config
from ..fast import is_fast
from ..metrics import encode_batched
from .figures import latent_figure
from .measures import class_selectivity, top_activating_examples

__all__ = ["widgets_available", "LatentExplorer", "explore"]


def widgets_available() -> bool:
    """True when ipywidgets can be shown: importable, inside a Jupyter kernel, not fast mode, and
    the outputs are not being saved for reading (``COURSE_STATIC_OUTPUT``: the site's build)."""
    if is_fast() or config.static_output():
        return False
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class LatentExplorer:
    """A slider over the latents of one model; see :func:`explore`.

    State after every update: ``latent`` (the index shown), ``top_indices`` (its top inputs, a
    LongTensor) and ``figure`` (the matplotlib Figure). With widgets, ``slider`` (an IntSlider)
    and ``summary`` (an HTML line) make up ``widget``; the figure is displayed below it as a
    plain image output (``display_id``), which the slider replaces in place.
    """

    def __init__(self, model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, n_top: int = 12,
                 class_names: Sequence[str] | None = None, latent: int | None = None,
                 interactive: bool | None = None, model_name: str = "", Z: torch.Tensor | None = None):
        self.X, self.y = X, y.detach().cpu()
        self.Z = (encode_batched(model, X) if Z is None else Z).detach().float().cpu()
        if len(self.Z) != len(X):
            raise ValueError(f"Z has {len(self.Z)} rows but X has {len(X)}")
        self.features = model.features().cpu()
        self.n_top, self.class_names, self.model_name = n_top, class_names, model_name
        self.n_classes = len(class_names) if class_names else int(self.y.max()) + 1
        self.selectivity = class_selectivity(self.Z, self.y, self.n_classes)
        self.alive = (self.Z != 0).any(0)
        n_latent = self.Z.shape[1]
        if latent is None:
            latent = int(self.Z.abs().sum(0).argmax())
        if not 0 <= latent < n_latent:
            raise ValueError(f"latent must be in 0..{n_latent - 1}, got {latent}")
        self.interactive = widgets_available() if interactive is None else interactive
        self.latent: int | None = None
        self.top_indices: torch.Tensor | None = None
        self.figure: Figure | None = None
        self.widget = None
        self._handle = None  # the figure's display, once shown
        if self.interactive:
            import ipywidgets as widgets

            self.slider = widgets.IntSlider(value=latent, min=0, max=n_latent - 1, step=1,
                                            description="latent", continuous_update=False,
                                            layout=widgets.Layout(width="60%"))
            self.summary = widgets.HTML()
            self.slider.observe(self._on_change, names="value")
            self.widget = widgets.HBox([self.slider, self.summary])
        self.show(latent)

    def _on_change(self, change: dict) -> None:
        self.show(int(change["new"]))

    def describe(self, j: int) -> str:
        """One line about latent j: how often it fires and its class selectivity."""
        rate = (self.Z[:, j] != 0).float().mean().item()
        state = "dead on these inputs" if not bool(self.alive[j]) else f"non-zero on {100 * rate:.1f}% of inputs"
        return f"latent {j}: {state}, class selectivity {self.selectivity[j].item():.2f}"

    def show(self, j: int) -> Figure:
        """Draw latent ``j`` (into the widget's output when interactive) and update the state."""
        self.latent = int(j)
        self.top_indices = top_activating_examples(self.Z, self.latent, min(self.n_top, len(self.Z)))
        fig = latent_figure(self.features[self.latent], self.Z[:, self.latent], self.X, self.y, self.latent,
                            n_top=self.n_top, class_names=self.class_names, n_classes=self.n_classes,
                            model_name=self.model_name)
        plt.close(fig)  # shown explicitly below / by the caller, never twice by the inline backend
        self.figure = fig
        if self.interactive:
            self.summary.value = self.describe(self.latent)
        if self._handle is not None:
            self._handle.update(fig)
        return fig

    def _ipython_display_(self) -> None:
        from IPython.display import display

        if not self.interactive:
            display(self.figure)
            return
        display(self.widget)
        self._handle = display(self.figure, display_id=True)  # the slider redraws it in place


def explore(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, n_top: int = 12,
            class_names: Sequence[str] | None = None, latent: int | None = None,
            interactive: bool | None = None, model_name: str = "") -> LatentExplorer:
    """Browse a model's latents: pick one with a slider, see its decoder image, top inputs,
    activation histogram and mean activation per class.

    Without a widget front-end (ipywidgets missing, no Jupyter kernel, or ``COURSE_FAST=1``)
    the same figure is shown once, for ``latent`` (default: the latent with the most total
    activation). Force either mode with ``interactive=True`` / ``False``. Put the call last in
    a cell (or ``display`` the result) to show it.
    """
    return LatentExplorer(model, X, y, n_top=n_top, class_names=class_names, latent=latent,
                          interactive=interactive, model_name=model_name)
