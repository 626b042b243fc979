"""Lesson 03 checks: they accept correct code (however written) and diagnose the known mistakes."""
from __future__ import annotations

import math

import pytest
import torch

from course_lib import metrics, sparsity
from course_lib.checks import lesson03
from course_lib.checks.lesson03 import (
    check_kl_divergence,
    check_kl_sparsity_penalty,
    check_lifetime_and_population_sparsity,
    check_mean_activation,
)


def _fails_with(result, text):
    assert result.status == "fail", f"expected a failure, got {result.status}: {result.message}"
    assert text in result.message + " " + result.hint, f"{text!r} not in: {result.message} / {result.hint}"


# ---------------------------------------------------------------- mean_activation


def test_mean_activation_accepts_reference_and_other_correct_versions():
    assert check_mean_activation(sparsity.mean_activation)
    assert check_mean_activation(lambda a: a.sum(dim=0) / a.shape[0])
    assert check_mean_activation(lambda a: torch.mean(a, dim=-2))


@pytest.mark.parametrize("wrong, text", [
    (lambda a: a.mean(dim=1), "averaged over the units"),
    (lambda a: a.mean(dim=0).detach().numpy(), "not a torch tensor"),
    (lambda a: a.detach().mean(0), "no gradient flows"),
    (lambda a: torch.tensor(a.detach().cpu().numpy().mean(0)), "no gradient flows"),
    (lambda a: a.sum(0) / 256, "wrong values"),
    (lambda a: a.median(0).values, "wrong values"),
    (lambda a: a.max(0).values, "wrong values"),
])
def test_mean_activation_rejects_wrong_versions(wrong, text):
    _fails_with(check_mean_activation(wrong), text)


def test_mean_activation_accepts_a_loop_over_units():
    assert check_mean_activation(lambda a: torch.stack([a[:, j].mean() for j in range(a.shape[1])]))


# ---------------------------------------------------------------- kl_divergence


def _kl_other_form(rho, q):
    # The same KL written with logs of each factor separately.
    return (rho * math.log(rho) - rho * torch.log(q)
            + (1 - rho) * math.log(1 - rho) - (1 - rho) * torch.log1p(-q))


def test_kl_divergence_accepts_reference_and_other_forms():
    assert check_kl_divergence(sparsity.kl_divergence)
    assert check_kl_divergence(_kl_other_form)
    # clamping inside kl_divergence changes nothing on the graded values
    assert check_kl_divergence(lambda rho, q: sparsity.kl_divergence(rho, q.clamp(1e-7, 1 - 1e-7)))


@pytest.mark.parametrize("wrong, text", [
    (lambda rho, q: q * torch.log(q / rho) + (1 - q) * torch.log((1 - q) / (1 - rho)), "swapped the arguments"),
    (lambda rho, q: (rho * torch.log(rho / q) + (1 - rho) * torch.log((1 - rho) / (1 - q))) / math.log(2), "log base 2"),
    (lambda rho, q: rho * torch.log(rho / q), "second term is missing"),
    (lambda rho, q: float(sparsity.kl_divergence(rho, q).sum()), "not a torch tensor"),
    (lambda rho, q: (rho - q) ** 2, "wrong values"),
    (lambda rho, q: rho * torch.log(rho / q) - (1 - rho) * torch.log((1 - rho) / (1 - q)), "wrong values"),
    (lambda rho, q: torch.nn.functional.kl_div(torch.log(q), torch.full_like(q, rho), reduction="none"),
     "second term is missing"),
])
def test_kl_divergence_rejects_wrong_versions(wrong, text):
    _fails_with(check_kl_divergence(wrong), text)


# ---------------------------------------------------------------- kl_sparsity_penalty


def _penalty_with_eps(eps):
    def kl_sparsity_penalty(a, rho, beta):
        rho_hat = a.mean(0).clamp(min=eps, max=1 - eps)
        return beta * sparsity.kl_divergence(rho, rho_hat).sum()
    return kl_sparsity_penalty


def _penalty_clamping_the_logs(a, rho, beta):
    q = a.mean(dim=0)
    first = rho * (math.log(rho) - torch.log(q.clamp_min(1e-8)))
    second = (1 - rho) * (math.log(1 - rho) - torch.log((1 - q).clamp_min(1e-8)))
    return beta * torch.sum(first + second)


@pytest.mark.parametrize("eps", [1e-4, 1e-5, 1e-6, 1e-7])
def test_penalty_accepts_any_small_eps(eps):
    assert check_kl_sparsity_penalty(_penalty_with_eps(eps))


def test_penalty_accepts_reference_and_other_forms():
    assert check_kl_sparsity_penalty(sparsity.kl_sparsity_penalty)
    assert check_kl_sparsity_penalty(_penalty_clamping_the_logs)


def test_penalty_eps_too_small_for_float32_is_explained():
    # 1 - 1e-8 rounds to 1.0 in float32: a unit saturated at 1 still gives inf.
    result = check_kl_sparsity_penalty(_penalty_with_eps(1e-8))
    _fails_with(result, "1 - 1e-8 rounds to exactly 1.0")
    assert "a unit saturated at 1.0" in result.hint


def _no_clamp_nan(a, rho, beta):
    q = a.mean(0)
    return beta * (rho * torch.log(rho / q) + (1 - rho) * (torch.log(1 - torch.tensor(rho)) - torch.log(1 - q))).sum()


