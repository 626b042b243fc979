"""Goal exercises (checks.goal.GoalCheck): settings are read twice, trained once, and reported.

The registry-wide tests (test_checks.py) prove every goal's reference passes and each catalogued
bad setting gets its verdict's advice; these cover what is specific to goals.
"""
from __future__ import annotations

import itertools

import pytest

from course_lib import progress, sparsity
from course_lib.checks import Mistake, REGISTRY, check_autoencoder_settings, check_l1_lambda
from course_lib.checks.goal import PASS, GoalCheck, Landing


def test_settings_that_change_from_one_call_to_the_next_fail():
    values = itertools.cycle([0.5, 0.9])
    result = check_l1_lambda.grade(lambda: next(values))
    assert result.status == "fail"
    assert "returned 0.5, then 0.9" in result.message and "same settings" in result.message


def test_settings_that_raise_name_the_line():
    def settings():
        return {"n_latent": 512, "epochs": 5, "lr": 2e-3}["learning_rate"]

    result = check_autoencoder_settings.grade(settings)
    assert result.status == "fail"
    assert result.message.startswith("`autoencoder_settings()` raised KeyError")
    assert "learning_rate" in result.hint


def test_trial_prints_where_settings_land_and_records_nothing(capsys):
    before = progress.load()
    landing = check_autoencoder_settings.trial({"n_latent": 2048, "epochs": 5, "lr": 1e-3})
    assert landing.verdict == "budget" and not landing.passed
    out = capsys.readouterr().out
    assert "n_latent=2048" in out and "Stay inside the budget" in out
    assert progress.load() == before


def test_a_mistake_must_carry_a_verdicts_advice():
    n = len(list(REGISTRY))
    with pytest.raises(ValueError, match="one of its verdicts"):
        GoalCheck("02", "made_up_goal", lambda: 1.0, measure=lambda s: Landing(PASS, ""),
                  verdicts={"low": "Raise it."}, mistakes=[Mistake("Something else.", lambda: 0.0)])
    assert len(list(REGISTRY)) == n


def test_the_same_setting_lands_in_the_same_place():
    first, second = check_l1_lambda.grade(lambda: 0.8), check_l1_lambda.grade(lambda: 0.8)
    assert first.status == second.status == "pass"
    assert first.message == second.message


def test_trial_trains_with_the_learners_step():
    def step_without_step(model, optimizer, x, lam):  # forgets optimizer.step(): nothing learns
        x_hat, z = model(x)
        loss = sparsity.sparse_loss(x, x_hat, z, lam)
        optimizer.zero_grad()
        loss.backward()
        return loss.item()

    landing = check_l1_lambda.trial(0.8, step=step_without_step)
    assert not landing.passed and landing.verdict != PASS
