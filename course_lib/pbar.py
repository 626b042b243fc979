"""Progress bars that stay readable when a notebook's outputs are saved for reading.

In JupyterLab ``tqdm.auto`` draws a live widget bar. A notebook executed with no front-end
(``make html``, a site build, ``jupyter nbconvert --execute``) saves that widget as a model
that static HTML shows as a blank box, and a ``leave=False`` bar leaves an empty gap. Such
builds set ``COURSE_STATIC_OUTPUT=1`` (read through :mod:`course_lib.config`); then::

    >>> from course_lib.pbar import tqdm
    >>> for epoch in tqdm(range(3), desc="training"):   # doctest: +SKIP
    ...     pass
    training: 3/3 in 00:01

a bar kept after its loop (``leave=True``, tqdm's default) prints one plain line of text when
it closes, and a transient bar (``leave=False``) prints nothing. Otherwise the bar is
``tqdm.auto``'s, unchanged. Same arguments and methods as ``tqdm``.
"""
from __future__ import annotations

import sys

from tqdm import auto as _auto
from tqdm import std as _std

from . import config

class _Discard:
    """A file that swallows the bar's redrawing (done on every update, shown never)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


class StaticTqdm(_std.tqdm):
    """A text bar that draws nothing while it runs and, if kept, prints one line on closing."""

    def __init__(self, *args, **kwargs):
        self._static_file = kwargs.pop("file", None)
        kwargs["file"] = _Discard()
        super().__init__(*args, **kwargs)

    def summary(self) -> str:
        """The closing line, e.g. ``training: 10/10 epoch in 00:05, loss=0.123``."""
        d = self.format_dict
        count = f"{d['n']}/{d['total']}" if d["total"] else f"{d['n']}"
        desc = self.desc.removesuffix(": ")
        line = f"{desc}: " if desc else ""
        line += f"{count} {d['unit']} in {self.format_interval(d['elapsed'])}"
        return line + (f", {self.postfix}" if self.postfix else "")

    def close(self) -> None:
        if self.disable:
            return
        keep = self.leave if self.leave is not None else self.pos == 0
        line = self.summary() if keep else ""
        super().close()
        if line:
            print(line, file=self._static_file or sys.stdout, flush=True)


def static() -> bool:
    """True when outputs are being saved for reading (``COURSE_STATIC_OUTPUT``)."""
    return config.static_output()


def tqdm(*args, **kwargs):
    """``tqdm.auto.tqdm``, or :class:`StaticTqdm` when ``COURSE_STATIC_OUTPUT`` is on."""
    return StaticTqdm(*args, **kwargs) if static() else _auto.tqdm(*args, **kwargs)


def trange(*args, **kwargs):
    """``tqdm(range(*args), **kwargs)``."""
    return tqdm(range(*args), **kwargs)
