"""Lesson 05 checks: right answers pass, every catalogued mistake and more wrong versions fail
with the expected diagnosis."""
from __future__ import annotations

import pytest
import torch

from course_lib import natural, sparsity, topk
from course_lib.checks import (check_auxk_loss, check_dead_latents, check_energy_in_best_window,
                               check_topk_activation)


# ---------------------------------------------------------------- topk_activation


def topk_by_sorting(z, k):
    """Correct, written differently: threshold at the k-th largest value of each row."""
    if not isinstance(k, int) or not 1 <= k <= z.shape[-1]:
        raise ValueError(f"k must be in 1..{z.shape[-1]}")
    kth = z.sort(dim=-1, descending=True).values[..., k - 1 : k]
    return torch.where(z >= kth, z, torch.zeros_like(z))


def test_topk_accepts_correct_versions():
    assert check_topk_activation(sparsity.topk_activation).status == "pass"
    assert check_topk_activation(topk_by_sorting).status == "pass"


def _checked(fn):
    def wrapped(z, k):
        if not isinstance(k, int) or not 1 <= k <= z.shape[-1]:
            raise ValueError("bad k")
        return fn(z, k)
    return wrapped


@pytest.mark.parametrize("fn, diagnosis", [
    (_checked(lambda z, k: torch.zeros_like(z).scatter(0, z.topk(k, 0).indices, z.topk(k, 0).values)),
     "each *column*"),
    (_checked(lambda z, k: torch.where(z.abs() >= z.abs().sort(-1, descending=True).values[:, k - 1 : k],
                                       z, torch.zeros_like(z))),
     "largest absolute value"),
    (_checked(lambda z, k: torch.where(z > z.sort(-1, descending=True).values[:, k - 1 : k], z,
                                       torch.zeros_like(z))),
     "k - 1 entries"),
    (_checked(lambda z, k: z.topk(k).indices), "returned the indices"),
    (_checked(lambda z, k: (z >= z.topk(k).values[:, -1:]).float()), "mask of the kept positions"),
    (_checked(lambda z, k: (z >= z.topk(k).values[:, -1:])), "mask of the kept positions"),
    (_checked(lambda z, k: torch.relu(z) * (z >= z.topk(k).values[:, -1:])), "applied a ReLU"),
    (lambda z, k: torch.zeros_like(z).scatter(-1, z.topk(k).indices, z.topk(k).values),
     "accepts a k outside"),
])
def test_topk_rejects_other_wrong_versions(fn, diagnosis):
    result = check_topk_activation(fn)
    assert result.status == "fail"
    assert diagnosis in result.message


def test_topk_in_place_is_reported():
    def in_place(z, k):
        if not 1 <= k <= z.shape[-1]:
            raise ValueError("bad k")
        kth = z.topk(k, dim=-1).values[:, -1:]
        with torch.no_grad():
            z[z < kth] = 0.0
        return z

    result = check_topk_activation(in_place)
    assert result.status == "fail" and "modified its input in place" in result.message


def test_topk_wrong_exception_type_is_explained():
    def raises_type_error(z, k):
        if not 1 <= k <= z.shape[-1]:
            raise TypeError("bad k")
        return sparsity.topk_activation(z, k)

    result = check_topk_activation(raises_type_error)
    assert result.status == "fail" and "raise a ValueError" in result.message
    assert "k = 0" in result.hint


def test_topk_detached_output_has_no_gradient():
    result = check_topk_activation(lambda z, k: sparsity.topk_activation(z.detach(), k))
    assert result.status == "fail" and "no gradient" in result.message


# ---------------------------------------------------------------- dead_latents


def test_dead_accepts_correct_versions():
    assert check_dead_latents(topk.dead_latents).status == "pass"
    assert check_dead_latents(lambda lf, step, window: lf <= step - window).status == "pass"
    assert check_dead_latents(lambda lf, step, window: ~((step - lf) < window)).status == "pass"


@pytest.mark.parametrize("fn, diagnosis", [
    (lambda lf, step, window: lf < step - window, "Off by one"),
    (lambda lf, step, window: step - lf <= window - 1, "*alive*"),
    (lambda lf, step, window: torch.where(step - lf >= window)[0], "indices"),
    (lambda lf, step, window: (step - lf >= window).int().sum(), "number of dead"),
    (lambda lf, step, window: torch.where(step - lf >= window, 1.0, 0.0), "float 0/1 mask"),
    (lambda lf, step, window: last_fired_is_zero(lf), "never fired"),
])
def test_dead_rejects_other_wrong_versions(fn, diagnosis):
    result = check_dead_latents(fn)
    assert result.status == "fail" and diagnosis in result.message


def last_fired_is_zero(lf):
    return ~lf.bool()


def test_dead_list_output_is_not_a_tensor():
    result = check_dead_latents(lambda lf, step, window: [bool(v) for v in (step - lf >= window)])
    assert result.status == "fail" and "expected a torch tensor" in result.message


# ---------------------------------------------------------------- auxk_loss


