"""Checks for lesson 05, K-sparse autoencoders and the biological analogy.

Graded functions (the learner writes them in ``solutions/05_ksparse_and_biology.ipynb``):

* ``topk_activation(z, k)``: keep the k largest entries of each row of z (values as they are),
  zero the rest; ``ValueError`` when k is not an integer in 1..n_latent.
* ``dead_latents(last_fired, step, window)``: bool mask of the latents silent for at least
  ``window`` training samples, ``step - last_fired >= window``.
* ``auxk_loss(residual, pre_act, dead, decoder_weight, k_aux)``: the normalised error of
  reconstructing the residual from the top-``k_aux`` dead latents (0 when none is dead).
* ``energy_in_best_window(filters, size)``: the largest fraction of each filter's energy inside
  one ``size`` x ``size`` window.

References: :func:`course_lib.sparsity.topk_activation`, :func:`course_lib.topk.dead_latents`,
:func:`course_lib.topk.auxk_loss`, :func:`course_lib.natural.energy_in_best_window`.
"""
from __future__ import annotations

import torch

from course_lib import natural, sparsity, topk
from course_lib.device import get_device

from ..core import Case, Mistake, check, rand, with_grad

LESSON = "05"


# ---------------------------------------------------------------- topk_activation
#
# The check also asks for a ValueError when k is outside 1..n_latent: two cases expect it.

_BAD_K_HINT = ("Your function accepts a k outside 1..n_latent. Check it first and raise a ValueError "
               "with a clear message, e.g. `if not 1 <= k <= z.shape[-1]: raise ValueError(...)`.")


def _scatter_top(z: torch.Tensor, k: int, dim: int = -1) -> torch.Tensor:
    """Top-k without validation (torch.topk accepts k = 0)."""
    values, indices = z.topk(k, dim=dim)
    return torch.zeros_like(z).scatter(dim, indices, values)


def _topk_by_abs(z: torch.Tensor, k: int) -> torch.Tensor:
    indices = z.abs().topk(k, dim=-1).indices
    return torch.zeros_like(z).scatter(-1, indices, z.gather(-1, indices))


def _topk_mask(z: torch.Tensor, k: int) -> torch.Tensor:
    return torch.zeros_like(z).scatter(-1, z.topk(k, dim=-1).indices, 1.0)


TOPK_MISTAKES = [
    # First: on valid k it is right, so it can only match a function that does not check k.
    Mistake(_BAD_K_HINT, _scatter_top),
    Mistake("You kept the k largest values of each *column* (over the batch, dim 0). Top-K works "
            "per sample: take the k largest entries of each row, `z.topk(k, dim=-1)`.",
            lambda z, k: _scatter_top(z, k, dim=0)),
    Mistake("You kept the k entries of largest absolute value, so strongly negative entries survive. "
            "Top-K keeps the k largest *values*: `z.topk(k, dim=-1)` on z itself, not on `z.abs()`.",
            _topk_by_abs),
    Mistake("You kept k + 1 entries per row: check the off-by-one (exactly k must survive).",
            lambda z, k: _scatter_top(z, min(k + 1, z.shape[-1]))),
    Mistake("You kept k - 1 entries per row: check the off-by-one (exactly k must survive; with a "
            "strict `>` against the k-th largest value the k-th entry itself is lost).",
            lambda z, k: _scatter_top(z, k - 1)),
    Mistake("You returned the indices of the top k entries. Return a tensor shaped like z with "
            "the kept values in place and zeros elsewhere, e.g. "
            "`torch.zeros_like(z).scatter(-1, indices, values)`.",
            lambda z, k: z.topk(k, dim=-1).indices),
    Mistake("You returned the k largest values themselves, shape (batch, k). Put them back at their "
            "positions in a tensor shaped like z: `torch.zeros_like(z).scatter(-1, indices, values)`.",
            lambda z, k: z.topk(k, dim=-1).values),
    Mistake("You returned a mask of the kept positions (0/1 or True/False). Return the kept "
            "*values*: e.g. `z * mask` or `torch.where(mask, z, torch.zeros_like(z))`.",
            _topk_mask),
    Mistake("You applied a ReLU as well, so kept negative entries became 0. `topk_activation` keeps "
            "the k largest values as they are, negative or not; the autoencoder applies its ReLU "
            "afterwards, separately.",
            lambda z, k: torch.relu(_scatter_top(z, k))),
    Mistake("You kept the k *smallest* entries: `topk` needs `largest=True` (its default), or sort "
            "in descending order.",
            lambda z, k: torch.zeros_like(z).scatter(
                -1, z.topk(k, dim=-1, largest=False).indices, z.topk(k, dim=-1, largest=False).values)),
]

