"""Checks for lesson 02, the L1 sparsity penalty and the decoder's scale loophole.

* :mod:`.penalties`: ``l1_penalty``, ``sparse_loss``, ``l2_penalty``, ``decoder_weighted_l1``,
  ``renormalize_columns``.
* :mod:`.constraint`: ``constrained_step``, the training step with unit-norm decoder columns
  (graded by behaviour, ``observe=``).
* :mod:`.goal`: ``l1_lambda``, a goal (an L0 inside a band at a low FVU).
"""
from ..core import exported
from .penalties import *  # noqa: F403  (first: the exercises in notebook order)
from .penalties import (DECODER_L1_MISTAKES, L1_MISTAKES, L2_MISTAKES, LESSON,  # noqa: F401
                        RENORMALIZE_MISTAKES, SPARSE_LOSS_MISTAKES)
from .constraint import *  # noqa: F403
from .constraint import CONSTRAINED_STEP_MISTAKES  # noqa: F401
from .goal import *  # noqa: F403

__all__ = exported(LESSON)
