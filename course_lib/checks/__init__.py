"""Checks for the graded exercises: ``from course_lib.checks import check_l1_penalty``.

Each lesson's checks live in ``lessonNN.py`` (declared with :func:`~course_lib.checks.core.check`)
and are re-exported here, one line per lesson. The machinery: :mod:`.cases` (cases, mistakes,
post-conditions), :mod:`.compare` (output comparison), :mod:`.harness` (grading one case),
:mod:`.core` (the :class:`~course_lib.checks.core.Check`, its registry and feedback).
"""
from .core import REGISTRY, After, Case, Check, CheckResult, Mistake, check, registered, run_check
from .lesson01 import *  # noqa: F403
from .lesson02 import *  # noqa: F403
from .lesson03 import *  # noqa: F403
from .lesson04 import *  # noqa: F403
from .lesson05 import *  # noqa: F403
from .lesson06 import *  # noqa: F403
from .lesson07 import *  # noqa: F403
from .lesson08 import *  # noqa: F403

__all__ = ["REGISTRY", "After", "Case", "Check", "CheckResult", "Mistake", "check", "registered",
           "run_check", "get"] + [f"check_{name}" for names in registered().values() for name in names]


def get(name: str) -> Check:
    """The check of exercise ``name``, e.g. ``get("l1_penalty")``."""
    return REGISTRY.get(name)
