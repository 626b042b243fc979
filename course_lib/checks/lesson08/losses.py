"""Lesson 08's checks on losses and scores: ``matryoshka_loss`` and ``loss_recovered``."""
from __future__ import annotations

import torch

from course_lib import evaluation, saes
from course_lib.device import get_device
from course_lib.metrics import reconstruction_error

from ..core import Case, Mistake, check, rand, with_grad
from .codes import LESSON

# ---------------------------------------------------------------- matryoshka_loss


def _prefix_errors(x, z, W, b, prefixes, *, bias=True, suffix=False, drop_last=False):
    terms = []
    for m in prefixes:
        cols = slice(z.shape[1] - m, None) if suffix else slice(0, m - 1 if drop_last else m)
        recon = z[:, cols] @ W[:, cols].t() + (b if bias else 0)
        terms.append(reconstruction_error(x, recon))
    return torch.stack(terms)


MATRYOSHKA_MISTAKES = [
    Mistake("You summed the prefix losses. Average them: `torch.stack(terms).mean()`, so the "
            "loss's scale does not grow with the number of prefixes.",
            lambda x, z, W, b, p: _prefix_errors(x, z, W, b, p).sum()),
    Mistake("You only used the largest prefix, i.e. the plain reconstruction error. Every prefix "
            "must reconstruct on its own: one term per size m, averaged.",
            lambda x, z, W, b, p: _prefix_errors(x, z, W, b, p[-1:]).mean()),
    Mistake("You left out the decoder bias in the prefix reconstructions: each one is "
            "`z[:, :m] @ W[:, :m].T + b_dec`.",
            lambda x, z, W, b, p: _prefix_errors(x, z, W, b, p, bias=False).mean()),
    Mistake("You used the *last* m latents. A prefix is the first m: `z[:, :m]` and `W[:, :m]`.",
            lambda x, z, W, b, p: _prefix_errors(x, z, W, b, p, suffix=True).mean()),
    Mistake("Off by one: the prefix of size m holds latents 0..m-1, i.e. `z[:, :m]` (m latents), "
            "not `z[:, :m-1]`.",
            lambda x, z, W, b, p: _prefix_errors(x, z, W, b, p, drop_last=True).mean()),
    Mistake("You averaged the squared error over features too (an MSE). The course's "
            "reconstruction error sums over features and averages over the batch: "
            "`(x - x_hat).pow(2).sum(-1).mean()`.",
            lambda x, z, W, b, p: torch.stack([(x - (z[:, :m] @ W[:, :m].t() + b)).pow(2).mean()
                                               for m in p]).mean()),
]


def _matryoshka_args(b, d, n, prefixes, seed, grad=False, **kw):
    x = rand(b, d, seed=seed, **kw)
    z = rand(b, n, seed=seed + 1, low=0.0, high=1.0, **kw)
    W = rand(d, n, seed=seed + 2, **kw)
    bias = rand(d, seed=seed + 3, **kw)
    if grad:
        z, W, bias = with_grad(z, W, bias)
    return x, z, W, bias, prefixes


@check(LESSON, reference=saes.matryoshka_loss, mistakes=MATRYOSHKA_MISTAKES, returns="number",
       grad_cases=("codes, decoder and bias that require grad",))
def check_matryoshka_loss():
    """Grade ``matryoshka_loss(x, z, decoder_weight, b_dec, prefixes)``."""
    device = get_device()
    return [
        Case("by hand: x = [1, 2], z = [1, 1], identity decoder, prefixes [1, 2]",
             lambda: (torch.tensor([[1.0, 2.0]]), torch.tensor([[1.0, 1.0]]), torch.eye(2), torch.zeros(2), [1, 2])),
        Case("batch of 5, 4 features, 8 latents, prefixes [2, 4, 8]",
             lambda: _matryoshka_args(5, 4, 8, [2, 4, 8], 840)),
        Case("prefixes not ending at the whole dictionary: [1, 3]", lambda: _matryoshka_args(4, 3, 6, [1, 3], 844)),
        Case("one prefix", lambda: _matryoshka_args(3, 4, 5, [2], 848)),
        Case("float64, prefixes [1, 2, 4]", lambda: _matryoshka_args(6, 5, 4, [1, 2, 4], 852, dtype=torch.float64)),
        Case("codes, decoder and bias that require grad", lambda: _matryoshka_args(5, 4, 8, [2, 8], 856, grad=True)),
        Case(f"batch of 256, 256 features, 512 latents on {device}",
             lambda: _matryoshka_args(256, 256, 512, [32, 64, 128, 256, 512], 860, device=device)),
    ]


# ---------------------------------------------------------------- loss_recovered

_EQUAL_HINT = ("When ce_ablated == ce_clean there is nothing to recover and the ratio is 0/0: raise a "
               "ValueError that says so instead of dividing.")


LOSS_RECOVERED_MISTAKES = [
    Mistake(_EQUAL_HINT, lambda c, s, a: (a - s) / (a - c)),
    Mistake("You returned the fraction *lost*, `(ce_spliced - ce_clean) / (ce_ablated - ce_clean)`. "
            "Loss recovered is 1 minus that: `(ce_ablated - ce_spliced) / (ce_ablated - ce_clean)`.",
            lambda c, s, a: (s - c) / (a - c) if a != c else (_ for _ in ()).throw(ValueError("equal"))),
    Mistake("Your ratio is upside down: the denominator is the whole gap `ce_ablated - ce_clean`, "
            "the numerator the part the splice keeps, `ce_ablated - ce_spliced`.",
            lambda c, s, a: (a - c) / (a - s) if a != s and a != c else (_ for _ in ()).throw(ValueError("equal"))),
    Mistake("You clipped the result to [0, 1]. A splice worse than zero-ablation is worth knowing: "
            "it gives a negative value; do not clip.",
            lambda c, s, a: min(1.0, max(0.0, (a - s) / (a - c))) if a != c
            else (_ for _ in ()).throw(ValueError("equal"))),
    Mistake("You compared losses by their ratio (`ce_clean / ce_spliced`). Loss recovered measures "
            "the splice against two references: `(ce_ablated - ce_spliced) / (ce_ablated - ce_clean)`.",
            lambda c, s, a: c / s if a != c else (_ for _ in ()).throw(ValueError("equal"))),
    Mistake("The numerator's sign is flipped: `ce_spliced - ce_ablated` is negative when the splice "
            "helps. Use `ce_ablated - ce_spliced`.",
            lambda c, s, a: (s - a) / (a - c) if a != c else (_ for _ in ()).throw(ValueError("equal"))),
]


@check(LESSON, reference=evaluation.loss_recovered, mistakes=LOSS_RECOVERED_MISTAKES, returns="number")
def check_loss_recovered():
    """Grade ``loss_recovered(ce_clean, ce_spliced, ce_ablated)``."""
    return [
        Case("a good splice: 0.30, 0.40, 2.30", lambda: (0.30, 0.40, 2.30)),
        Case("splicing costs nothing: 1", lambda: (0.35, 0.35, 1.90)),
        Case("as bad as zero-ablation: 0", lambda: (0.35, 1.90, 1.90)),
        Case("worse than zero-ablation: negative", lambda: (0.30, 3.30, 2.30)),
        Case("0-d tensors", lambda: (torch.tensor(0.25), torch.tensor(0.75), torch.tensor(2.25))),
        Case("ce_ablated == ce_clean (must raise ValueError)", lambda: (0.5, 0.6, 0.5), raises=ValueError,
             hint=_EQUAL_HINT),
    ]
