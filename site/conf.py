"""Sphinx configuration of the course website (``make site``; sources laid out by tools/build_site.py).

MyST-NB reads the lesson notebooks and executes them through jupyter-cache; the Sphinx Book
Theme gives the book layout (table of contents, previous/next links, search). Everything the
pages load is copied into the site, MathJax included, so the site reads offline.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from sphinx.util.fileutil import copy_asset

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]
import colab  # noqa: E402  (the repository URL)

from course_lib import config  # noqa: E402

project = "Sparse Autoencoders, hands-on"
author = ""  # no "By ..." line
copyright = "the authors of the course, MIT licence"
html_title = project
language = "en"

extensions = ["myst_nb"]
root_doc = "index"
exclude_patterns = ["_files/**", "**/.ipynb_checkpoints"]
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "html_image"]
myst_heading_anchors = 3
suppress_warnings = ["mystnb.unknown_mime_type"]

# ---------------------------------------------------------------- execution (jupyter-cache)
nb_execution_mode = "cache"
nb_execution_cache_path = str(ROOT / "build" / "site-cache" / "default")  # build_site.py sets one per mode
nb_execution_timeout = 1800  # seconds for one cell; a full-mode training cell takes minutes on 2 cores
nb_execution_raise_on_error = True  # a lesson that fails fails the build
nb_execution_show_tb = True
nb_merge_streams = True
# A live widget (a quiz form, a progress bar) has no state on a static page: show its text instead.
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]

# ---------------------------------------------------------------- theme
REPOSITORY = colab.repository_url(ROOT)
html_theme = "sphinx_book_theme"
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_theme_options = {
    "repository_url": REPOSITORY,
    "repository_branch": colab.BRANCH,
    "use_repository_button": True,
    "use_download_button": False,  # the pages carry their own download links (source notebooks)
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "navigation_with_keys": False,
}
if config.fast():  # COURSE_FAST=1 make site: say so on every page
    html_theme_options["announcement"] = ("Fast-mode preview: the lessons ran with fewer epochs and less data, "
                                          "so their numbers differ from the published full run.")
html_last_updated_fmt = "%Y-%m-%d"
html_copy_source = False
html_show_sourcelink = False

# ---------------------------------------------------------------- maths, offline
# MathJax 3 from the sphinx-mathjax-offline package, copied into _static/mathjax/: the combined
# TeX + CommonHTML component, its fonts, the TeX extensions it loads on demand and the menu.
MATHJAX_PARTS = ("tex-chtml.js", "output/chtml", "input/tex/extensions", "a11y", "ui", "adaptors")
mathjax_path = "mathjax/tex-chtml.js"


def _mathjax_source() -> Path:
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("MathJax for the site comes from the package sphinx-mathjax-offline: "
                           "pip install -e '.[site]' (make site does it)")
    return Path(list(spec.submodule_search_locations)[0]) / "static" / "mathjax"


def _copy_mathjax(app, exc) -> None:
    if exc is not None or app.builder.format != "html":
        return
    source, target = _mathjax_source(), Path(app.outdir) / "_static" / "mathjax"
    for part in MATHJAX_PARTS:
        if (source / part).is_dir():
            copy_asset(str(source / part), str(target / part))
        else:
            target.mkdir(parents=True, exist_ok=True)
            copy_asset(str(source / part), str(target))


def setup(app):
    _mathjax_source()  # fail early, before executing anything, when MathJax is missing
    app.connect("build-finished", _copy_mathjax)
