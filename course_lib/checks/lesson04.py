"""Checks for lesson 04 (interpretability and feature discovery).

``check_top_activating_examples``, ``check_class_selectivity``, ``check_make_bars`` and
``check_factor_match_score`` grade the learner's functions against the references in
:mod:`course_lib.interpret`, with a catalogue of realistic mistakes for each.
"""
from __future__ import annotations

import math

import torch

from course_lib import interpret
from course_lib.device import get_device

from .core import Case, Mistake, check, exported, rand

LESSON = "04"


# ------------------------------------------------------------------ top_activating_examples


def _relu_codes(n: int, h: int, seed: int, dtype=torch.float32, device="cpu") -> torch.Tensor:
    """ReLU-like codes: about half the entries are exactly 0, the rest distinct positives."""
    return rand(n, h, seed=seed, dtype=dtype, device=device).clamp_min(0)


def _desc(Z: torch.Tensor, j: int) -> torch.Tensor:
    return torch.argsort(Z[:, j].detach(), descending=True)


TOP_CASES = [
    Case("40 samples x 12 latents, j=3, n=5", lambda: (_relu_codes(40, 12, seed=401), 3, 5)),
    Case("negative activations, j=2, n=4", lambda: (rand(30, 6, seed=402), 2, 4)),
    Case("n = 1", lambda: (_relu_codes(25, 7, seed=403), 0, 1)),
    Case("last latent, n = all 9 samples", lambda: (rand(9, 4, seed=404), 3, 9)),
    Case("a single sample (N = 1)", lambda: (rand(1, 5, seed=405, low=0.1), 4, 1)),
    Case("float64 codes", lambda: (_relu_codes(50, 10, seed=406, dtype=torch.float64), 6, 7)),
    Case("codes that require grad", lambda: (_relu_codes(40, 8, seed=407).requires_grad_(), 1, 6)),
    Case("codes on the course device", lambda: (_relu_codes(60, 16, seed=408, device=get_device()), 9, 8)),
]

TOP_MISTAKES = [
    Mistake("You return the right samples in ascending order; list the largest activation first "
            "(`descending=True`, or `torch.topk`).",
            lambda Z, j, n: torch.argsort(Z[:, j].detach())[-n:]),
    Mistake("You picked the samples with the *smallest* activations (argmin / ascending sort); "
            "take the largest ones.",
            lambda Z, j, n: torch.argsort(Z[:, j].detach())[:n]),
    Mistake("You ranked the latents of sample j (a row of Z) instead of the samples for latent j "
            "(a column): use `Z[:, j]`.",
            lambda Z, j, n: torch.argsort(Z[j].detach(), descending=True)[:n]),
    Mistake("You returned the activation values; the exercise asks for the sample *indices* "
            "(`torch.topk(...).indices`).",
            lambda Z, j, n: torch.topk(Z[:, j].detach(), n).values),
    Mistake("You returned n + 1 indices: slicing `[:n]` already stops before index n.",
            lambda Z, j, n: _desc(Z, j)[: n + 1]),
    Mistake("You returned n - 1 indices (off by one): `[:n]` gives exactly n.",
            lambda Z, j, n: _desc(Z, j)[: n - 1]),
    Mistake("You skipped the top sample: `[1:n+1]` starts at the second largest; use `[:n]`.",
            lambda Z, j, n: _desc(Z, j)[1 : n + 1]),
    Mistake("You ranked by |activation|; a large negative value is not a strong response. Rank by "
            "the activation itself.",
            lambda Z, j, n: torch.argsort(Z[:, j].detach().abs(), descending=True)[:n]),
    Mistake("Your indices are floats; return integer indices (a LongTensor), as `topk` and "
            "`argsort` give them.",
            lambda Z, j, n: _desc(Z, j)[:n].float()),
    Mistake("Your indices start at 1; Python and torch count from 0.",
            lambda Z, j, n: _desc(Z, j)[:n] + 1),
]


def _same_indices(out, ref) -> bool:
    return (isinstance(out, torch.Tensor) and out.dtype == ref.dtype and out.shape == ref.shape
            and torch.equal(out, ref))


