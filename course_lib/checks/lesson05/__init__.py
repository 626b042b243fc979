"""Checks for lesson 05, K-sparse autoencoders and the biological analogy.

* :mod:`.functions`: ``topk_activation``, ``dead_latents``, ``auxk_loss``, ``energy_in_best_window``.
* :mod:`.build`: the class ``TopKSAE`` (graded by behaviour, ``observe=``: initialisation, forward
  pass with the reference's weights, a few training steps with AuxK).
* :mod:`.goal`: ``topk_goal_settings``, the settings that reach a target FVU with few dead latents.
"""
from ..core import exported
from .functions import *  # noqa: F403  (first: the exercises in notebook order)
from .functions import AUXK_MISTAKES, DEAD_MISTAKES, LESSON, TOPK_MISTAKES, WINDOW_MISTAKES  # noqa: F401
from .build import *  # noqa: F403
from .build import TOPK_SAE_MISTAKES  # noqa: F401
from .goal import *  # noqa: F403
from .goal import GOAL_MISTAKES  # noqa: F401

__all__ = exported(LESSON)
