"""Checks for lesson 04 (interpretability and feature discovery).

``check_top_activating_examples``, ``check_class_selectivity``, ``check_make_bars`` and
``check_factor_match_score`` grade the learner's functions against the references in
:mod:`course_lib.interpret`, with a catalogue of realistic mistakes for each; :mod:`.build` holds
the build exercise ``check_feature_dashboard`` and the goal ``check_bars_goal_settings``.
"""
from ..core import exported
from .latents import *  # noqa: F403  (first: the exercises in notebook order)
from .factors import *  # noqa: F403
from .build import *  # noqa: F403
from .latents import LESSON

__all__ = exported(LESSON)
