"""course_lib.claims: one line per claim, strict only outside fast mode, malformed claims rejected."""
import numpy as np
import pytest
import torch

from course_lib import claims
from course_lib.claims import ClaimError, claim


@pytest.fixture
def lenient(monkeypatch):
    monkeypatch.delenv("COURSE_STRICT_CLAIMS", raising=False)
    monkeypatch.delenv("COURSE_FAST", raising=False)


def test_a_claim_that_holds_prints_a_tick_with_its_numbers(lenient, capsys):
    claim("L0 falls from {a:.0f} to {b:.0f}", 9.2 < 1005.7, a=1005.7, b=9.2)
    assert capsys.readouterr().out == "✓ L0 falls from 1006 to 9\n"
    assert claims.made()[-1].holds is True


def test_a_claim_that_fails_prints_a_cross_and_the_numbers(lenient, capsys):
    claim("FVU below {limit}", 0.2 < 0.1, limit=0.1, fvu=0.2)
    out = capsys.readouterr().out
    assert out.startswith("✗ FVU below 0.1") and "fvu = 0.2" in out


def test_strict_claims_raise_outside_fast_mode_only(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_STRICT_CLAIMS", "1")
    monkeypatch.setenv("COURSE_FAST", "0")
    with pytest.raises(ClaimError, match="✗ x is positive"):
        claim("x is positive", False, x=-1)
    claim("x is negative", True, x=-1)
    monkeypatch.setenv("COURSE_FAST", "1")
    claim("x is positive", False, x=-1)  # reported, not enforced
    assert capsys.readouterr().out.count("✗") == 2


def test_a_non_finite_number_never_supports_a_claim(lenient, capsys):
    claim("loss is {loss}", True, loss=float("nan"))
    assert capsys.readouterr().out.startswith("✗")


def test_numbers_and_conditions_from_numpy_and_torch(lenient, capsys):
    claim("mean {m:.1f}", torch.tensor(True), m=torch.tensor(2.0))
    claim("mean {m:.1f}", np.bool_(True), m=np.float32(2.0))
    claim("mean {m:.1f}", lambda: True, m=np.int64(2))
    assert capsys.readouterr().out.splitlines() == ["✓ mean 2.0"] * 3


@pytest.mark.parametrize("kwargs, error, message", [
    ({"statement": "", "holds": True}, TypeError, "non-empty string"),
    ({"statement": "{missing}", "holds": True, "x": 1}, KeyError, "uses {missing}"),
    ({"statement": "s", "holds": torch.tensor([True, False])}, TypeError, r"\.all\(\) or \.any\(\)"),
    ({"statement": "s", "holds": "yes"}, TypeError, "True or False"),
    ({"statement": "s", "holds": True, "x": torch.ones(3)}, TypeError, "tensor of 3 elements"),
    ({"statement": "s", "holds": True, "x": "big"}, TypeError, "must be a number"),
])
def test_malformed_claims_are_bugs_and_always_raise(lenient, kwargs, error, message):
    with pytest.raises(error, match=message):
        claim(**kwargs)