_BAD_K_NOTE = "must raise ValueError"


def _topk_cases(device: torch.device) -> list[Case]:
    return [
        Case("batch of 4, 10 latents, k=3", lambda: (rand(4, 10, seed=500), 3)),
        Case("mostly negative pre-activations, batch of 5, k=3",
             lambda: (rand(5, 8, seed=501, low=-3.0, high=0.5), 3)),
        Case("batch of 1, k=1", lambda: (rand(1, 7, seed=502), 1)),
        Case("k = n_latent keeps everything", lambda: (rand(3, 6, seed=503), 6)),
        Case("all-zero code, k=2", lambda: (torch.zeros(3, 5), 2)),
        Case("float64, batch of 6, k=2", lambda: (rand(6, 9, seed=504, dtype=torch.float64), 2)),
        Case("code that requires grad, k=4", lambda: with_grad(rand(5, 12, seed=505)) + (4,)),
        Case(f"256 x 1024 code on {device}, k=32", lambda: (rand(256, 1024, seed=506, device=device), 32)),
        Case(f"k = 0 ({_BAD_K_NOTE})", lambda: (rand(2, 5, seed=507), 0), raises=ValueError, hint=_BAD_K_HINT),
        Case(f"k = 6 with only 5 latents ({_BAD_K_NOTE})", lambda: (rand(2, 5, seed=508), 6), raises=ValueError,
             hint=_BAD_K_HINT),
    ]


@check(LESSON, reference=sparsity.topk_activation, mistakes=TOPK_MISTAKES,
       grad_cases=("code that requires grad, k=4", "float64, batch of 6, k=2"))
def check_topk_activation():
    """Grade ``topk_activation(z, k)``: the k largest entries of each row kept, the rest zeroed,
    and a ValueError for k outside 1..n_latent."""
    return _topk_cases(get_device())


# ---------------------------------------------------------------- dead_latents


def _same_mask(out, ref) -> bool:
    """Exact match including dtype: a float or int mask does not index like a bool mask."""
    return (isinstance(out, torch.Tensor) and isinstance(ref, torch.Tensor) and out.dtype == ref.dtype
            and out.shape == ref.shape and torch.equal(out, ref))


DEAD_MISTAKES = [
    Mistake("Off by one: a latent silent for exactly `window` samples counts as dead. Use "
            "`step - last_fired >= window`, not `>`.",
            lambda lf, step, window: (step - lf) > window),
    Mistake("You marked the latents that are *alive* (fired recently). Dead means silent for at "
            "least `window` samples: `step - last_fired >= window`.",
            lambda lf, step, window: (step - lf) < window),
    Mistake("You returned the indices of the dead latents. Return a bool mask of shape (n_latent,), "
            "True for dead latents: it can index, count (`.sum()`) and combine with `~`.",
            lambda lf, step, window: ((step - lf) >= window).nonzero().squeeze(-1)),
    Mistake("You returned the number of dead latents. Return the bool mask itself, one entry per "
            "latent.",
            lambda lf, step, window: ((step - lf) >= window).sum()),
    Mistake("You returned the fraction of dead latents. Return the bool mask itself, one entry per "
            "latent.",
            lambda lf, step, window: ((step - lf) >= window).float().mean()),
    Mistake("You returned a float 0/1 mask. Return a bool mask (a comparison gives one directly): "
            "`~mask` and `x[:, mask]` only work as intended with bools.",
            lambda lf, step, window: ((step - lf) >= window).float()),
    Mistake("You returned an integer 0/1 mask. Return a bool mask (a comparison gives one directly): "
            "`~mask` and `x[:, mask]` only work as intended with bools.",
            lambda lf, step, window: ((step - lf) >= window).long()),
    Mistake("You compared `last_fired` with `window` directly. The time since a latent last fired "
            "is `step - last_fired`; dead means that gap is at least `window`.",
            lambda lf, step, window: lf <= window),
    Mistake("You marked only latents that never fired (`last_fired == 0`). A latent that fired "
            "long ago and then stopped is dead too: use the gap `step - last_fired`.",
            lambda lf, step, window: lf == 0),
]