@check(LESSON, reference=interpret.top_activating_examples, mistakes=TOP_MISTAKES, returns="tensor",
       compare=_same_indices)
def check_top_activating_examples():
    """Grade ``top_activating_examples(Z, j, n) -> LongTensor (n,)`` (ties never occur here)."""
    return TOP_CASES


# ------------------------------------------------------------------ class_selectivity


def _labels(*values: int, device="cpu") -> torch.Tensor:
    return torch.tensor(values, dtype=torch.long, device=device)


# 20 samples with unequal class sizes (8, 7, 5) so that class sums and class means differ.
_Y20 = (0, 1, 0, 2, 1, 0, 0, 1, 2, 0, 1, 1, 0, 2, 1, 0, 2, 1, 0, 2)


def _one_hot_codes() -> tuple:
    y = _labels(0, 1, 2, 3, 1, 2, 0, 3, 2, 1)
    Z = torch.nn.functional.one_hot(y, 4).float() * torch.linspace(0.5, 1.4, 10)[:, None]
    return Z, y, 4


def _with_silent_latent() -> tuple:
    Z = _relu_codes(16, 5, seed=413) + 0.05
    Z[:, 2] = 0.0
    return Z, _labels(*(_Y20[:16])), 3


SEL_CASES = [
    Case("20 samples, 6 latents, 3 unequal classes", lambda: (_relu_codes(20, 6, seed=411) + 0.01, _labels(*_Y20), 3)),
    Case("a class with no samples (classes 0, 1, 3 of 5)",
         lambda: (_relu_codes(12, 4, seed=412) + 0.01, _labels(0, 1, 3, 3, 0, 1, 1, 3, 0, 3, 1, 0), 5)),
    Case("a silent latent (all-zero column)", _with_silent_latent),
    Case("negative activations", lambda: (rand(20, 5, seed=414), _labels(*_Y20), 3)),
    Case("perfectly selective one-hot codes", _one_hot_codes),
    Case("all-zero codes", lambda: (torch.zeros(10, 4), _labels(0, 1, 2, 0, 1, 2, 0, 1, 2, 0), 3)),
    Case("a single sample", lambda: (rand(1, 5, seed=415, low=0.1), _labels(2), 4)),
    Case("float64 codes", lambda: (_relu_codes(20, 6, seed=416, dtype=torch.float64) + 0.01, _labels(*_Y20), 3)),
    Case("codes that require grad",
         lambda: ((_relu_codes(20, 6, seed=417) + 0.01).requires_grad_(), _labels(*_Y20), 3)),
    Case("codes on the course device",
         lambda: (_relu_codes(20, 6, seed=418, device=get_device()) + 0.01, _labels(*_Y20, device=get_device()), 3)),
]


def _class_means(Z, y, n_classes, *, use_abs=True, mean=True):
    A = Z.abs() if use_abs else Z
    onehot = torch.nn.functional.one_hot(y, n_classes).to(A.dtype)
    sums = onehot.t() @ A
    return sums / onehot.sum(0).clamp_min(1)[:, None] if mean else sums


def _entropy(P, log=torch.log):
    safe = torch.where(P > 0, P, torch.ones_like(P))
    return -(P * log(safe)).sum(0)


def _selectivity_variant(Z, y, n_classes, *, use_abs=True, mean=True, log=torch.log, norm=None,
                         one_minus=True, silent=0.0, classes_present=False):
    M = _class_means(Z, y, n_classes, use_abs=use_abs, mean=mean)
    total = M.sum(0)
    alive = total != 0
    P = M / torch.where(alive, total, torch.ones_like(total))
    H = _entropy(P, log)
    if norm is None:
        C = torch.unique(y).numel() if classes_present else n_classes
        norm = math.log(C)
    S = H / norm if norm else H * float("inf")
    S = 1 - S if one_minus else S
    return torch.where(alive, S, torch.full_like(S, silent))


def _sel_unnormalised_bits(Z, y, C):
    return _selectivity_variant(Z, y, C, log=torch.log2, norm=1.0)


