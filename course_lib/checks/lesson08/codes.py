"""Lesson 08's checks on codes: ``batch_topk`` and the ``jumprelu`` autograd function.

``jumprelu`` is graded by its behaviour (:func:`_observe_jumprelu`): the output and the gradients
that reach ``h`` and ``threshold`` for a fixed upstream gradient, so a missing, misplaced or
mis-scaled straight-through estimate is named like any wrong value. One case compares the
threshold gradient with a finite difference of the smoothed JumpReLU (the jump spread over a
width eps), the function the estimator stands in for.
"""
from __future__ import annotations

import torch

from course_lib import saes, sparsity
from course_lib.device import get_device

from ..core import Case, Mistake, check, rand, with_grad

LESSON = "08"

# ---------------------------------------------------------------- batch_topk

_BAD_K_HINT = ("Your function accepts a k outside 1..n_latent. Check it first and raise a ValueError "
               "with a clear message, e.g. `if not 1 <= k <= z.shape[1]: raise ValueError(...)`.")


def _keep(z: torch.Tensor, total: int) -> torch.Tensor:
    flat = z.reshape(-1)
    values, indices = flat.topk(min(total, flat.numel()))
    return torch.zeros_like(flat).scatter(0, indices, values).reshape(z.shape)


def _per_column(z: torch.Tensor, k: int) -> torch.Tensor:
    values, indices = z.topk(min(k, z.shape[0]), dim=0)
    return torch.zeros_like(z).scatter(0, indices, values)


def _by_abs(z: torch.Tensor, k: int) -> torch.Tensor:
    flat = z.reshape(-1)
    indices = flat.abs().topk(k * z.shape[0]).indices
    return torch.zeros_like(flat).scatter(0, indices, flat[indices]).reshape(z.shape)


BATCH_TOPK_MISTAKES = [
    Mistake(_BAD_K_HINT, lambda z, k: _keep(z, k * z.shape[0])),
    Mistake("You kept the k largest entries of each row: that is TopK. BatchTopK ranks the whole "
            "batch at once: flatten z, keep its k * batch largest entries, reshape back "
            "(some rows then keep more than k, others fewer).",
            lambda z, k: sparsity.topk_activation(z, k)),
    Mistake("You kept only k entries in the whole batch. k is the *average* per row, so the batch "
            "keeps k * batch entries: `flat.topk(k * z.shape[0])`.",
            lambda z, k: _keep(z, k)),
    Mistake("You kept k * n_latent entries. The total is k times the number of *rows* (the batch "
            "size, `z.shape[0]`), not of columns.",
            lambda z, k: _keep(z, k * z.shape[1])),
    Mistake("You returned a mask of the kept positions. Return the kept *values* in place, zeros "
            "elsewhere: `torch.zeros_like(flat).scatter(0, indices, values)`.",
            lambda z, k: (_keep(z, k * z.shape[0]) != 0).to(z.dtype)),
    Mistake("You returned the kept values themselves, a flat tensor of k * batch numbers. Put them "
            "back at their positions in a tensor shaped like z (scatter, then reshape).",
            lambda z, k: z.reshape(-1).topk(k * z.shape[0]).values),
    Mistake("You ranked the entries by absolute value, so strongly negative ones survive. Keep the "
            "k * batch largest *values*.",
            _by_abs),
    Mistake("You took the top k of each column (over the batch, dim 0). BatchTopK ranks every "
            "entry of the batch together: flatten z first.",
            _per_column),
    Mistake("You applied a ReLU as well. `batch_topk` keeps the selected values as they are; the "
            "SAE applies its ReLU before, separately.",
            lambda z, k: torch.relu(_keep(z, k * z.shape[0]))),
]


def _uneven_rows(seed: int, **kw) -> torch.Tensor:
    z = rand(4, 10, seed=seed, low=0.0, high=1.0, **kw)
    return z * torch.tensor([[4.0], [1.0], [0.5], [0.1]], dtype=z.dtype, device=z.device)


