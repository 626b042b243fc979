"""Lesson 04 checks: accept correct code (written two ways), diagnose realistic mistakes."""
from __future__ import annotations

import pytest
import torch

from course_lib import interpret
from course_lib.checks import lesson04 as L


# ------------------------------------------------------------------ correct versions


def top_other(Z, j, n):
    return torch.argsort(Z[:, j].detach(), descending=True)[:n]


def selectivity_loop(Z, y, n_classes):
    A = Z.abs()
    rows = []
    for c in range(n_classes):
        mask = y == c
        rows.append(A[mask].mean(0) if bool(mask.any()) else torch.zeros_like(A[0]))
    M = torch.stack(rows)  # (C, H)
    out = torch.zeros(Z.shape[1], dtype=Z.dtype, device=Z.device)
    for h in range(Z.shape[1]):
        total = M[:, h].sum()
        if total > 0:
            p = M[:, h] / total
            p = p[p > 0]
            out[h] = 1 - (-(p * p.log()).sum()) / torch.log(torch.tensor(float(n_classes)))
    return out


def bars_bernoulli(n, size, p, seed):
    gen = torch.Generator().manual_seed(seed)
    factors = torch.bernoulli(torch.full((n, 2 * size), float(p)), generator=gen)
    images = torch.zeros(n, size, size)
    for r in range(size):
        images[:, r, :] = torch.maximum(images[:, r, :], factors[:, r : r + 1].expand(n, size))
    for c in range(size):
        images[:, :, c] = torch.maximum(images[:, :, c], factors[:, size + c : size + c + 1].expand(n, size))
    return images.reshape(n, -1), factors


def match_corrcoef(Z, factors):
    F = factors.shape[1]
    C = torch.corrcoef(torch.cat([factors.t(), Z.t()]).detach().double())[:F, F:]
    return C.nan_to_num(0.0).abs().max(1).values.mean().item()


CORRECT = [
    (L.check_top_activating_examples, interpret.top_activating_examples),
    (L.check_top_activating_examples, top_other),
    (L.check_class_selectivity, interpret.class_selectivity),
    (L.check_class_selectivity, selectivity_loop),
    (L.check_make_bars, interpret.make_bars),
    (L.check_make_bars, bars_bernoulli),
    (L.check_factor_match_score, interpret.factor_match_score),
    (L.check_factor_match_score, match_corrcoef),
]


@pytest.mark.parametrize("check, fn", CORRECT, ids=lambda x: getattr(x, "__name__", "?"))
def test_correct_versions_pass(check, fn):
    result = check(fn)
    assert result, result.message
    assert result.status == "pass"


# ------------------------------------------------------------------ every catalogue entry


CATALOGUE = (
    [(L.check_top_activating_examples, m.fn, m.hint) for m in L.TOP_MISTAKES]
    + [(L.check_class_selectivity, m.fn, m.hint) for m in L.SEL_MISTAKES]
    + [(L.check_make_bars, m.fn, m.hint) for m in L.BARS_MISTAKES]
    + [(L.check_factor_match_score, m.fn, m.hint) for m in L.FMS_MISTAKES]
)


# ------------------------------------------------------------------ mistakes written here


def _desc(Z, j):
    return torch.argsort(Z[:, j].detach(), descending=True)


TOP_WRONG = [
    (lambda Z, j, n: Z[:, j].sort().indices[:n], "smallest"),
    (lambda Z, j, n: Z.detach().topk(n, dim=1).indices[j], "ranked the latents of sample j"),
    (lambda Z, j, n: torch.sort(Z[:, j].detach(), descending=True).values[:n], "activation values"),
    (lambda Z, j, n: Z[:, j].detach().topk(n + 1).indices, "n + 1 indices"),
    (lambda Z, j, n: torch.argsort(-Z[:, j].detach())[:n].flip(0), "ascending order"),
    (lambda Z, j, n: Z[:, j].detach().abs().topk(n).indices, "|activation|"),
    (lambda Z, j, n: _desc(Z, j)[:n].to(torch.float32), "floats"),
]


def sel_bits(Z, y, n_classes):
    M = torch.stack([Z[y == c].abs().mean(0) if bool((y == c).any()) else torch.zeros(Z.shape[1], dtype=Z.dtype, device=Z.device)
                     for c in range(n_classes)])
    P = M / M.sum(0).clamp_min(1e-30)
    H = -(torch.where(P > 0, P * torch.log2(P.clamp_min(1e-30)), torch.zeros_like(P))).sum(0)
    return torch.where(M.sum(0) > 0, 1 - H, torch.zeros_like(H))


def sel_present(Z, y, n_classes):
    present = torch.unique(y)
    M = torch.stack([Z[y == c].abs().mean(0) for c in present])
    P = M / M.sum(0).clamp_min(1e-30)
    H = -torch.xlogy(P, P).sum(0)
    return torch.where(M.sum(0) > 0, 1 - H / torch.log(torch.tensor(float(len(present)))), torch.zeros_like(H))


def sel_sum(Z, y, n_classes):
    onehot = torch.nn.functional.one_hot(y, n_classes).to(Z.dtype)
    M = onehot.t() @ Z.abs()
    P = M / M.sum(0).clamp_min(1e-30)
    H = -torch.xlogy(P, P).sum(0)
    return torch.where(M.sum(0) > 0, 1 - H / torch.log(torch.tensor(float(n_classes))), torch.zeros_like(H))