def _sel_unnormalised_nats(Z, y, C):
    return _selectivity_variant(Z, y, C, norm=1.0)


def _sel_bits_over_ln(Z, y, C):
    return _selectivity_variant(Z, y, C, log=torch.log2, norm=math.log(C))


def _sel_no_abs(Z, y, C):
    M = _class_means(Z, y, C, use_abs=False)
    total = M.sum(0)
    P = M / torch.where(total != 0, total, torch.ones_like(total))
    return torch.where(total != 0, 1 - (-torch.xlogy(P, P).sum(0)) / math.log(C), torch.zeros_like(total))


def _sel_relu(Z, y, C):
    return _selectivity_variant(Z.clamp_min(0), y, C)


def _sel_nan_silent(Z, y, C):
    M = _class_means(Z, y, C)
    P = M / M.sum(0)
    return 1 - (-torch.xlogy(P, P).sum(0)) / math.log(C)


def _sel_wrong_axis(Z, y, C):
    M = _class_means(Z, y, C)
    P = M / M.sum(1, keepdim=True).clamp_min(1e-12)
    return 1 - _entropy(P) / math.log(C)


SEL_MISTAKES = [
    Mistake("You used entropy in bits (log2) without normalising: divide by log(n_classes) (in the "
            "same base) so that the score lies in [0, 1].", _sel_unnormalised_bits),
    Mistake("You forgot to normalise the entropy: divide it by log(n_classes), the entropy of a "
            "uniform class distribution.", _sel_unnormalised_nats),
    Mistake("You mixed log bases: entropy in bits (log2) divided by the natural log(n_classes). "
            "Use one base for both.", _sel_bits_over_ln),
    Mistake("You returned the normalised entropy itself; selectivity is 1 minus it (1 = one class "
            "only, 0 = all classes alike).", lambda Z, y, C: 1 - _selectivity_variant(Z, y, C)),
    Mistake("You normalised by the log of the number of classes *present in y*; use n_classes, so "
            "a class with no samples still counts (with zero activation).",
            lambda Z, y, C: _selectivity_variant(Z, y, C, classes_present=True)),
    Mistake("You summed activations per class; use the *mean* per class, otherwise classes with "
            "more samples look preferred.", lambda Z, y, C: _selectivity_variant(Z, y, C, mean=False)),
    Mistake("You used the raw activations; use their magnitude |z| so negative values count as "
            "response instead of cancelling (and logs of negatives give NaN).", _sel_no_abs),
    Mistake("You clamped negative activations to 0; the definition uses their magnitude |z|.", _sel_relu),
    Mistake("A latent that never fires gives 0/0 = NaN in your version; return 0 for it (no class "
            "preference).", _sel_nan_silent),
    Mistake("A latent that never fires gets selectivity 1 in your version (its entropy is 0); "
            "return 0 for it, it prefers no class.",
            lambda Z, y, C: _selectivity_variant(Z, y, C, silent=1.0)),
    Mistake("You normalised the class means over latents (per class) instead of over classes (per "
            "latent): each latent's shares p_jc must sum to 1 over c.", _sel_wrong_axis),
]


@check(LESSON, reference=interpret.class_selectivity, mistakes=SEL_MISTAKES, returns="tensor", rtol=1e-4, atol=1e-5)
def check_class_selectivity():
    """Grade ``class_selectivity(Z, y, n_classes) -> (n_latent,)`` (definition in the lesson)."""
    return SEL_CASES


# ------------------------------------------------------------------ make_bars


def _bars_probe(fn):
    """Call ``fn`` twice with the same seed and once with the next seed, to test determinism."""
    def probe(n, size, p, seed):
        return {"first": fn(n, size, p, seed), "again": fn(n, size, p, seed), "other": fn(n, size, p, seed + 1)}
    return probe


def _render(factors: torch.Tensor, size: int, *, combine=torch.maximum, transpose=False) -> torch.Tensor:
    n = len(factors)
    h, v = factors[:, :size].float(), factors[:, size:].float()
    if transpose:
        h, v = v, h
    rows = h[:, :, None].expand(n, size, size)
    cols = v[:, None, :].expand(n, size, size)
    return combine(rows, cols).reshape(n, size * size)


