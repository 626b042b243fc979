"""Lesson 03's goal exercise: beta and epochs that bring the mean activation to rho = 0.05.

``kl_settings() -> {"beta": float, "epochs": int}``. The experiment (:func:`check_kl_settings`,
also run by ``.trial`` in the notebook with the learner's own ``kl_step``): a sigmoid
autoencoder 784 -> 64 with a pre-encoder bias at the data mean, seeded with 0, trained with
``kl_step`` (rho = 0.05) and Adam (lr 3e-3, batches of 64, seeded order) on the first 2000
training images, measured on 1000 held-out test images. It passes when the mean activation lies
within 0.01 of rho and FVU is below 0.40; at most 10 epochs. The same experiment runs in fast
mode (a few seconds).
"""
from __future__ import annotations

import math

from course_lib import metrics, models, train
from course_lib.device import get_device

from ..cases import Mistake
from ..goal import PASS, Landing, goal, goal_data, read_settings

LESSON = "03"
RHO, TOLERANCE, FVU_TO_BEAT = 0.05, 0.01, 0.40
N_LATENT, MAX_EPOCHS, LR, BATCH = 64, 10, 3e-3, 64

VERDICTS = {
    "keys": "Return a dict with exactly the keys 'beta' and 'epochs', e.g. "
            "`{\"beta\": 3.0, \"epochs\": 5}`.",
    "values": "`beta` must be a positive number and `epochs` a positive integer (`5`, not `5.0`).",
    "budget": f"Stay inside the budget: at most {MAX_EPOCHS} epochs.",
    "weak": "The mean activation is still above the target: the penalty is too weak for this many "
            "epochs. Raise beta, or train for more epochs.",
    "low": "The mean activation is below the target: the penalty overshoots. Lower beta.",
    "fvu": "The mean activation is on target, but FVU is not below the target: beta is so large "
           "that the reconstruction pays for it. Lower beta and give it more epochs instead.",
    "diverged": "Training diverged (the loss became NaN or inf): lower beta.",
}


@goal(LESSON, reference=lambda: {"beta": 20.0, "epochs": 10}, verdicts=VERDICTS, mistakes=[
    Mistake(VERDICTS["weak"], lambda: {"beta": 1.0, "epochs": 3}),
    Mistake(VERDICTS["fvu"], lambda: {"beta": 60.0, "epochs": 3}),
    Mistake(VERDICTS["budget"], lambda: {"beta": 20.0, "epochs": 50}),
    Mistake(VERDICTS["keys"], lambda: {"beta": 20.0}),
    Mistake(VERDICTS["values"], lambda: {"beta": 0, "epochs": 10}),
])
def check_kl_settings(settings, step=train.kl_step) -> Landing:
    """Train the goal's sigmoid autoencoder with the settings; pass with the mean activation on target."""
    values, problem = read_settings(settings, ("beta", "epochs"), integers=("epochs",))
    if values is None:
        return Landing(problem, f"your settings: {settings!r}")
    beta, epochs = values["beta"], values["epochs"]
    if epochs > MAX_EPOCHS:
        return Landing("budget", f"your settings: epochs={epochs}")
    X, X_eval = goal_data()
    model = models.Autoencoder(X.shape[1], N_LATENT, "sigmoid", pre_bias=True, seed=0).to(get_device())
    model.init_pre_bias(X)
    try:
        train.train_with_step(model, X, lambda m, o, x: step(m, o, x, RHO, beta), epochs=epochs, lr=LR,
                              batch_size=BATCH)
    except train.TrainingDiverged:
        return Landing("diverged", f"beta = {beta:g}, {epochs} epochs: the loss became NaN or inf")
    X_hat, A = metrics.reconstruct_batched(model, X_eval)
    rate, fvu = float(A.mean()), float(metrics.fraction_variance_unexplained(X_eval, X_hat))
    report = (f"beta = {beta:g}, {epochs} epochs: mean activation {rate:.4f} (target {RHO:g} ± {TOLERANCE:g}), "
              f"FVU {fvu:.3f} (to beat: {FVU_TO_BEAT:.2f})")
    if not (math.isfinite(rate) and math.isfinite(fvu)):
        return Landing("diverged", report)
    on_target = abs(rate - RHO) <= TOLERANCE
    if on_target and fvu < FVU_TO_BEAT:
        return Landing(PASS, report + ": on target, below the FVU to beat.")
    if rate > RHO + TOLERANCE:
        return Landing("weak", report)
    if rate < RHO - TOLERANCE:
        return Landing("low", report)
    return Landing("fvu", report)


__all__ = ["check_kl_settings"]