def auxk_by_indexing(residual, pre_act, dead, W, k_aux):
    """Correct, written differently: restrict to the dead columns first."""
    idx = dead.nonzero().flatten()
    if len(idx) == 0:
        return torch.zeros((), dtype=residual.dtype, device=residual.device)
    sub = pre_act[:, idx]
    vals, pos = sub.topk(min(k_aux, len(idx)), dim=1)
    code = torch.zeros_like(sub).scatter(1, pos, vals.clamp(min=0))
    e_hat = code @ W[:, idx].T
    return ((residual - e_hat) ** 2).sum() / (residual ** 2).sum()


def test_auxk_accepts_correct_versions():
    assert check_auxk_loss(topk.auxk_loss).status == "pass"
    assert check_auxk_loss(auxk_by_indexing).status == "pass"


def _wrong_auxk(**change):
    """auxk_by_indexing with one step changed."""
    def fn(residual, pre_act, dead, W, k_aux):
        use = ~dead if change.get("alive") else torch.ones_like(dead) if change.get("all") else dead
        idx = use.nonzero().flatten()
        if len(idx) == 0 or not dead.any():
            return residual.new_zeros(())
        sub = pre_act[:, idx]
        vals, pos = sub.topk(min(k_aux, len(idx)), dim=1)
        vals = vals if change.get("no_relu") else vals.clamp(min=0)
        e_hat = torch.zeros_like(sub).scatter(1, pos, vals) @ W[:, idx].T
        err = ((residual - e_hat) ** 2).sum()
        return err if change.get("raw") else err / (residual ** 2).sum()
    return fn


@pytest.mark.parametrize("fn, diagnosis", [
    (_wrong_auxk(all=True), "over *all* latents"),
    (_wrong_auxk(alive=True), "live latents"),
    (_wrong_auxk(no_relu=True), "forgot the ReLU"),
    (_wrong_auxk(raw=True), "without normalising"),
    (lambda r, p, d, W, k: auxk_by_indexing(r, p, d, W, k) if d.any() else torch.ones(()),
     "must be exactly 0"),
])
def test_auxk_rejects_other_wrong_versions(fn, diagnosis):
    result = check_auxk_loss(fn)
    assert result.status == "fail" and diagnosis in result.message


def test_auxk_that_does_not_clamp_k_aux_raises_on_the_right_case():
    def no_clamp(residual, pre_act, dead, W, k_aux):
        if not dead.any():
            return residual.new_zeros(())
        vals, pos = pre_act.masked_fill(~dead, float("-inf")).topk(k_aux, dim=-1)
        e_hat = torch.zeros_like(pre_act).scatter(-1, pos, torch.relu(vals)) @ W.T
        return ((residual - e_hat) ** 2).sum() / (residual ** 2).sum()

    result = check_auxk_loss(no_clamp)
    assert result.status == "fail"
    assert "raised" in result.message and "k_aux=8 but only 3 dead" in result.message


def test_auxk_returning_a_python_float_breaks_the_gradient():
    result = check_auxk_loss(lambda *args: topk.auxk_loss(*args).detach().item())
    assert result.status == "fail" and "no gradient flows" in result.message


# ---------------------------------------------------------------- energy_in_best_window


def window_by_conv(filters, size):
    """Correct, written differently: a box filter by convolution."""
    energy = filters.pow(2).unsqueeze(1)
    box = torch.ones(1, 1, size, size, dtype=filters.dtype, device=filters.device)
    sums = torch.nn.functional.conv2d(energy, box).flatten(1)
    total = energy.flatten(1).sum(1)
    return torch.where(total > 0, sums.max(1).values / torch.where(total > 0, total, 1.0),
                       torch.zeros_like(total))


def test_window_accepts_correct_versions():
    assert check_energy_in_best_window(natural.energy_in_best_window).status == "pass"
    assert check_energy_in_best_window(window_by_conv).status == "pass"


def _avg_pool(filters, size, stride=1):
    return torch.nn.functional.avg_pool2d(filters.unsqueeze(1), size, stride=stride).flatten(1)


@pytest.mark.parametrize("fn, diagnosis", [
    (lambda f, s: _avg_pool(f.abs(), s).max(1).values * s * s / f.abs().flatten(1).sum(1), "|w|"),
    (lambda f, s: _avg_pool(f ** 2, s, s).max(1).values * s * s / (f ** 2).flatten(1).sum(1),
     "non-overlapping"),
    (lambda f, s: _avg_pool(f ** 2, s).max(1).values / (f ** 2).flatten(1).sum(1).clamp_min(1e-12),
     "averaged the energy inside"),
    (lambda f, s: _avg_pool(f ** 2, s).max(1).values * s * s, "window's energy itself"),
    (lambda f, s: _avg_pool(f ** 2, s).max(1).values * s * s / (f ** 2).sum(), "*all* filters"),
    (lambda f, s: _avg_pool(f ** 2, s).mean(1) * s * s / (f ** 2).flatten(1).sum(1).clamp_min(1e-12),
     "averaged over the window positions"),
])
def test_window_rejects_other_wrong_versions(fn, diagnosis):
    result = check_energy_in_best_window(fn)
    assert result.status == "fail" and diagnosis in result.message


def test_window_without_zero_guard_reports_nan():
    result = check_energy_in_best_window(
        lambda f, s: natural.energy_in_best_window(f, s) * (f.pow(2).sum((-1, -2)) / f.pow(2).sum((-1, -2))))
    assert result.status == "fail" and "NaN" in result.hint