def _same(a, b) -> bool:
    return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape and torch.equal(a, b)


def _bars_signature(result) -> tuple[dict, torch.Tensor | None]:
    """Facts about a probed make_bars result, and the per-bar frequency when it can be trusted.

    Facts that depend on the random draw (do crossings occur? does another seed change the
    data?) are only recorded for samples of 1000 images or more, where they are certain.
    """
    first = result.get("first") if isinstance(result, dict) else None
    if not (isinstance(first, (tuple, list)) and len(first) == 2
            and all(isinstance(t, torch.Tensor) for t in first)):
        kind = type(first).__name__ + (f" of {len(first)}" if isinstance(first, (tuple, list)) else "")
        return {"kind": kind}, None
    images, factors = first
    facts = {"kind": "pair", "shapes": (tuple(images.shape), tuple(factors.shape)),
             "float": (images.is_floating_point(), factors.is_floating_point())}
    again, other = result.get("again"), result.get("other")
    facts["deterministic"] = all(_same(a, b) for a, b in zip(first, again))
    if images.dim() != 2 or factors.dim() != 2 or len(images) != len(factors) or factors.shape[1] % 2:
        return facts, None
    size = factors.shape[1] // 2
    f = factors.float()
    facts["binary"] = (bool(((images == 0) | (images == 1)).all()), bool(((f == 0) | (f == 1)).all()))
    square = images.shape[1] == size * size
    facts["or"] = square and _same(images.float(), _render(f, size))
    freq = f.mean(0)
    if len(f) >= 20 and bool(((freq == 0) | (freq == 1)).all()):
        facts["rate"] = tuple(freq.tolist())  # p = 0 or p = 1: no randomness left
    if len(f) < 1000:
        return facts, None
    facts["seed matters"] = not all(_same(a, b) for a, b in zip(first, other))
    facts["sum"] = square and _same(images.float(), _render(f, size, combine=torch.add))
    facts["transposed"] = square and _same(images.float(), _render(f, size, transpose=True))
    facts["one bar each"] = bool((f.sum(1) == 1).all())
    facts["h = v"] = _same(f[:, :size], f[:, size:])
    return facts, freq


def _bars_compare(out, ref) -> bool:
    facts_out, freq_out = _bars_signature(out)
    facts_ref, freq_ref = _bars_signature(ref)
    if facts_out != facts_ref:
        return False
    if freq_ref is None:
        return freq_out is None
    return freq_out.shape == freq_ref.shape and float((freq_out - freq_ref).abs().max()) <= 0.03


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _bars_from(factors, size, **kw):
    return _render(factors, size, **kw), factors


def _bars_sum(n, size, p, seed):
    return _bars_from((torch.rand(n, 2 * size, generator=_gen(seed)) < p).float(), size, combine=torch.add)


def _bars_transposed(n, size, p, seed):
    return _bars_from((torch.rand(n, 2 * size, generator=_gen(seed)) < p).float(), size, transpose=True)


def _bars_p_off(n, size, p, seed):
    return _bars_from((torch.rand(n, 2 * size, generator=_gen(seed)) >= p).float(), size)


def _bars_one_each(n, size, p, seed):
    which = torch.randint(2 * size, (n,), generator=_gen(seed))
    return _bars_from(torch.nn.functional.one_hot(which, 2 * size).float(), size)


def _bars_global_rng(n, size, p, seed):
    return _bars_from((torch.rand(n, 2 * size) < p).float(), size)


def _bars_fixed_seed(n, size, p, seed):
    return _bars_from((torch.rand(n, 2 * size, generator=_gen(0)) < p).float(), size)


def _bars_shared_draw(n, size, p, seed):
    half = (torch.rand(n, size, generator=_gen(seed)) < p).float()
    return _bars_from(torch.cat([half, half], 1), size)


def _bars_unflattened(n, size, p, seed):
    images, factors = interpret.make_bars(n, size, p, seed)
    return images.reshape(n, size, size), factors