def _last_fired(values, **kw) -> torch.Tensor:
    return torch.tensor(values, dtype=kw.pop("dtype", torch.long), **kw)


@check(LESSON, reference=topk.dead_latents, mistakes=DEAD_MISTAKES, returns="tensor", compare=_same_mask)
def check_dead_latents():
    """Grade ``dead_latents(last_fired, step, window)``: bool mask ``step - last_fired >= window``."""
    device = get_device()

    def many_on_device():
        gen = torch.Generator().manual_seed(510)
        return torch.randint(0, 60_000, (1024,), generator=gen).to(device), 60_000, 5_000

    cases = [
        Case("8 latents at step 3000, window 2000 (one silent for exactly 2000)",
             lambda: (_last_fired([0, 100, 1000, 1500, 2000, 2999, 3000, 800]), 3000, 2000)),
        Case("start of training: nothing fired yet, step 512 < window 2000",
             lambda: (torch.zeros(6, dtype=torch.long), 512, 2000)),
        Case("nothing fired yet and step = window: all dead",
             lambda: (torch.zeros(5, dtype=torch.long), 2000, 2000)),
        Case("a single latent that fired long ago", lambda: (_last_fired([256]), 10_000, 4096)),
        Case("window of 1 sample", lambda: (_last_fired([7, 8, 9, 10]), 10, 1)),
        Case("last_fired stored as float64",
             lambda: (_last_fired([0.0, 4096.0, 6144.0, 9000.0], dtype=torch.float64), 10_240, 4096)),
        Case(f"1024 latents on {device}, step 60000, window 5000", many_on_device),
    ]
    return cases


# ---------------------------------------------------------------- auxk_loss


def _aux_code(residual, pre_act, dead, W, k_aux, *, use, relu=True):
    """The auxiliary reconstruction from the top-k_aux entries of ``pre_act`` where ``use``."""
    n = int(use.sum())
    if n == 0:
        return torch.zeros_like(residual)
    values, idx = pre_act.masked_fill(~use, float("-inf")).topk(min(k_aux, n), dim=-1)
    values = torch.relu(values) if relu else values
    return torch.zeros_like(pre_act).scatter(-1, idx, values) @ W.t()


def _ratio(residual, e_hat):
    return (residual - e_hat).pow(2).sum() / residual.pow(2).sum()


def _aux_ignore_mask(residual, pre_act, dead, W, k_aux):
    every = torch.ones_like(dead)
    if not bool(dead.any()):
        return residual.new_zeros(())
    return _ratio(residual, _aux_code(residual, pre_act, every, W, k_aux, use=every))


def _aux_alive(residual, pre_act, dead, W, k_aux):
    if not bool(dead.any()):
        return residual.new_zeros(())
    return _ratio(residual, _aux_code(residual, pre_act, dead, W, k_aux, use=~dead))


def _aux_no_relu(residual, pre_act, dead, W, k_aux):
    if not bool(dead.any()):
        return residual.new_zeros(())
    return _ratio(residual, _aux_code(residual, pre_act, dead, W, k_aux, use=dead, relu=False))


def _aux_unnormalised(residual, pre_act, dead, W, k_aux):
    if not bool(dead.any()):
        return residual.new_zeros(())
    return (residual - _aux_code(residual, pre_act, dead, W, k_aux, use=dead)).pow(2).sum()


def _aux_mse(residual, pre_act, dead, W, k_aux):
    if not bool(dead.any()):
        return residual.new_zeros(())
    return (residual - _aux_code(residual, pre_act, dead, W, k_aux, use=dead)).pow(2).mean()


def _aux_per_sample(residual, pre_act, dead, W, k_aux):
    if not bool(dead.any()):
        return residual.new_zeros(())
    err = (residual - _aux_code(residual, pre_act, dead, W, k_aux, use=dead)).pow(2).sum(-1)
    return (err / residual.pow(2).sum(-1)).mean()


def _aux_one_when_none_dead(residual, pre_act, dead, W, k_aux):
    return _ratio(residual, _aux_code(residual, pre_act, dead, W, k_aux, use=dead))