def _batch_topk_cases(device: torch.device) -> list[Case]:
    return [
        Case("4 rows of different scales, 10 latents, k=2", lambda: (_uneven_rows(800), 2)),
        Case("batch of 6, 8 latents, k=3", lambda: (rand(6, 8, seed=801), 3)),
        Case("mostly negative values, batch of 5, k=2", lambda: (rand(5, 8, seed=802, low=-3.0, high=0.5), 2)),
        Case("batch of 1: the same as per-row top-k", lambda: (rand(1, 7, seed=803), 2)),
        Case("k = n_latent keeps everything", lambda: (rand(3, 5, seed=804), 5)),
        Case("float64, batch of 6, k=1", lambda: (rand(6, 9, seed=805, dtype=torch.float64), 1)),
        Case("code that requires grad, k=3", lambda: with_grad(_uneven_rows(806)) + (3,)),
        Case(f"512 x 512 code on {device}, k=16", lambda: (rand(512, 512, seed=807, device=device), 16)),
        Case("k = 0 (must raise ValueError)", lambda: (rand(2, 5, seed=808), 0), raises=ValueError,
             hint=_BAD_K_HINT),
        Case("k = 6 with only 5 latents (must raise ValueError)", lambda: (rand(2, 5, seed=809), 6),
             raises=ValueError, hint=_BAD_K_HINT),
    ]


@check(LESSON, reference=saes.batch_topk, mistakes=BATCH_TOPK_MISTAKES,
       grad_cases=("code that requires grad, k=3", "float64, batch of 6, k=1"))
def check_batch_topk():
    """Grade ``batch_topk(z, k)``: the k * batch largest entries of the whole batch kept as they are."""
    return _batch_topk_cases(get_device())


# ---------------------------------------------------------------- jumprelu

NO_GRAD = "no gradient"


def _observe_jumprelu(fn):
    """``fn`` as behaviour: its output and the gradients a fixed upstream gradient sends back."""
    def observed(h, threshold, bandwidth, upstream):
        h = h.detach().clone().requires_grad_(True)
        t = threshold.detach().clone().requires_grad_(True)
        out = fn(h, t, bandwidth)
        if not isinstance(out, torch.Tensor):
            return out
        report = {"output": out.detach()}
        if not out.requires_grad:
            report.update(grad_h=NO_GRAD, grad_threshold=NO_GRAD)
            return report
        grad_h, grad_t = torch.autograd.grad(out, (h, t), upstream.to(out.dtype), allow_unused=True)
        report["grad_h"] = NO_GRAD if grad_h is None else grad_h.detach()
        report["grad_threshold"] = NO_GRAD if grad_t is None else grad_t.detach()
        return report

    return observed


def _learner_function(forward, backward):
    """A learner-style ``jumprelu`` built from a forward and a backward rule."""
    class Learner(torch.autograd.Function):
        @staticmethod
        def forward(ctx, h, threshold, bandwidth):
            ctx.save_for_backward(h, threshold)
            ctx.bandwidth = bandwidth
            return forward(h, threshold)

        @staticmethod
        def backward(ctx, grad_out):
            h, threshold = ctx.saved_tensors
            grad_h, grad_t = backward(h, threshold, ctx.bandwidth, grad_out)
            return grad_h, grad_t, None

    return lambda h, threshold, bandwidth=0.05: Learner.apply(h, threshold, bandwidth)


def _values(h, t):
    return h * (h > t).to(h.dtype)


def _mask(h, t):
    return (h > t).to(h.dtype)


def _window(h, t, eps, half=0.5):
    return ((h - t).abs() / eps < half).to(h.dtype)


def _right_h(h, t, eps, g):
    return g * _mask(h, t)


def _estimate(h, t, eps, g, scale):
    return -(scale / eps) * _window(h, t, eps) * g


