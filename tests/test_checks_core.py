"""The grading harness, exercised on a toy exercise: ``double(x) = 2 * x``."""
from __future__ import annotations

import pytest
import torch

from course_lib import progress
from course_lib.checks import After, Case, Check, CheckResult, Mistake, run_check
from course_lib.checks import core
from course_lib.checks.core import rand


def reference(x):
    return 2 * x


CASES = [
    Case("batch of 1", lambda: (torch.tensor([[1.0, 2.0, 3.0]]),)),
    Case("float64 input", lambda: (rand(4, 3, seed=1, dtype=torch.float64),)),
    Case("3-d input", lambda: (rand(2, 3, 5, seed=2),)),
]
MISTAKES = [
    Mistake("You added 2 instead of multiplying by 2.", lambda x: x + 2),
    Mistake("This one always crashes and must be skipped.", lambda x: 1 / 0),
    Mistake("You squared x instead of doubling it.", lambda x: x ** 2),
]


def check_double(fn, **overrides) -> CheckResult:
    options = dict(lesson="99", exercise="double", learner_fn=fn, reference=reference,
                   cases=CASES, mistakes=MISTAKES, grad_cases=("float64 input",))
    options.update(overrides)
    return run_check(**options)


def test_correct_function_passes(capsys):
    result = check_double(lambda x: x * 2)
    assert result.status == "pass" and result.passed and bool(result)
    assert capsys.readouterr().out.strip() == "✅ double: all 3 cases pass."
    assert repr(result) == "CheckResult(double: pass)"
    assert result._ipython_display_() is None


@pytest.mark.parametrize("fn", [None, ..., "def double(x): ..."])
def test_not_callable_is_not_implemented(fn, capsys):
    result = check_double(fn)
    assert result.status == "not_implemented" and not result
    assert result.message == "Not implemented yet: fill in `double` and run this cell again."
    assert capsys.readouterr().out.startswith("⏳ Not implemented yet")


def test_stub_is_not_implemented():
    def double(x):
        # YOUR CODE HERE
        raise NotImplementedError("Replace this line with your code")

    result = check_double(double)
    assert result.status == "not_implemented"
    assert "fill in `double`" in result.message


def test_not_implemented_on_a_later_case_is_a_failure():
    def double(x):
        if x.dim() == 3:
            raise NotImplementedError
        return 2 * x

    result = check_double(double)
    assert result.status == "fail"
    assert result.message == "raised NotImplementedError on case '3-d input'"


def test_raising_learner_gets_one_line_and_the_failing_line(capsys):
    def double(x):
        raise ValueError("bad input\nsecond line")

    result = check_double(double)
    assert result.status == "fail"
    assert result.message == "raised ValueError: bad input on case 'batch of 1'"
    assert result.hint == 'It happened at: raise ValueError("bad input\\nsecond line")'
    out = capsys.readouterr().out
    assert out.startswith("❌ double: raised ValueError: bad input on case 'batch of 1'")
    assert "Traceback" not in out


def test_returning_a_float_breaks_backprop():
    result = check_double(lambda x: float((2 * x).sum()))
    assert result.status == "fail"
    assert result.message == "returned a float on case 'batch of 1', not a torch tensor"
    assert "`.item()`" in result.hint and "gradients" in result.hint


def test_returning_numpy_is_diagnosed():
    result = check_double(lambda x: (2 * x).numpy())
    assert result.message == "returned a ndarray on case 'batch of 1', not a torch tensor"


def test_missing_return():
    def double(x):
        2 * x

    result = check_double(double)
    assert result.message == "returned None on case 'batch of 1'"
    assert "`return`" in result.hint


def test_in_place_modification_of_the_input():
    def double(x):
        x *= 2
        return x

    result = check_double(double)
    assert result.status == "fail"
    assert result.message == (
        "modified its input in place on case 'batch of 1'; compute a new tensor instead")


def test_in_place_allowed_when_the_exercise_asks_for_it():
    def double(x):
        x *= 2
        return x

    assert check_double(double, check_inplace=False, grad_cases=()).status == "pass"


def test_in_place_on_a_grad_input_is_explained():
    def double(x):
        if x.requires_grad:
            x.mul_(2)
            return x
        return 2 * x

    result = check_double(double)
    assert result.message.startswith("raised RuntimeError: a leaf Variable that requires grad")
    assert "in-place operation" in result.hint


def test_wrong_shape():
    result = check_double(lambda x: (2 * x).flatten())
    assert result.status == "fail"
    assert result.message == "returned shape (3,) but expected (1, 3) on case 'batch of 1'"
    assert "keepdim" in result.hint


def test_known_mistake_is_named():
    result = check_double(lambda x: x + 2)
    assert result.status == "fail"
    assert result.message == "You added 2 instead of multiplying by 2."
    assert result.hint == "(Your output on case 'batch of 1' matches this common mistake.)"


def test_later_mistake_matches_after_a_crashing_one():
    result = check_double(lambda x: x * x)
    assert result.message == "You squared x instead of doubling it."