AUXK_MISTAKES = [
    Mistake("You took the top k_aux over *all* latents. AuxK only uses the dead ones: hide the live "
            "latents first, e.g. `pre_act.masked_fill(~dead, float('-inf'))`, then take the top k_aux.",
            _aux_ignore_mask),
    Mistake("You used the live latents (`~dead`) instead of the dead ones: the point of AuxK is to "
            "give the *dead* latents a gradient.",
            _aux_alive),
    Mistake("You forgot the ReLU on the selected pre-activations: like the main code, the auxiliary "
            "code is non-negative, so negative pre-activations contribute 0.",
            _aux_no_relu),
    Mistake("You returned the summed squared error without normalising it: divide by "
            "`residual.pow(2).sum()` so that 1 means 'the dead latents explain nothing'.",
            _aux_unnormalised),
    Mistake("You returned the mean squared error. The AuxK loss is normalised by the residual's "
            "energy: `sum((residual - e_hat)**2) / sum(residual**2)` over the whole batch.",
            _aux_mse),
    Mistake("You normalised each sample separately and averaged the ratios. Normalise once over the "
            "whole batch: `sum((residual - e_hat)**2) / sum(residual**2)` (a sample whose residual "
            "is almost 0 would otherwise dominate).",
            _aux_per_sample),
    Mistake("With no dead latent the loss must be exactly 0 (there is nothing to revive); yours "
            "returns 1. Return `residual.new_zeros(())` when `dead.sum() == 0`.",
            _aux_one_when_none_dead),
]


def _aux_args(b, d, h, n_dead, k_aux, seed, *, low=-1.0, high=1.0, grad=False, **kw):
    residual = rand(b, d, seed=seed, **kw)
    pre_act = rand(b, h, seed=seed + 1, low=low, high=high, **kw)
    dead = torch.zeros(h, dtype=torch.bool, device=kw.get("device", "cpu"))
    gen = torch.Generator().manual_seed(seed + 2)
    dead[torch.randperm(h, generator=gen)[:n_dead].to(dead.device)] = True
    W = rand(d, h, seed=seed + 3, **kw)
    W = W / W.norm(dim=0, keepdim=True)
    if grad:
        pre_act, W = with_grad(pre_act, W)
    return residual, pre_act, dead, W, k_aux


@check(LESSON, reference=topk.auxk_loss, mistakes=AUXK_MISTAKES, returns="number",
       grad_cases=("float64, k_aux=2", "pre-activations and decoder that require grad, k_aux=3"))
def check_auxk_loss():
    """Grade ``auxk_loss(residual, pre_act, dead, decoder_weight, k_aux)``."""
    device = get_device()
    cases = [
        Case("batch of 4, 5 pixels, 6 latents of which 3 dead, k_aux=2",
             lambda: _aux_args(4, 5, 6, 3, 2, seed=520)),
        Case("k_aux=8 but only 3 dead latents (use them all)", lambda: _aux_args(4, 5, 6, 3, 8, seed=524)),
        Case("no dead latent: the loss is 0", lambda: _aux_args(3, 5, 6, 0, 2, seed=528)),
        Case("every latent dead, k_aux=3", lambda: _aux_args(4, 5, 6, 6, 3, seed=532)),
        Case("dead latents with mostly negative pre-activations, k_aux=3",
             lambda: _aux_args(5, 6, 8, 5, 3, seed=536, low=-2.0, high=0.5)),
        Case("batch of 1, k_aux=2", lambda: _aux_args(1, 7, 9, 4, 2, seed=540)),
        Case("all-zero pre-activations", lambda: _aux_args(3, 5, 6, 3, 2, seed=544, low=0.0, high=0.0)),
        Case("float64, k_aux=2", lambda: _aux_args(4, 6, 10, 5, 2, seed=548, dtype=torch.float64, grad=True)),
        Case("pre-activations and decoder that require grad, k_aux=3",
             lambda: _aux_args(6, 8, 12, 7, 3, seed=552, grad=True)),
        Case(f"batch of 64, 784 pixels, 256 latents (40 dead) on {device}, k_aux=16",
             lambda: _aux_args(64, 784, 256, 40, 16, seed=556, device=device)),
    ]
    return cases


# ---------------------------------------------------------------- energy_in_best_window


def _window_sums(values: torch.Tensor, size: int, stride: int = 1) -> torch.Tensor:
    return values.unfold(-2, size, stride).unfold(-2, size, stride).sum((-1, -2))


