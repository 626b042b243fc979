"""Lesson 04 checks on known generating factors: ``make_bars``, ``factor_match_score``."""
from __future__ import annotations


import torch

from course_lib import interpret
from course_lib.device import get_device

from ..core import Case, Mistake, check, rand

LESSON = "04"


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
