"""course_lib.evaluation.loss_recovered."""
import pytest
import torch

from course_lib.evaluation import loss_recovered


def test_loss_recovered_endpoints():
    assert loss_recovered(0.3, 0.3, 2.3) == pytest.approx(1.0)
    assert loss_recovered(0.3, 2.3, 2.3) == pytest.approx(0.0)
    assert loss_recovered(0.3, 3.3, 2.3) == pytest.approx(-0.5)
    assert loss_recovered(torch.tensor(0.3), torch.tensor(1.3), 2.3) == pytest.approx(0.5)


@pytest.mark.parametrize("args, message", [
    ((0.5, 0.6, 0.5), "no loss to recover"),
    ((float("nan"), 0.6, 1.0), "must be finite"),
    (("0.5", 0.6, 1.0), "must be a number"),
])
def test_loss_recovered_rejects_bad_input(args, message):
    with pytest.raises((TypeError, ValueError), match=message):
        loss_recovered(*args)
