"""Checks for the graded exercises: ``from course_lib.checks import check_l1_penalty``.

The harness lives in :mod:`course_lib.checks.core`; each lesson's checks live in
``lessonNN.py`` and are re-exported here, one line per lesson.
"""
from .core import Case, CheckResult, Mistake, register, run_check  # noqa: F401

# One line per lesson module, e.g.: from .lesson02 import *  # noqa: F401,F403
from .lesson01 import *  # noqa: F401,F403
from .lesson02 import *  # noqa: F401,F403
from .lesson03 import *  # noqa: F401,F403
from .lesson04 import *  # noqa: F401,F403
from .lesson05 import *  # noqa: F401,F403
from .lesson06 import *  # noqa: F401,F403
