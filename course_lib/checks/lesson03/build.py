"""Lesson 03's build exercise: the KL autoencoder's loss, assembled in a training step.

``kl_step(model, optimizer, x, rho, beta) -> float``: ``x_hat, a = model(x)`` (``a`` a sigmoid
code), the loss ``reconstruction_error(x, x_hat) + beta * sum_j KL(rho || rho_hat_j)`` with
``rho_hat = a.mean(0)`` (clamped into (eps, 1 - eps)), then one optimisation step. Graded by
behaviour (``observe=``): the step and the reference run twice on identical seeded sigmoid
autoencoders; the report compares the losses and every parameter afterwards.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from course_lib import metrics, models, sparsity, train

from ..core import Case, Mistake, check, images
from ..observe import NA, stale_optimizer, step_twice

LESSON = "03"


def _observe_kl_step(fn: Callable) -> Callable:
    def observe(x: torch.Tensor, n_latent: int, optimizer: str, rho: float, beta: float) -> dict:
        model = models.Autoencoder(x.shape[1], n_latent, "sigmoid", seed=4)
        params = list(model.parameters())
        opt = stale_optimizer(params, optimizer, sgd_lr=0.1, adam_lr=0.01)
        report: dict = {"returns": NA, "losses of two calls": NA, "parameters after two calls": NA}
        step_twice(lambda: fn(model, opt, x, rho, beta), params, report)
        return report

    return observe


def _kl_step_as_written(model, optimizer, x, rho, beta, *, recon=metrics.reconstruction_error,
                        rate="batch", kl=sparsity.kl_divergence, reduce="sum", beta_on="penalty",
                        detach=False, sigmoid_again=False, eps=1e-6):
    """The step as a learner writes it; each catalogued mistake below changes one part."""
    x_hat, a = model(x)
    if sigmoid_again:
        a = torch.sigmoid(a)
    rho_hat = {"batch": lambda: a.mean(0), "units": lambda: a.mean(1), "each": lambda: a}[rate]()
    if detach:
        rho_hat = rho_hat.detach()
    divergence = kl(rho, rho_hat.clamp(eps, 1 - eps))
    if rate == "each":
        divergence = divergence.mean(0)
    penalty = divergence.sum() if reduce == "sum" else divergence.mean()
    error = recon(x_hat, x)
    loss = {"penalty": error + beta * penalty, "none": error + penalty, "both": beta * (error + penalty)}[beta_on]
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def _mistake(**how) -> Callable:
    return lambda model, optimizer, x, rho, beta: _kl_step_as_written(model, optimizer, x, rho, beta, **how)


KL_STEP_MISTAKES = [
    Mistake("You swapped the KL's arguments: the penalty is KL(rho || rho_hat), the target first "
            "(`sparsity.kl_divergence(rho, rho_hat)`).", _mistake(kl=sparsity.kl_divergence_swapped)),
    Mistake("Your rho_hat averages over the latents (`dim=1`): it is each latent's mean activation "
            "over the batch, `a.mean(0)`, one value per latent.", _mistake(rate="units")),
    Mistake("You took the KL of every single activation and then averaged: first average over the "
            "batch (`rho_hat = a.mean(0)`), then take the KL of that mean.", _mistake(rate="each")),
    Mistake("You averaged the KL over the latents; the penalty sums it, `beta * kl.sum()`, so each "
            "latent off target costs the same however many there are.", _mistake(reduce="mean")),
    Mistake("Your loss has no beta: the penalty is `beta * sum_j KL(rho || rho_hat_j)`.",
            _mistake(beta_on="none")),
    Mistake("You multiplied the reconstruction error by beta too; beta weighs only the penalty.",
            _mistake(beta_on="both")),
    Mistake("No gradient flows through your penalty: rho_hat was detached (`.detach()`, `.item()` "
            "or `.data`), so the loss says the code is off target but the step cannot move it.",
            _mistake(detach=True)),
    Mistake("You applied a sigmoid to the code again: `model(x)` already returns the sigmoid "
            "activations `a` in (0, 1).", _mistake(sigmoid_again=True)),
    Mistake("Your reconstruction term averages over the pixels (`F.mse_loss`); use "
            "`metrics.reconstruction_error(x, x_hat)`, summed over pixels, averaged over the batch.",
            _mistake(recon=F.mse_loss)),
]


@check(LESSON, reference=train.kl_step, mistakes=KL_STEP_MISTAKES, returns="any",
       observe=_observe_kl_step, rtol=1e-4, atol=1e-6,
       mismatch_hint="`x_hat, a = model(x)`; loss = reconstruction error + beta * sum of "
                     "KL(rho || a.mean(0)); `zero_grad`, `backward`, `step`; return `loss.item()`.")
def check_kl_step():
    """Grade ``kl_step(model, optimizer, x, rho, beta)``, called twice on a seeded sigmoid autoencoder."""
    return [
        Case("SGD, 8 pixels, 6 latents, rho=0.1, beta=0.5",
             lambda: (images(5, 8, seed=80), 6, "SGD", 0.1, 0.5)),
        Case("Adam, 10 latents, rho=0.05, beta=2", lambda: (images(4, 8, seed=81), 10, "Adam", 0.05, 2.0)),
        Case("SGD, batch of 3, rho=0.3, beta=3", lambda: (images(3, 12, seed=82), 5, "SGD", 0.3, 3.0)),
    ]


__all__ = ["check_kl_step"]