def test_generic_mismatch_shows_expected_and_got(capsys):
    result = check_double(lambda x: 3 * x)
    assert result.status == "fail"
    assert result.message == ("wrong values on case 'batch of 1': expected 2, got 3 at index [0, 0] "
                              "(3 of 3 values differ)")
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"❌ double: {result.message}"
    assert out[1].startswith("   Hint: ")


def test_nan_output_gets_a_specific_hint():
    result = check_double(lambda x: 2 * x * torch.log(x - x))
    assert result.status == "fail"
    assert "wrong values" in result.message
    assert "NaN or inf" in result.hint


def test_float64_input_may_return_float32():
    assert check_double(lambda x: (2 * x).float()).status == "pass"


def test_detached_output_has_no_gradient():
    result = check_double(lambda x: (2 * x).detach())
    assert result.status == "fail"
    assert result.message == ("no gradient flows through your output on case 'float64 input': "
                              "did you detach, call .item() or use numpy?")


def test_wrong_gradient_with_right_values():
    result = check_double(lambda x: (2 * x).detach() + x - x.detach())
    assert result.status == "fail"
    assert result.message.startswith(
        "the values are right but the gradient with respect to argument 1 is wrong on case 'float64 input'")


def test_output_on_another_device_than_the_input():
    cases = [Case("on meta", lambda: (torch.empty(2, 3, device="meta"),))]
    # meta tensors hold no values, so the in-place test (which reads them) is switched off
    result = check_double(lambda x: torch.zeros(2, 3), cases=cases, mistakes=[], grad_cases=(),
                          check_inplace=False)
    assert result.status == "fail"
    assert result.message == "returned a tensor on cpu for an input on meta (case 'on meta')"
    assert "x.device" in result.hint


@pytest.mark.gpu
def test_device_case_on_the_course_device():
    from course_lib.device import get_device

    device = get_device()
    cases = CASES + [Case("on device", lambda: (rand(4, 3, seed=3, device=device),))]
    assert check_double(lambda x: 2 * x, cases=cases).status == "pass"
    result = check_double(lambda x: 2 * x.cpu(), cases=cases)
    assert result.message == f"returned a tensor on cpu for an input on {rand(1, seed=0, device=device).device} (case 'on device')"


def test_number_exercise_accepts_floats_and_scalar_tensors():
    cases = [Case("vector", lambda: (torch.tensor([1.0, 2.0, 4.0]),))]
    options = dict(reference=lambda x: x.mean(), cases=cases, mistakes=[], grad_cases=(), returns="number")
    assert check_double(lambda x: float(x.mean()), **options).status == "pass"
    assert check_double(lambda x: x.mean(), **options).status == "pass"
    result = check_double(lambda x: x / 3, **options)
    assert result.message == "returned a tensor of shape (3,) on case 'vector', expected a single number"


def test_any_return_compares_tuples_and_custom_compare():
    cases = [Case("pair", lambda: (torch.tensor([1.0, -2.0]),))]
    options = dict(reference=lambda x: (x.relu(), x.abs()), cases=cases, mistakes=[], grad_cases=(),
                   returns="any")
    assert check_double(lambda x: (x.clamp(min=0), x.abs()), **options).status == "pass"
    result = check_double(lambda x: (x.relu(), x), **options)
    assert result.message == ("wrong values on case 'pair': item 1: expected 2, got -2 at index [1] "
                              "(1 of 2 values differ)")
    same_sign = dict(options, compare=lambda out, ref: torch.equal(out[0].sign(), ref[0].sign()))
    assert check_double(lambda x: (3 * x.relu(), x), **same_sign).status == "pass"