def _total(filters: torch.Tensor) -> torch.Tensor:
    return filters.pow(2).sum((-1, -2)).clamp_min(1e-12)


WINDOW_MISTAKES = [
    Mistake("You measured |w| instead of the energy w**2. Energy is the sum of *squared* weights, "
            "both in the window and in the total.",
            lambda f, s: _window_sums(f.abs(), s).amax((-1, -2)) / f.abs().sum((-1, -2)).clamp_min(1e-12)),
    Mistake("You only tried non-overlapping windows (stride = size). The best window can start at "
            "any pixel: slide it one pixel at a time (stride 1).",
            lambda f, s: _window_sums(f.pow(2), s, s).amax((-1, -2)) / _total(f)),
    Mistake("You averaged the energy inside the window instead of summing it (e.g. `avg_pool2d` "
            "without multiplying by size**2). The fraction is window *sum* / total energy.",
            lambda f, s: _window_sums(f.pow(2), s).amax((-1, -2)) / s**2 / _total(f)),
    Mistake("You returned the window's energy itself. Divide by the filter's total energy "
            "`(filters**2).sum((-1, -2))` to get a fraction between 0 and 1.",
            lambda f, s: _window_sums(f.pow(2), s).amax((-1, -2))),
    Mistake("You squared the window's sum of weights, `(sum w)**2`, where positive and negative "
            "weights cancel. Energy is the sum of squares: `sum(w**2)`.",
            lambda f, s: _window_sums(f, s).pow(2).amax((-1, -2)) / _total(f)),
    Mistake("You divided by the energy of *all* filters together. Normalise each filter by its own "
            "total energy: `(filters**2).sum((-1, -2))`, one value per filter.",
            lambda f, s: _window_sums(f.pow(2), s).amax((-1, -2)) / f.pow(2).sum().clamp_min(1e-12)),
    Mistake("You only looked at the centre window. The filter's energy may sit anywhere: take the "
            "best (largest) window over all positions.",
            lambda f, s: _window_sums(f.pow(2), s)[..., (f.shape[-2] - s) // 2, (f.shape[-1] - s) // 2]
            / _total(f)),
    Mistake("You averaged over the window positions instead of taking the best one: use `amax` over "
            "the positions.",
            lambda f, s: _window_sums(f.pow(2), s).mean((-1, -2)) / _total(f)),
]


@check(LESSON, reference=natural.energy_in_best_window, mistakes=WINDOW_MISTAKES,
       grad_cases=("filters that require grad, window 3", "float64, window 2"))
def check_energy_in_best_window():
    """Grade ``energy_in_best_window(filters, size)``: (N, h, w) -> (N,)."""
    device = get_device()

    def with_zero_filter():
        f = rand(3, 6, 6, seed=564)
        f[1] = 0.0
        return f, 3

    def blob_and_grating():
        yy, xx = torch.meshgrid(torch.arange(12.0), torch.arange(12.0), indexing="ij")
        blob = torch.exp(-((yy - 3) ** 2 + (xx - 8) ** 2) / 4.0)
        grating = torch.cos(2 * torch.pi * xx / 4.0)
        return torch.stack([blob, grating]), 6

    cases = [
        Case("3 random 8 x 8 filters, window 4", lambda: (rand(3, 8, 8, seed=560), 4)),
        Case("a localised blob and a global grating, 12 x 12, window 6", blob_and_grating),
        Case("a single filter (batch of 1), window 3", lambda: (rand(1, 7, 7, seed=561), 3)),
        Case("non-square 6 x 10 filters, window 4", lambda: (rand(4, 6, 10, seed=562), 4)),
        Case("window as large as the filter: fraction 1", lambda: (rand(2, 5, 5, seed=563), 5)),
        Case("an all-zero filter scores 0", with_zero_filter),
        Case("float64, window 2", lambda: (rand(3, 6, 6, seed=565, dtype=torch.float64), 2)),
        Case("filters that require grad, window 3", lambda: with_grad(rand(4, 7, 7, seed=566)) + (3,)),
        Case(f"256 12 x 12 filters on {device}, window 6",
             lambda: (rand(256, 12, 12, seed=567, device=device), 6)),
    ]
    return cases


__all__ = ["check_topk_activation", "check_dead_latents", "check_auxk_loss", "check_energy_in_best_window"]