def _bars_swapped(n, size, p, seed):
    images, factors = interpret.make_bars(n, size, p, seed)
    return factors, images


def _bars_bool(n, size, p, seed):
    images, factors = interpret.make_bars(n, size, p, seed)
    return images, factors.bool()


BARS_CASES = [
    Case("n=10000, size=8, p=1/8, seed=0", lambda: (10000, 8, 1 / 8, 0)),
    Case("n=10000, size=4, p=0.3, seed=3", lambda: (10000, 4, 0.3, 3)),
    Case("a single image (n=1)", lambda: (1, 8, 1 / 8, 5)),
    Case("p = 0 (no bars)", lambda: (50, 6, 0.0, 1)),
    Case("p = 1 (every bar)", lambda: (50, 6, 1.0, 2)),
    Case("n=2000, size=5, p=0.5, seed=11", lambda: (2000, 5, 0.5, 11)),
]

BARS_MISTAKES = [Mistake(hint, fn) for hint, fn in [
    ("Where a horizontal and a vertical bar cross, your pixel is 2: combine bars with a maximum "
     "(logical OR), not a sum.", _bars_sum),
    ("Your bars are transposed: factor r (r < size) must be the horizontal bar filling *row* r, "
     "factor size + c the vertical bar filling *column* c.", _bars_transposed),
    ("Your bars are on with probability 1 - p: `rand < p` is True with probability p.", _bars_p_off),
    ("Every image has exactly one bar; each bar must be switched on independently with "
     "probability p.", _bars_one_each),
    ("The same seed gives different images: draw from a generator seeded with `seed` "
     "(`torch.Generator().manual_seed(seed)`), not from the global random state.", _bars_global_rng),
    ("Different seeds give the same images: seed the generator with the `seed` argument, not a "
     "fixed number.", _bars_fixed_seed),
    ("Horizontal bar i and vertical bar i are always on together: draw all 2*size switches "
     "independently, not one draw used twice.", _bars_shared_draw),
    ("Your images have shape (n, size, size); flatten them to (n, size*size).", _bars_unflattened),
    ("You returned (factors, images); return (images, factors).", _bars_swapped),
    ("Your factors are booleans; return them as float 0/1 (`.float()`), like the images.", _bars_bool),
]]


@check(LESSON, reference=interpret.make_bars, mistakes=BARS_MISTAKES, returns="any", compare=_bars_compare,
       observe=_bars_probe)
def check_make_bars():
    """Grade ``make_bars(n, size, p, seed) -> (images, factors)`` by its properties.

    Any correct random scheme passes: the images must be the OR of the bars the factors switch
    on (in the documented order), values 0/1, the same seed must repeat the data and another
    seed change it, and on large samples every bar's rate must be within 0.03 of p.
    """
    return BARS_CASES


# ------------------------------------------------------------------ factor_match_score


def _factor_case(n: int, seed: int, dtype=torch.float32, device="cpu"):
    """Codes with a copy of factor 0, an anti-copy of factor 1, a mix of 2 and 3, and noise."""
    F = (rand(n, 4, seed=seed, low=0, high=1) < 0.3).float()
    noise = rand(n, 5, seed=seed + 1000)
    Z = torch.stack([F[:, 0] + 0.2 * noise[:, 0],
                     1.0 - F[:, 1] + 0.3 * noise[:, 1],
                     0.6 * F[:, 2] + 0.4 * F[:, 3] + 0.3 * noise[:, 2],
                     noise[:, 3],
                     0.5 * noise[:, 4] - 0.2 * F[:, 0]], dim=1)
    return Z.to(dtype=dtype, device=device), F.to(dtype=dtype, device=device)


def _with_dead_latent():
    Z, F = _factor_case(60, seed=423)
    Z[:, 3] = 0.0
    return Z, F


def _with_constant_factor():
    Z, F = _factor_case(60, seed=424)
    F[:, 2] = 1.0
    return Z, F


