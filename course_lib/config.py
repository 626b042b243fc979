"""Every ``COURSE_*`` environment variable the course reads, parsed in one place.

Values are read when asked for (not at import), so a notebook or a test can change them on the
fly. A value that cannot be understood raises :class:`ConfigError` naming the variable and what
it accepts, e.g. ``COURSE_FAST=maybe``.

==========================  ==================================================================
``COURSE_FAST``             yes/no: fewer epochs and smaller data (tests, CI)
``COURSE_STRICT_CHECKS``    yes/no: a failing check or a wrong quiz answer raises (solutions)
``COURSE_STRICT_CLAIMS``    yes/no: a lesson's claim that its run contradicts raises (full runs)
``COURSE_STATIC_OUTPUT``    yes/no: outputs are saved for reading (site, ``make html``): plain-text bars
``COURSE_PROGRESS_FILE``    path of the progress file (default ``~/.sae_course/progress.json``)
``COURSE_DEVICE``           ``cpu``, ``cuda``, ``cuda:1``, ``mps``: overrides the automatic choice
``COURSE_DATA_DIR``         the data cache folder (default ``data/`` in the checkout)
``COURSE_DEBIAN_DATA_DIR``  where Debian's ``dataset-fashion-mnist`` puts its files
``COURSE_OFFLINE``          yes/no: never download data
==========================  ==================================================================
"""
from __future__ import annotations

import os
from pathlib import Path

FAST = "COURSE_FAST"
STRICT_CHECKS = "COURSE_STRICT_CHECKS"
STRICT_CLAIMS = "COURSE_STRICT_CLAIMS"
STATIC_OUTPUT = "COURSE_STATIC_OUTPUT"
PROGRESS_FILE = "COURSE_PROGRESS_FILE"
DEVICE = "COURSE_DEVICE"
DATA_DIR = "COURSE_DATA_DIR"
DEBIAN_DATA_DIR = "COURSE_DEBIAN_DATA_DIR"
OFFLINE = "COURSE_OFFLINE"

VARIABLES = (FAST, STRICT_CHECKS, STRICT_CLAIMS, STATIC_OUTPUT, PROGRESS_FILE, DEVICE, DATA_DIR,
             DEBIAN_DATA_DIR, OFFLINE)
# What a grading kernel keeps of the grader's environment (course_lib.grade.sandbox sets the rest).
KERNEL_INHERITED = ("PYTHONPATH", "LANG", "LC_ALL", "TZ")
# set in a grading kernel to the threads it may use (one share of the cores)
KERNEL_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

DEFAULT_PROGRESS_FILE = "~/.sae_course/progress.json"
DEFAULT_DEBIAN_DATA_DIR = "/usr/share/datasets/fashion-mnist"
_YES = ("1", "true", "yes", "on")
_NO = ("", "0", "false", "no", "off")


class ConfigError(ValueError):
    """A ``COURSE_*`` variable holds a value the course cannot use."""


def flag(name: str) -> bool:
    """A yes/no variable: ``1``/``true``/``yes``/``on`` or ``0``/``false``/``no``/``off``/unset."""
    value = os.environ.get(name, "")
    word = value.strip().lower()
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise ConfigError(f"{name}={value!r} is not a yes/no value: set it to 1 (on) or 0 (off), "
                      f"or unset it.")


def text(name: str) -> str | None:
    """A free-form variable, stripped; ``None`` when unset or blank."""
    value = os.environ.get(name, "").strip()
    return value or None


def path(name: str, default: str | Path | None = None) -> Path | None:
    """A path variable with ``~`` expanded; ``default`` when unset."""
    value = text(name) or (str(default) if default is not None else None)
    return Path(value).expanduser() if value else None


def fast() -> bool:
    """``COURSE_FAST``: the short runs used by tests and CI."""
    return flag(FAST)


def strict_checks() -> bool:
    """``COURSE_STRICT_CHECKS``: a check that does not pass raises ``AssertionError``."""
    return flag(STRICT_CHECKS)


def strict_claims() -> bool:
    """``COURSE_STRICT_CLAIMS``: a lesson claim that does not hold raises ``ClaimError``."""
    return flag(STRICT_CLAIMS)


def static_output() -> bool:
    """``COURSE_STATIC_OUTPUT``: the notebook runs with no front-end, its outputs saved for reading."""
    return flag(STATIC_OUTPUT)


def offline() -> bool:
    """``COURSE_OFFLINE``: never download the data."""
    return flag(OFFLINE)


def progress_file() -> Path:
    """``COURSE_PROGRESS_FILE``, else ``~/.sae_course/progress.json``."""
    return path(PROGRESS_FILE, DEFAULT_PROGRESS_FILE)


def device() -> str | None:
    """``COURSE_DEVICE``: the device asked for, or ``None`` for the automatic choice."""
    return text(DEVICE)


def data_dir() -> Path | None:
    """``COURSE_DATA_DIR``: the data cache folder, or ``None`` for the default."""
    return path(DATA_DIR)


def debian_data_dir() -> Path:
    """``COURSE_DEBIAN_DATA_DIR``, else Debian's folder for ``dataset-fashion-mnist``."""
    return path(DEBIAN_DATA_DIR, DEFAULT_DEBIAN_DATA_DIR)


def environment(names: tuple[str, ...]) -> dict[str, str]:
    """The variables ``names`` that are set, as they are (for a child process's environment)."""
    return {name: os.environ[name] for name in names if name in os.environ}
