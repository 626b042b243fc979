"""Checks for lesson 03, the KL sparsity penalty.

* :mod:`.kl`: ``mean_activation``, ``kl_divergence``, ``kl_sparsity_penalty``,
  ``lifetime_and_population_sparsity``.
* :mod:`.build`: ``kl_step``, the KL autoencoder's loss in a training step (graded by behaviour,
  ``observe=``).
* :mod:`.goal`: ``kl_settings``, a goal (the mean activation within 0.01 of rho at a low FVU).
"""
from ..core import exported
from .kl import *  # noqa: F403  (first: the exercises in notebook order)
from .kl import LESSON, _penalty_compare, _penalty_compare_saturated  # noqa: F401
from .build import *  # noqa: F403
from .build import KL_STEP_MISTAKES  # noqa: F401
from .goal import *  # noqa: F403

__all__ = exported(LESSON)
