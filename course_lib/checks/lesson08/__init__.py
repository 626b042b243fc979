"""Checks for lesson 08, modern sparse autoencoders side by side.

Graded functions (the learner writes them in ``solutions/08_modern_saes.ipynb``):

* ``batch_topk(z, k)``: keep the k * batch largest entries of the whole batch z (B, n), zero the rest;
* ``jumprelu(h, threshold, bandwidth)``: JumpReLU as a ``torch.autograd.Function`` with the
  straight-through estimate for the threshold (the build exercise);
* ``matryoshka_loss(x, z, decoder_weight, b_dec, prefixes)``: mean over prefixes of their
  reconstruction errors;
* ``loss_recovered(ce_clean, ce_spliced, ce_ablated)``: 1 when splicing costs nothing, 0 when as
  bad as zero-ablation; ``ValueError`` when ``ce_ablated == ce_clean``.

References: :func:`course_lib.saes.batch_topk`, :func:`course_lib.saes.jumprelu`,
:func:`course_lib.saes.matryoshka_loss`, :func:`course_lib.evaluation.loss_recovered`.
"""
from ..core import exported
from .codes import *  # noqa: F403  (first: the exercises in notebook order)
from .losses import *  # noqa: F403
from .codes import LESSON

__all__ = exported(LESSON)