def sel_nan(Z, y, n_classes):
    onehot = torch.nn.functional.one_hot(y, n_classes).to(Z.dtype)
    M = (onehot.t() @ Z.abs()) / onehot.sum(0).clamp_min(1)[:, None]
    P = M / M.sum(0)
    return 1 + (P * torch.log(P)).nansum(0) / torch.log(torch.tensor(float(n_classes))) * torch.where(M.sum(0) > 0, 1.0, float("nan"))


def sel_entropy_only(Z, y, n_classes):
    return 1 - interpret.class_selectivity(Z, y, n_classes)


SEL_WRONG = [
    (sel_bits, "bits (log2) without normalising"),
    (sel_present, "present in y"),
    (sel_sum, "*mean* per class"),
    (sel_nan, "NaN"),
    (sel_entropy_only, "normalised entropy itself"),
    (lambda Z, y, C: interpret.class_selectivity(Z.relu(), y, C), "clamped negative"),
]


def bars_added(n, size, p, seed):
    gen = torch.Generator().manual_seed(seed)
    f = (torch.rand(n, 2 * size, generator=gen) < p).float()
    img = f[:, :size].repeat_interleave(size, 1) + f[:, size:].repeat(1, size)
    return img, f


def bars_columns_first(n, size, p, seed):
    gen = torch.Generator().manual_seed(seed)
    f = (torch.rand(n, 2 * size, generator=gen) < p).float()
    img = torch.maximum(f[:, size:].repeat_interleave(size, 1), f[:, :size].repeat(1, size))
    return img, f


def bars_unseeded(n, size, p, seed):
    f = torch.bernoulli(torch.full((n, 2 * size), float(p)))
    img = torch.maximum(f[:, :size].repeat_interleave(size, 1), f[:, size:].repeat(1, size))
    return img, f


def bars_inverted_p(n, size, p, seed):
    gen = torch.Generator().manual_seed(seed)
    f = (torch.rand(n, 2 * size, generator=gen) > p).float()
    img = torch.maximum(f[:, :size].repeat_interleave(size, 1), f[:, size:].repeat(1, size))
    return img, f


def bars_square(n, size, p, seed):
    img, f = bars_bernoulli(n, size, p, seed)
    return img.reshape(n, size, size), f


def bars_single(n, size, p, seed):
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, 2 * size, (n,), generator=gen)
    f = torch.zeros(n, 2 * size)
    f[torch.arange(n), idx] = 1.0
    img = torch.maximum(f[:, :size].repeat_interleave(size, 1), f[:, size:].repeat(1, size))
    return img, f


BARS_WRONG = [
    (bars_added, "maximum (logical OR), not a sum"),
    (bars_columns_first, "transposed"),
    (bars_unseeded, "same seed gives different images"),
    (bars_inverted_p, "probability 1 - p"),
    (bars_square, "shape (n, size, size)"),
    (bars_single, "exactly one bar"),
]


def _pearson(Z, F, centre=True):
    Z, F = Z.detach().double(), F.detach().double()
    if centre:
        Z, F = Z - Z.mean(0), F - F.mean(0)
    num = F.t() @ Z
    den = F.norm(dim=0)[:, None] * Z.norm(dim=0)[None, :]
    return torch.where(den > 1e-12, num / den.clamp_min(1e-300), torch.zeros_like(num))


FMS_WRONG = [
    (lambda Z, F: _pearson(Z, F).max(1).values.mean().item(), "absolute value"),
    (lambda Z, F: _pearson(Z, F).abs().max(0).values.mean().item(), "max over factors for each latent"),
    (lambda Z, F: _pearson(Z, F, centre=False).abs().max(1).values.mean().item(), "cosine similarity"),
    (lambda Z, F: _pearson(Z, F).abs().mean(1).mean().item(), "averaged |corr| over latents"),
    (lambda Z, F: torch.corrcoef(torch.cat([F.t(), Z.t()]).detach())[: F.shape[1], F.shape[1]:].abs().max(1).values.mean().item(),
     "NaN"),
    (lambda Z, F: _pearson(Z, F).abs().max().item(), "single best correlation"),
]


WRITTEN_HERE = (
    [(L.check_top_activating_examples, fn, text) for fn, text in TOP_WRONG]
    + [(L.check_class_selectivity, fn, text) for fn, text in SEL_WRONG]
    + [(L.check_make_bars, fn, text) for fn, text in BARS_WRONG]
    + [(L.check_factor_match_score, fn, text) for fn, text in FMS_WRONG]
)


@pytest.mark.parametrize("check, fn, text", WRITTEN_HERE,
                         ids=[f"{c.__name__}-{t[:20]}" for c, _, t in WRITTEN_HERE])
def test_independently_written_mistakes_are_diagnosed(check, fn, text):
    result = check(fn)
    assert not result
    assert text in result.message, result.message


def test_at_least_five_independent_mistakes_per_check():
    for group in (TOP_WRONG, SEL_WRONG, BARS_WRONG, FMS_WRONG):
        assert len(group) >= 5


# ------------------------------------------------------------------ harness behaviour


def test_numpy_output_is_rejected_with_a_type_message():
    result = L.check_top_activating_examples(lambda Z, j, n: _desc(Z, j)[:n].numpy())
    assert result.status == "fail"
    assert "not a torch tensor" in result.message


def test_vector_instead_of_score_is_rejected():
    result = L.check_factor_match_score(lambda Z, F: _pearson(Z, F).abs().max(1).values)
    assert result.status == "fail"
    assert "expected a single number" in result.message


