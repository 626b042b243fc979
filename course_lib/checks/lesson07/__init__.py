"""Checks for lesson 07, superposition and what a sparse autoencoder recovers.

Graded functions and classes (the learner writes them in ``solutions/07_superposition.ipynb``):

* ``importance_weighted_loss(x, x_hat, importance)``: the toy model's loss, the mean over samples
  of ``sum_i importance_i (x_i - x_hat_i)**2``.
* ``ToyModel(n_features, n_hidden)``: the toy model of superposition, ``W`` (n_hidden, n_features),
  ``b`` (n_features,), ``forward(x) = relu(x W^T W + b)``; graded by what its instances do.
* ``mean_max_cosine_similarity(D_learned, D_true)``: for each true direction (column) its largest
  signed cosine with a learned column, averaged over the true directions.
* ``absorption_rate(Z, is_parent, decoder, direction, parent_latent, cos_threshold=0.3)``: the
  fraction of parent samples on which the parent latent is silent and another latent carries the
  parent direction.

References: :mod:`course_lib.superposition`, :func:`course_lib.matching.mean_max_cosine_similarity`,
:func:`course_lib.absorption.absorption_rate`.
"""
from ..core import exported
from .toy import *  # noqa: F403  (first: the exercises in notebook order)
from .recovery import *  # noqa: F403
from .toy import LESSON

__all__ = exported(LESSON)
