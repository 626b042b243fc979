"""Lesson 01's goal exercise: settings that train a tiny autoencoder to a held-out FVU below 0.20.

``autoencoder_settings() -> {"n_latent": int, "epochs": int, "lr": float}``. The experiment
(:func:`check_autoencoder_settings`, also run by ``.trial`` in the notebook): a
``TinyAutoencoder(784, n_latent)`` seeded with 0, trained with ``train_step`` and Adam on the
first 2000 training images (batches of 64, seeded order), measured on 1000 held-out test images.
The budget: ``n_latent <= 512``, ``epochs <= 5``. The same experiment runs in fast mode: it is
small already (a few seconds).
"""
from __future__ import annotations

import math

import torch

from course_lib import metrics, models, train
from course_lib.device import get_device

from ..cases import Mistake
from ..goal import PASS, Landing, goal, goal_data, read_settings

LESSON = "01"
FVU_TO_BEAT = 0.20
MAX_LATENT, MAX_EPOCHS, BATCH = 512, 5, 64
KEYS = ("n_latent", "epochs", "lr")

VERDICTS = {
    "keys": "Return a dict with exactly the keys 'n_latent', 'epochs' and 'lr', e.g. "
            "`{\"n_latent\": 256, \"epochs\": 3, \"lr\": 1e-3}`.",
    "values": "`n_latent` and `epochs` must be positive integers (`256`, not `256.0`) and `lr` a "
              "positive number.",
    "budget": f"Stay inside the budget: at most {MAX_LATENT} latents and {MAX_EPOCHS} epochs. The goal "
              "is to spend it well, not to buy a bigger model.",
    "diverged": "Training blew up: the held-out error is no better than the mean image (FVU of 1 or "
                "more) or not finite. Your learning rate is too large: divide it by 3 to 10.",
    "narrow": "Your code is too narrow: a handful of latents cannot hold the detail of 784 pixels. "
              "Give the autoencoder more latents (the budget allows 512).",
    "short": f"You stopped early: more epochs (up to {MAX_EPOCHS}) keep lowering the error at no cost "
             "to the budget.",
    "slow": "The loss still falls fast in the last epoch: the model is still learning when training "
            "stops. Raise the learning rate (try 2 to 3 times larger).",
    "near": "Close, but not below the target yet: try a wider code, and a learning rate a little "
            "higher or lower than yours (compare a few with `.trial`).",
}


def _report(values: dict, fvu: float) -> str:
    return (f"n_latent={values['n_latent']}, epochs={values['epochs']}, lr={values['lr']:g}: held-out FVU "
            f"{fvu:.3f} (to beat: {FVU_TO_BEAT:.2f})")


@goal(LESSON, reference=lambda: {"n_latent": 512, "epochs": 5, "lr": 2e-3}, verdicts=VERDICTS, mistakes=[
    Mistake(VERDICTS["diverged"], lambda: {"n_latent": 512, "epochs": 5, "lr": 0.1}),
    Mistake(VERDICTS["narrow"], lambda: {"n_latent": 32, "epochs": 5, "lr": 1e-2}),
    Mistake(VERDICTS["short"], lambda: {"n_latent": 512, "epochs": 1, "lr": 2e-3}),
    Mistake(VERDICTS["slow"], lambda: {"n_latent": 512, "epochs": 5, "lr": 1e-4}),
    Mistake(VERDICTS["near"], lambda: {"n_latent": 128, "epochs": 5, "lr": 2e-3}),
    Mistake(VERDICTS["budget"], lambda: {"n_latent": 4096, "epochs": 5, "lr": 1e-3}),
    Mistake(VERDICTS["keys"], lambda: {"n_latent": 512, "lr": 2e-3}),
    Mistake(VERDICTS["values"], lambda: {"n_latent": 512, "epochs": 5, "lr": "2e-3"}),
])
def check_autoencoder_settings(settings, model=models.TinyAutoencoder, step=train.train_step) -> Landing:
    """Train ``model(784, n_latent)`` with ``step`` on the settings; pass below the FVU to beat."""
    values, problem = read_settings(settings, KEYS, integers=("n_latent", "epochs"))
    if values is None:
        return Landing(problem, f"your settings: {settings!r}")
    if values["n_latent"] > MAX_LATENT or values["epochs"] > MAX_EPOCHS:
        return Landing("budget", f"your settings: n_latent={values['n_latent']}, epochs={values['epochs']}")
    X, X_eval = goal_data()
    torch.manual_seed(0)
    net = model(X.shape[1], values["n_latent"]).to(get_device())
    try:
        losses = train.train_with_step(net, X, step, epochs=values["epochs"], lr=values["lr"], batch_size=BATCH)
        with torch.no_grad():
            fvu = float(metrics.fraction_variance_unexplained(X_eval, net(X_eval)[0]))
    except train.TrainingDiverged:
        losses, fvu = [math.inf], math.inf
    report = _report(values, fvu)
    if fvu < FVU_TO_BEAT:
        return Landing(PASS, report + ": below the target.")
    if not math.isfinite(fvu) or fvu >= 1:
        return Landing("diverged", report)
    if values["n_latent"] < 64:
        return Landing("narrow", report)
    if values["epochs"] < MAX_EPOCHS:
        return Landing("short", report)
    if len(losses) > 1 and losses[-1] < 0.9 * losses[-2]:
        return Landing("slow", report + f"; the training loss fell {1 - losses[-1] / losses[-2]:.0%} in the last epoch")
    return Landing("near", report)


__all__ = ["check_autoencoder_settings"]
