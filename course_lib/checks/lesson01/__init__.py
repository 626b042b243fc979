"""Checks for lesson 01, overcomplete autoencoders: measuring a code and a reconstruction, then
building the autoencoder and its training step.

* :mod:`.measures`: ``reconstruction_error``, ``fraction_variance_unexplained``, ``l0``,
  ``dead_fraction``.
* :mod:`.build`: the class ``TinyAutoencoder`` and ``train_step`` (graded by behaviour, ``observe=``).
* :mod:`.goal`: ``autoencoder_settings``, a goal (a held-out FVU below 0.20 within a budget).
"""
from ..core import exported
from .measures import *  # noqa: F403  (first: the exercises in notebook order)
from .measures import (DEAD_MISTAKES, FVU_MISTAKES, L0_MISTAKES, LESSON,  # noqa: F401
                       RECONSTRUCTION_MISTAKES)
from .build import *  # noqa: F403
from .build import TINY_AUTOENCODER_MISTAKES, TRAIN_STEP_MISTAKES  # noqa: F401
from .goal import *  # noqa: F403

__all__ = exported(LESSON)