FMS_CASES = [
    Case("200 samples, 5 latents, 4 factors", lambda: _factor_case(200, seed=421)),
    Case("more factors than latents", lambda: (_factor_case(80, seed=422)[0][:, :2], _factor_case(80, seed=422)[1])),
    Case("a dead latent (constant 0)", _with_dead_latent),
    Case("a factor that never changes", _with_constant_factor),
    Case("all-zero codes", lambda: (torch.zeros(30, 4), _factor_case(30, seed=425)[1])),
    Case("two samples", lambda: (torch.tensor([[0.2, 1.0, 0.5], [0.9, 0.0, 0.5]]),
                                 torch.tensor([[1.0, 0.0], [0.0, 1.0]]))),
    Case("float64", lambda: _factor_case(120, seed=426, dtype=torch.float64)),
    Case("codes that require grad",
         lambda: (_factor_case(100, seed=427)[0].requires_grad_(), _factor_case(100, seed=427)[1])),
    Case("on the course device", lambda: _factor_case(150, seed=428, device=get_device())),
]


def _raw_corr(Z, F, *, centre=True, normalise=True, unbiased_std=False):
    Z, F = Z.detach().double(), F.detach().double()
    if centre:
        Zc, Fc = Z - Z.mean(0), F - F.mean(0)
    else:
        Zc, Fc = Z, F
    C = Fc.t() @ Zc / len(Z)
    if not normalise:
        return C
    if unbiased_std:
        sz, sf = Z.std(0), F.std(0)
    else:
        sz, sf = Zc.pow(2).mean(0).sqrt(), Fc.pow(2).mean(0).sqrt()
    return C / (sf[:, None] * sz[None, :])


def _guarded(C, Z, F):
    Z, F = Z.detach(), F.detach()
    ok = (F.amax(0) > F.amin(0))[:, None] & (Z.amax(0) > Z.amin(0))[None, :]
    return torch.where(ok.cpu(), C.cpu(), torch.zeros_like(C).cpu())


def _corr(Z, F, **kw):
    return _guarded(_raw_corr(Z, F, **kw), Z, F)


FMS_MISTAKES = [
    Mistake("You dropped the absolute value: a latent that switches *off* when the factor is on "
            "(correlation near -1) tracks it just as well. Take |corr| before the max.",
            lambda Z, F: _corr(Z, F).amax(1).mean().item()),
    Mistake("You took the max over factors for each latent and averaged over latents; the score "
            "matches every *factor* to its best latent: max over latents, mean over factors.",
            lambda Z, F: _corr(Z, F).abs().amax(0).mean().item()),
    Mistake("You averaged |corr| over latents; each factor should keep only its *best* latent (max).",
            lambda Z, F: _corr(Z, F).abs().mean(1).mean().item()),
    Mistake("You used the covariance; divide by both standard deviations to get the correlation.",
            lambda Z, F: _corr(Z, F, normalise=False).abs().amax(1).mean().item()),
    Mistake("You forgot to subtract the means: that is cosine similarity, not correlation.",
            lambda Z, F: _corr(Z, F, centre=False).abs().amax(1).mean().item()),
    Mistake("Your covariance divides by N but your standard deviations by N - 1 (`torch.std`'s "
            "default): use the same convention in both.",
            lambda Z, F: _corr(Z, F, unbiased_std=True).abs().amax(1).mean().item()),
    Mistake("A constant column (dead latent, or a factor that never changes) gives 0/0 = NaN; "
            "count its correlation as 0.",
            lambda Z, F: _raw_corr(Z, F).abs().amax(1).mean().item()),
    Mistake("You summed over factors; the score is the *mean* over factors.",
            lambda Z, F: _corr(Z, F).abs().amax(1).sum().item()),
    Mistake("You took the single best correlation overall; find the best latent for *each* factor, "
            "then average.",
            lambda Z, F: _corr(Z, F).abs().max().item()),
]


@check(LESSON, reference=interpret.factor_match_score, mistakes=FMS_MISTAKES, returns="number", rtol=1e-4, atol=1e-5)
def check_factor_match_score():
    """Grade ``factor_match_score(Z, factors) -> float``."""
    return FMS_CASES


__all__ = exported(LESSON)