JUMPRELU_MISTAKES = [
    Mistake("No gradient reaches the threshold: `h * (h > threshold)` has zero derivative with respect "
            "to it. Write a `torch.autograd.Function` whose backward returns the straight-through "
            "estimate `-(threshold / eps) * K((h - threshold) / eps) * grad_out` for the threshold.",
            lambda h, t, eps=0.05: h * (h > t).to(h.dtype)),
    Mistake("The pseudo-gradient went to h instead of the threshold. h keeps its exact derivative "
            "`grad_out * (h > threshold)`; the kernel estimate is the threshold's gradient.",
            _learner_function(_values, lambda h, t, eps, g: (
                _right_h(h, t, eps, g) + _estimate(h, t, eps, g, t), None))),
    Mistake("You used the step's estimator, `-(1 / eps) K(...)`, for JumpReLU. Raising the threshold "
            "past h removes a value of size about theta, not 1: multiply by the threshold, "
            "`-(threshold / eps) * K((h - threshold) / eps)`.",
            _learner_function(_values, lambda h, t, eps, g: (
                _right_h(h, t, eps, g), _estimate(h, t, eps, g, torch.ones_like(t))))),
    Mistake("The threshold's gradient has the wrong sign. Raising the threshold switches values off "
            "(the output falls), so the estimate is negative: `-(threshold / eps) * K(...)`.",
            _learner_function(_values, lambda h, t, eps, g: (
                _right_h(h, t, eps, g), -_estimate(h, t, eps, g, t)))),
    Mistake("You forgot to divide the kernel by the bandwidth: the estimate is a density, "
            "`-(threshold / eps) * K((h - threshold) / eps)`.",
            _learner_function(_values, lambda h, t, eps, g: (
                _right_h(h, t, eps, g), -t * _window(h, t, eps) * g))),
    Mistake("Your kernel window is twice too wide. The rectangle kernel is 1 for |u| < 1/2, where "
            "u = (h - threshold) / eps: samples within eps/2 of the threshold count.",
            _learner_function(_values, lambda h, t, eps, g: (
                _right_h(h, t, eps, g), -(t / eps) * _window(h, t, eps, half=1.0) * g))),
    Mistake("The gradient with respect to h is passed straight through everywhere. Below the "
            "threshold the output is 0 whatever h does: h's gradient is `grad_out * (h > threshold)`.",
            _learner_function(_values, lambda h, t, eps, g: (g, _estimate(h, t, eps, g, t)))),
    Mistake("You scaled the estimate by h instead of the threshold. The paper's estimator is "
            "`-(threshold / eps) * K(...)`, the same for every sample inside the window.",
            _learner_function(_values, lambda h, t, eps, g: (
                _right_h(h, t, eps, g), -(h / eps) * _window(h, t, eps) * g))),
    Mistake("Your forward returns the 0/1 mask. JumpReLU returns the values above the threshold, "
            "`h * (h > threshold)`, and 0 below.",
            _learner_function(_mask, lambda h, t, eps, g: (
                torch.zeros_like(h), -(1 / eps) * _window(h, t, eps) * g))),
]


def _near(b, n, seed, *, theta=0.5, spread=0.3, eps=0.2, scalar=False, **kw):
    """Pre-activations around the thresholds, thresholds, bandwidth and an upstream gradient."""
    h = theta + rand(b, n, seed=seed, low=-spread, high=spread, **kw)
    t = torch.tensor(theta, **kw) if scalar else theta + rand(n, seed=seed + 1, low=-0.1, high=0.1, **kw)
    g = rand(b, n, seed=seed + 2, low=0.5, high=1.5, **kw)
    return h, t, eps, g


def _smoothed_case():
    """Many pre-activations close to one threshold, a narrow window, upstream gradient 1."""
    h = 1.0 + rand(4000, 3, seed=830, low=-0.1, high=0.1, dtype=torch.float64)
    t = torch.full((3,), 1.0, dtype=torch.float64)
    return h, t, 0.01, torch.ones_like(h)


def _matches_smoothed_jump(out, ref) -> bool:
    """The threshold gradient equals a finite difference of the smoothed JumpReLU (2%)."""
    h, t, eps, _ = _smoothed_case()

    def smoothed(theta):  # h * S((h - theta) / eps), S the CDF of the rectangle kernel
        return (h * ((h - theta) / eps + 0.5).clamp(0, 1)).sum(0)

    delta = 1e-4
    numeric = (smoothed(t + delta) - smoothed(t - delta)) / (2 * delta)
    got = out.get("grad_threshold") if isinstance(out, dict) else None
    return (isinstance(got, torch.Tensor) and got.shape == numeric.shape
            and bool(torch.allclose(got.double(), numeric, rtol=0.02))
            and bool(torch.allclose(out["output"].double(), ref["output"].double())))


@check(LESSON, reference=saes.jumprelu, mistakes=JUMPRELU_MISTAKES, returns="any",
       observe=_observe_jumprelu)
def check_jumprelu():
    """Grade ``jumprelu(h, threshold, bandwidth)``: forward and straight-through backward."""
    device = get_device()
    return [
        Case("8 x 5 pre-activations near per-latent thresholds, eps 0.2", lambda: _near(8, 5, seed=820)),
        Case("a single (0-d) threshold for every latent", lambda: _near(6, 4, seed=821, scalar=True)),
        Case("thresholds far from every value: no gradient reaches them",
             lambda: _near(5, 4, seed=822, theta=2.0, spread=0.2, eps=0.1)),
        Case("float64, wide window eps 0.5", lambda: _near(7, 3, seed=823, eps=0.5, dtype=torch.float64)),
        Case(f"256 x 128 on {device}", lambda: _near(256, 128, seed=824, device=device)),
        Case("finite difference of the smoothed JumpReLU (4000 values near theta = 1, eps 0.01)",
             _smoothed_case, compare=_matches_smoothed_jump),
    ]