def test_strict_mode_raises_after_printing_and_recording(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    with pytest.raises(AssertionError, match=r"^double: You added 2 instead of multiplying by 2\.$"):
        check_double(lambda x: x + 2)
    assert capsys.readouterr().out.startswith("❌ double: You added 2")
    assert progress.load()["lessons"]["99"]["check"]["double"]["passed"] is False
    with pytest.raises(AssertionError, match="Not implemented yet"):
        check_double(None)
    assert check_double(reference).passed  # a pass never raises


def test_result_is_recorded_in_progress():
    check_double(lambda x: x + 2)
    check_double(reference)
    check_double(lambda x: x + 2)
    entry = progress.load()["lessons"]["99"]["check"]["double"]
    assert entry["passed"] is True and entry["attempts"] == 3


def test_check_bug_is_an_error_not_a_learner_failure(monkeypatch, capsys):
    def broken_reference(x):
        raise KeyError("oops")

    result = check_double(reference, reference=broken_reference)
    assert result.status == "error"
    assert result.message.startswith("the check itself failed (KeyError: 'oops')")
    assert capsys.readouterr().out.startswith("⚠️  double: the check itself failed")
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    with pytest.raises(AssertionError) as info:
        check_double(reference, reference=broken_reference)
    assert isinstance(info.value.__cause__, KeyError)


def test_keyboard_interrupt_propagates():
    def double(x):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        check_double(double)


def test_global_rng_state_is_untouched():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    check_double(lambda x: 2 * x + 0 * torch.rand(()))
    assert torch.equal(torch.get_rng_state(), before)


def test_rand_is_reproducible_and_in_range():
    a = rand(3, 4, seed=7)
    assert torch.equal(a, rand(3, 4, seed=7))
    assert not torch.equal(a, rand(3, 4, seed=8))
    assert a.dtype == torch.float32 and a.shape == (3, 4)
    assert torch.allclose(rand(3, 4, seed=7, dtype=torch.float64).float(), a)
    b = rand(1000, seed=0, low=2.0, high=5.0)
    assert b.min() >= 2.0 and b.max() < 5.0


def test_registry_lists_checks_per_lesson_in_declaration_order():
    registry = core.Registry()
    for lesson, name in (("02", "l1_penalty"), ("02", "kl_penalty"), ("02", "l1_penalty"), ("99", "double")):
        registry.add(Check(lesson, name, reference, CASES, register=False))
    assert registry.by_lesson() == {"02": ["l1_penalty", "kl_penalty"], "99": ["double"]}
    with pytest.raises(ValueError, match="declared by lessons 02 and 03"):
        registry.add(Check("03", "l1_penalty", reference, CASES, register=False))
    with pytest.raises(KeyError, match="no check named 'nope'"):
        registry.get("nope")


def test_an_ad_hoc_check_is_not_registered():
    check_double(reference)
    assert "99" not in core.registered()


def test_check_decorator_names_the_check_after_the_function():
    registry_before = dict(core.registered())

    @core.check("99", reference=reference, register=False)
    def check_double_twice():
        """Grade ``double_twice``."""
        return CASES

    assert isinstance(check_double_twice, Check)
    assert check_double_twice.name == "double_twice" and check_double_twice.__doc__ == "Grade ``double_twice``."
    assert core.registered() == registry_before
    assert check_double_twice(lambda x: 2 * x).passed


# ---------------------------------------------------------------- contracts beyond "same output"


def _checked_double(x, factor=2):
    if factor <= 0:
        raise ValueError("factor must be positive")
    return factor * x


RAISES = [Case("factor 2", lambda: (torch.ones(3),)),
          Case("factor 0 (must raise ValueError)", lambda: (torch.ones(3), 0), raises=ValueError,
               hint="Check that factor is positive and raise a ValueError.")]


def test_a_case_may_expect_an_exception():
    options = dict(reference=_checked_double, cases=RAISES, mistakes=[], grad_cases=())
    assert check_double(_checked_double, **options).passed
    result = check_double(lambda x, factor=2: factor * x, **options)
    assert result.message == "Check that factor is positive and raise a ValueError."
    assert result.hint == ("On case 'factor 0 (must raise ValueError)' your function returned a value; "
                           "it must raise ValueError.")
    def wrong_type(x, factor=2):
        if factor <= 0:
            raise TypeError("no")
        return factor * x
    assert "raised TypeError" in check_double(wrong_type, **options).hint


def test_an_exception_case_names_the_mistake_that_behaves_the_same():
    unchecked = Mistake("You do not check the factor.", lambda x, factor=2: factor * x)
    options = dict(reference=_checked_double, cases=RAISES, mistakes=[unchecked], grad_cases=())
    result = check_double(lambda x, factor=2: x * factor, **options)
    assert result.message == "You do not check the factor."


def test_a_post_condition_is_tested_after_the_call():
    fresh = After("left its input marked", "Do not set attributes on the input.",
                  lambda args, kwargs, out: not hasattr(args[0], "seen"))
    cases = [Case("a tensor", lambda: (torch.ones(2),))]
    options = dict(cases=cases, mistakes=[], grad_cases=(), after=(fresh,), check_inplace=False)

    def marks(x):
        x.seen = True
        return 2 * x

    assert check_double(lambda x: 2 * x, **options).passed
    result = check_double(marks, **options)
    assert result.message == "left its input marked on case 'a tensor'"
    assert result.hint == "Do not set attributes on the input."
    named = dict(options, mistakes=[Mistake("You marked the input.", marks)])
    assert check_double(marks, **named).message == "You marked the input."


def test_a_case_may_bring_its_own_comparison():
    loose = Case("loose", lambda: (torch.ones(2),), compare=lambda out, ref: bool((out - ref).abs().max() < 1))
    options = dict(cases=[loose], mistakes=[], grad_cases=())
    assert check_double(lambda x: 2 * x + 0.5, **options).passed
    assert not check_double(lambda x: 2 * x + 1.5, **options).passed


def test_a_custom_comparison_reports_shape_and_dtype():
    cases = [Case("mask", lambda: (torch.tensor([1.0, -1.0]),))]
    options = dict(reference=lambda x: x > 0, cases=cases, mistakes=[], grad_cases=(), returns="any",
                   compare=lambda out, ref: isinstance(out, torch.Tensor) and out.dtype == ref.dtype
                   and torch.equal(out, ref))
    assert check_double(lambda x: x > 0, **options).passed
    assert "dtype float32 but expected bool" in check_double(lambda x: (x > 0).float(), **options).message
    assert "shape (1, 2) but expected (2,)" in check_double(lambda x: (x > 0)[None], **options).message
