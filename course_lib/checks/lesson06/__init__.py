"""Checks for lesson 06, the capstone: a sparse autoencoder on a classifier's hidden layer.

Graded functions (the learner writes them in ``solutions/06_capstone_sae_on_a_network.ipynb``):

* ``record_activations(model, X, layer, batch_size=4096)``: the output of the named layer on every
  row of X, collected with a forward hook in batches; detached, hook removed.
* ``class_profile(A, y, n_classes)``: per unit, its mean activation on each class, normalised over
  the classes (n_classes, H); a unit that never fires gets a uniform column.
* ``splice_logits(model, X, layer, replace, batch_size=4096)``: the model's logits with the layer's
  output ``h`` replaced by ``replace(h)``; hook removed.
* ``set_feature(z, j, value)``: a copy of the code with latent(s) j set to ``value`` on every row.
* ``prediction_shift(logits_before, logits_after, c)``: ``(kept, gained)`` fractions for class c.
* ``steer_logits`` (build) and ``flip_prediction`` (goal), in :mod:`.steer`.

Hooks leave traces a return value does not show: a hook left on the model (also when the forward
pass raises halfway), or outputs that still carry the autograd graph. The two hook exercises
therefore carry post-conditions (:data:`NO_HOOK_LEFT`, :data:`NO_GRAPH`) besides their outputs.
"""
from ..core import exported
from .hooks import *  # noqa: F403  (first: the exercises in notebook order)
from .codes import *  # noqa: F403
from .steer import *  # noqa: F403
from .hooks import LESSON

__all__ = exported(LESSON)
