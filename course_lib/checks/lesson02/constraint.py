"""Lesson 02's build exercise: the training step that keeps the decoder's columns at unit norm.

``constrained_step(model, optimizer, x, lam) -> float``: the L1 sparse loss, ``backward``, the
decoder gradient without its component along each column, the optimizer's step, then every decoder
column rescaled to unit norm in the parameter itself. Graded by behaviour (``observe=``): the step
and the reference run twice on identical seeded models, and the report compares the losses, the
column norms, the gradient left on the decoder and every parameter afterwards. One case starts
from a fresh decoder whose columns are shorter than 1, as a real one's are.
"""
from __future__ import annotations

from typing import Callable

import torch

from course_lib import metrics, models, sparsity, train

from ..core import Case, Mistake, check, images
from ..observe import NA, stale_optimizer, step_twice

LESSON = "02"


def _observe_constrained(fn: Callable) -> Callable:
    def observe(x: torch.Tensor, n_latent: int, optimizer: str, lam: float, unit: bool) -> dict:
        model = models.Autoencoder(x.shape[1], n_latent, unit_norm_decoder=unit, seed=5)
        params = list(model.parameters())
        opt = stale_optimizer(params, optimizer, sgd_lr=0.1, adam_lr=0.02)
        report: dict = {"returns": NA, "losses of two calls": NA, "decoder column norms after": NA,
                        "decoder gradient after": NA, "parameters after two calls": NA}
        if step_twice(lambda: fn(model, opt, x, lam), params, report) is None:
            return report
        W = model.decoder.weight.detach()
        report["decoder column norms after"] = W.norm(dim=0).clone()
        grad = model.decoder.weight.grad
        report["decoder gradient after"] = grad.detach().clone() if grad is not None else "none"
        return report

    return observe


def _project_rows(W, G):
    return G - W * (W * G).sum(1, keepdim=True) / W.pow(2).sum(1, keepdim=True).clamp_min(1e-16)


def _project_unit(W, G):  # assumes unit columns: right only once they are
    return G - W * (W * G).sum(0, keepdim=True)


def _step_as_written(model, optimizer, x, lam, *, project="columns", when="before step", renorm="columns",
                     l1=True):
    """The step as a learner writes it; each catalogued mistake below changes one part."""
    x_hat, z = model(x)
    loss = metrics.reconstruction_error(x, x_hat) + (sparsity.l1_penalty(z, lam) if l1 else 0.0)
    optimizer.zero_grad()
    loss.backward()
    W = model.decoder.weight
    projections = {"columns": sparsity.project_decoder_grad, "rows": _project_rows, "unit": _project_unit}
    if project in projections and when == "before step":
        W.grad.copy_(projections[project](W.detach(), W.grad))
    if renorm == "before the step":
        with torch.no_grad():
            W.copy_(sparsity.renormalize_columns(W))
    optimizer.step()
    if project in projections and when == "after step":
        W.grad.copy_(projections[project](W.detach(), W.grad))
    if renorm == "in place with autograd on":
        W.div_(W.norm(dim=0, keepdim=True))
    with torch.no_grad():
        if renorm == "columns":
            W.copy_(sparsity.renormalize_columns(W))
        elif renorm == "rows":
            W.copy_(W / W.norm(dim=1, keepdim=True).clamp_min(1e-8))
        elif renorm == "only long columns":
            W.copy_(W / W.norm(dim=0, keepdim=True).clamp_min(1.0))
    return loss.item()


def _mistake(**how) -> Callable:
    return lambda model, optimizer, x, lam: _step_as_written(model, optimizer, x, lam, **how)


CONSTRAINED_STEP_MISTAKES = [
    Mistake("Your step raised an error when it rescaled the decoder weight in place: an in-place "
            "edit of a parameter needs autograd off. Wrap it in `with torch.no_grad():` and write "
            "`W.copy_(renormalize_columns(W))`.", _mistake(renorm="in place with autograd on")),
    Mistake("The decoder columns do not have unit norm after your step: rescale them after "
            "`optimizer.step()`, and write the result into the parameter "
            "(`with torch.no_grad(): W.copy_(...)`); `W = renormalize_columns(W)` only gives a "
            "local name a new tensor.", _mistake(renorm="none")),
    Mistake("You rescaled the decoder before `optimizer.step()`: the step then moves the columns "
            "off unit norm again. Renormalise after the step.", _mistake(renorm="before the step")),
    Mistake("You rescaled the rows of the decoder weight (`dim=1`). Its shape is (n_in, n_latent): "
            "each column is one latent's image, so normalise with `W.norm(dim=0, keepdim=True)`.",
            _mistake(renorm="rows")),
    Mistake("Only the columns longer than 1 were shrunk (a `clamp_min(1.0)` on the norms): columns "
            "shorter than 1, as a fresh decoder has, must grow to unit norm too.",
            _mistake(renorm="only long columns")),
    Mistake("The gradient left on the decoder still has its component along each column: after "
            "`loss.backward()` and before `optimizer.step()`, replace `W.grad` by "
            "`g_j - (w_j . g_j / ||w_j||^2) w_j` for every column j, in place "
            "(`W.grad.copy_(...)`, or `W.grad -= ...`); a new local tensor changes nothing.",
            _mistake(project="none")),
    Mistake("You removed the gradient's component after `optimizer.step()`: the step has already "
            "used the full gradient. Project between `loss.backward()` and `optimizer.step()`.",
            _mistake(when="after step")),
    Mistake("You projected the gradient's rows (sums over `dim=1`): remove from each column of "
            "`W.grad` its component along the same column of `W` (sums over `dim=0`).",
            _mistake(project="rows")),
    Mistake("Your projection assumes unit columns (`g_j - (w_j . g_j) w_j`), which they are not "
            "before the first renormalisation: divide by `||w_j||^2`, "
            "`g_j - (w_j . g_j / ||w_j||^2) w_j`.", _mistake(project="unit")),
    Mistake("Your loss has no L1 penalty: the step minimises `sparsity.sparse_loss(x, x_hat, z, lam)`, "
            "the reconstruction error plus `lam * |z|` summed over the latents.", _mistake(l1=False)),
]


@check(LESSON, reference=train.constrained_step, mistakes=CONSTRAINED_STEP_MISTAKES, returns="any",
       observe=_observe_constrained, rtol=1e-4, atol=1e-6,
       mismatch_hint="sparse loss, `zero_grad`, `backward`, project `W.grad`, `optimizer.step()`, "
                     "renormalise the columns of `W` under `torch.no_grad()`, return `loss.item()`.")
def check_constrained_step():
    """Grade ``constrained_step(model, optimizer, x, lam)``, called twice on a seeded model."""
    return [
        Case("SGD, unit-norm decoder, 8 pixels, 6 latents, lam=0.1",
             lambda: (images(5, 8, seed=70), 6, "SGD", 0.1, True)),
        Case("Adam, unit-norm decoder, 8 pixels, 12 latents, lam=0.05",
             lambda: (images(4, 8, seed=71), 12, "Adam", 0.05, True)),
        Case("Adam, a fresh decoder (columns shorter than 1), lam=0.1",
             lambda: (images(6, 10, seed=72), 16, "Adam", 0.1, False)),
    ]


__all__ = ["check_constrained_step"]