@pytest.mark.parametrize("wrong, text", [
    (lambda a, rho, beta: beta * sparsity.kl_divergence(rho, a.mean(1).clamp(1e-6, 1 - 1e-6)).sum(),
     "averaged over the units"),
    (lambda a, rho, beta: beta * sparsity.kl_divergence(rho, a.mean(0)).sum(), "Clamp rho_hat"),
    (_no_clamp_nan, "Clamp rho_hat"),
    (lambda a, rho, beta: beta * sparsity.kl_divergence(rho, a.mean(0).clamp(1e-6, 1 - 1e-6)).mean(),
     "averaged the KL over the units"),
    (lambda a, rho, beta: sparsity.kl_divergence(rho, a.mean(0).clamp(1e-6, 1 - 1e-6)).sum(),
     "forgot to multiply by beta"),
    (lambda a, rho, beta: (beta * sparsity.kl_divergence(rho, a.mean(0).clamp(1e-6, 1 - 1e-6)).sum()).item(),
     "not a torch tensor"),
    (lambda a, rho, beta: beta * sparsity.kl_divergence(rho, a.mean(0).clamp(1e-6, 1 - 1e-6)),
     "does not match"),
    (lambda a, rho, beta: beta * sparsity.kl_divergence(rho, a.mean(0).clamp(1e-6, 1 - 1e-6)).sum().detach(),
     "no gradient flows"),
    (lambda a, rho, beta: beta * sparsity.kl_divergence(rho, torch.sigmoid(a).mean(0).clamp(1e-6, 1 - 1e-6)).sum(),
     "applied a sigmoid"),
])
def test_penalty_rejects_wrong_versions(wrong, text):
    _fails_with(check_kl_sparsity_penalty(wrong), text)


def test_penalty_compare_is_tight_unless_saturated():
    ref = torch.tensor(2.0)
    assert lesson03._penalty_compare(torch.tensor(2.0 + 1e-6), ref)
    assert not lesson03._penalty_compare(torch.tensor(2.02), ref)
    assert not lesson03._penalty_compare(torch.tensor([2.0]), ref)
    saturated = lesson03._penalty_compare_saturated
    assert saturated(torch.tensor(5.9), ref)
    assert not saturated(torch.tensor(6.1), ref)
    assert not saturated(torch.tensor(0.6), ref)
    assert not saturated(torch.tensor(math.inf), ref)
    assert lesson03._penalty_compare(torch.tensor(math.nan), torch.tensor(math.inf))


# ---------------------------------------------------------------- lifetime_and_population_sparsity


def test_sparsities_accept_reference_and_other_forms():
    assert check_lifetime_and_population_sparsity(
        lambda Z, threshold: (metrics.lifetime_sparsity(Z, threshold), metrics.population_sparsity(Z, threshold)))

    def by_hand(Z, threshold=0.5):
        active = (Z.abs() > threshold).to(torch.float64)
        return active.sum(0) / Z.shape[0], active.sum(1) / Z.shape[1]

    assert check_lifetime_and_population_sparsity(by_hand)
    assert check_lifetime_and_population_sparsity(
        lambda Z, threshold: [torch.where(Z.abs() > threshold, 1.0, 0.0).mean(d) for d in (0, 1)])


@pytest.mark.parametrize("wrong, text", [
    (lambda Z, t: ((Z.abs() > t).float().mean(1), (Z.abs() > t).float().mean(0)), "swapped"),
    (lambda Z, t: ((Z.abs() > t).float().sum(0), (Z.abs() > t).float().sum(1)), "returned counts"),
    (lambda Z, t: ((Z.abs() >= t).float().mean(0), (Z.abs() >= t).float().mean(1)), "strict inequality"),
    (lambda Z, t: ((Z > t).float().mean(0), (Z > t).float().mean(1)), "magnitude"),
    (lambda Z, t: ((Z.abs() > t).float().mean(0),), "does not match"),
    (lambda Z, t: ((Z.abs() > t).float().mean(0), (Z.abs() > t).float().mean(0)), "does not match"),
    (lambda Z, t: ((Z.abs() > t).float().mean(0).tolist(), (Z.abs() > t).float().mean(1).tolist()),
     "does not match"),
])
def test_sparsities_reject_wrong_versions(wrong, text):
    _fails_with(check_lifetime_and_population_sparsity(wrong), text)




# ---------------------------------------------------------------- the build exercise: kl_step


def _kl_step_with_library_pieces(model, optimizer, x, rho, beta):
    x_hat, a = model(x)
    loss = metrics.reconstruction_error(x, x_hat) + sparsity.kl_sparsity_penalty(a, rho, beta)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def _kl_step_written_out(model, optimizer, x, rho, beta):
    x_hat, a = model(x)
    q = torch.clamp(a.sum(0) / a.shape[0], 1e-7, 1 - 1e-7)
    kl = torch.sum(rho * torch.log(rho / q) + (1 - rho) * torch.log((1 - rho) / (1 - q)))
    loss = torch.nn.functional.mse_loss(x_hat, x, reduction="sum") / len(x) + beta * kl
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return float(loss.detach())


@pytest.mark.parametrize("fn", [_kl_step_with_library_pieces, _kl_step_written_out])
def test_differently_written_kl_steps_pass(fn):
    result = lesson03.check_kl_step(fn)
    assert result.status == "pass", (result.message, result.hint)


def test_kl_step_without_zero_grad_is_caught():
    def no_zero_grad(model, optimizer, x, rho, beta):
        x_hat, a = model(x)
        loss = metrics.reconstruction_error(x, x_hat) + sparsity.kl_sparsity_penalty(a, rho, beta)
        loss.backward()
        optimizer.step()
        return loss.item()

    result = lesson03.check_kl_step(no_zero_grad)
    assert result.status == "fail" and result.message.startswith("wrong values on case")
