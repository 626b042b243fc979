"""Lesson 02's goal exercise: a lambda that puts L0 inside a band, at the best FVU you can get.

``l1_lambda() -> float``. The experiment (:func:`check_l1_lambda`, also run by ``.trial`` in the
notebook with the learner's own ``constrained_step``): an L1 sparse autoencoder 784 -> 256 with a
pre-encoder bias at the data mean and unit-norm decoder columns, seeded with 0, trained with
``constrained_step`` and Adam (lr 1e-3, batches of 64, seeded order) for 3 epochs on the first
2000 training images, measured on 1000 held-out test images. It passes when L0 lies in
[20, 40] and FVU is below 0.30. The same experiment runs in fast mode (a few seconds).
"""
from __future__ import annotations

import math

from course_lib import metrics, models, train
from course_lib.device import get_device

from ..cases import Mistake
from ..goal import PASS, Landing, goal, goal_data, number

LESSON = "02"
L0_BAND = (20.0, 40.0)
FVU_TO_BEAT = 0.30
N_LATENT, EPOCHS, LR, BATCH = 256, 3, 1e-3, 64

VERDICTS = {
    "not a number": "Return lambda as a plain Python number, e.g. `return 0.5`.",
    "negative": "A negative lambda rewards large codes instead of penalising them: lambda must be "
                "positive.",
    "zero": "lambda = 0 is no penalty at all: nothing asks the code to be sparse, and L0 stays far "
            "above the band. Start around 0.1 and raise it.",
    "above": "L0 is above the band: the penalty is too weak. Raise lambda (try 1.5 to 3 times "
             "larger).",
    "below": "L0 is below the band: the penalty is too strong and silences latents the "
             "reconstruction needs. Lower lambda (try 1.5 to 3 times smaller).",
    "collapsed": "The code has collapsed: almost no latent fires and FVU is near 1 (no better than "
                 "the mean image). lambda is far too large: divide it by 10.",
    "fvu": "L0 is inside the band, but FVU is not below the target: within the band, a smaller "
           "lambda keeps more latents and reconstructs better. Lower lambda a little, towards the "
           "top of the band.",
    "diverged": "Training diverged (the loss became NaN or inf): lower lambda.",
}


@goal(LESSON, reference=lambda: 0.8, verdicts=VERDICTS, mistakes=[
    Mistake(VERDICTS["zero"], lambda: 0.0),
    Mistake(VERDICTS["above"], lambda: 0.3),
    Mistake(VERDICTS["below"], lambda: 3.0),
    Mistake(VERDICTS["collapsed"], lambda: 30.0),
    Mistake(VERDICTS["fvu"], lambda: 1.3),
    Mistake(VERDICTS["negative"], lambda: -0.5),
    Mistake(VERDICTS["not a number"], lambda: "0.8"),
])
def check_l1_lambda(lam, step=train.constrained_step) -> Landing:
    """Train the goal's sparse autoencoder with ``lam``; pass with L0 in the band and FVU below 0.30."""
    value = number(lam)
    if value is None:
        return Landing("not a number", f"your lambda: {lam!r}")
    if value < 0:
        return Landing("negative", f"your lambda: {value:g}")
    X, X_eval = goal_data()
    model = models.Autoencoder(X.shape[1], N_LATENT, pre_bias=True, unit_norm_decoder=True, seed=0)
    model = model.to(get_device())
    model.init_pre_bias(X)
    try:
        train.train_with_step(model, X, lambda m, o, x: step(m, o, x, value), epochs=EPOCHS, lr=LR,
                              batch_size=BATCH)
    except train.TrainingDiverged:
        return Landing("diverged", f"lambda = {value:g}: the loss became NaN or inf")
    result = metrics.evaluate(model, X_eval)
    l0, fvu = result["l0"], result["fvu"]
    low, high = L0_BAND
    report = (f"lambda = {value:g}: L0 {l0:.1f} (band {low:g} to {high:g}), FVU {fvu:.3f} "
              f"(to beat: {FVU_TO_BEAT:.2f})")
    if not (math.isfinite(l0) and math.isfinite(fvu)):
        return Landing("diverged", report)
    if low <= l0 <= high and fvu < FVU_TO_BEAT:
        return Landing(PASS, report + ": inside the band, below the target.")
    if value == 0:
        return Landing("zero", report)
    if l0 > high:
        return Landing("above", report)
    if l0 < 1 and fvu > 0.9:
        return Landing("collapsed", report)
    if l0 < low:
        return Landing("below", report)
    return Landing("fvu", report)


__all__ = ["check_l1_lambda"]
