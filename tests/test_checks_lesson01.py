"""Lesson 01 checks: they accept correct code, and name the mistake in wrong code."""
from __future__ import annotations

import pytest
import torch

from course_lib import course, metrics, models, train
from course_lib.checks.lesson01 import (
    DEAD_MISTAKES,
    FVU_MISTAKES,
    L0_MISTAKES,
    RECONSTRUCTION_MISTAKES,
    check_dead_fraction,
    check_fraction_variance_unexplained,
    check_l0,
    check_reconstruction_error,
    check_tiny_autoencoder,
    check_train_step,
)

CHECKS = {
    "reconstruction_error": (check_reconstruction_error, RECONSTRUCTION_MISTAKES),
    "fraction_variance_unexplained": (check_fraction_variance_unexplained, FVU_MISTAKES),
    "l0": (check_l0, L0_MISTAKES),
    "dead_fraction": (check_dead_fraction, DEAD_MISTAKES),
}
REFERENCES = {
    "reconstruction_error": metrics.reconstruction_error,
    "fraction_variance_unexplained": metrics.fraction_variance_unexplained,
    "l0": metrics.l0,
    "dead_fraction": metrics.dead_fraction,
}


# ---------------------------------------------------------------- correct code passes


def _recon_loop(x, x_hat):
    total = x.new_zeros(())
    for row, row_hat in zip(x, x_hat):
        total = total + torch.sum((row_hat - row) ** 2)
    return total / len(x)


def _fvu_alt(x, x_hat):
    residual = ((x - x_hat) ** 2).sum()
    return float((residual / ((x - x.mean(dim=0, keepdim=True)) ** 2).sum()).detach())


CORRECT = {
    "reconstruction_error": [
        _recon_loop,
        lambda x, x_hat: torch.nn.functional.mse_loss(x_hat, x, reduction="sum") / x.shape[0],
        lambda x, x_hat: torch.linalg.vector_norm(x - x_hat, dim=1).pow(2).mean(),
    ],
    "fraction_variance_unexplained": [
        _fvu_alt,
        lambda x, x_hat: ((x_hat - x) ** 2).mean() / x.var(0, unbiased=False).mean(),
    ],
    "l0": [
        lambda z: z.count_nonzero() / len(z),
        lambda z: torch.count_nonzero(z, dim=1).float().mean(),
        lambda z: float((z != 0).float().sum(1).mean()),
        lambda z: metrics.l0(z),
    ],
    "dead_fraction": [
        lambda z: (z == 0).all(dim=0).float().mean(),
        lambda z: 1 - (z != 0).any(0).sum().item() / z.shape[1],
        lambda z: metrics.dead_fraction(z),
    ],
}


@pytest.mark.parametrize("name,index", [(n, i) for n, fns in CORRECT.items() for i in range(len(fns))])
def test_differently_written_correct_versions_pass(name, index):
    check, _ = CHECKS[name]
    result = check(CORRECT[name][index])
    assert result.status == "pass", result.message


def test_hand_computed_values():
    z = torch.tensor([[0.0, 2.0, 0.0, -1.0], [0.0, 0.0, 0.0, 3.0], [0.0, 1.0, 0.0, 0.0]])
    assert metrics.l0(z) == pytest.approx(4 / 3)   # 2 + 1 + 1 non-zeros over 3 samples
    assert metrics.dead_fraction(z) == 0.5          # units 0 and 2
    x = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    x_hat = torch.tensor([[1.0, 1.0], [2.0, 1.0]])
    assert metrics.reconstruction_error(x, x_hat).item() == 2.5   # (1 + 4) / 2
    assert metrics.fraction_variance_unexplained(x, x_hat) == pytest.approx(5 / 4)


# ---------------------------------------------------------------- every catalogue entry is named


# ---------------------------------------------------------------- wrong code written here


def _fvu_item_then_tensor(x, x_hat):
    return torch.tensor(((x_hat - x) ** 2).sum().item() / ((x - x.mean()) ** 2).sum().item())


def _recon_in_place(x, x_hat):
    x_hat -= x
    return x_hat.pow(2).sum(-1).mean()


def _l0_in_place(z):
    z.abs_()
    return (z > 0).sum(-1).float().mean()


def _dead_in_place(z):
    z[z < 0] = 0
    return (z == 0).all(0).float().mean()


WRONG = [
    # (check name, wrong function, expected message, text expected in the message or hint)
    ("reconstruction_error", lambda x, x_hat: torch.nn.functional.mse_loss(x_hat, x),
     RECONSTRUCTION_MISTAKES[0].hint, "matches this common mistake"),
    ("reconstruction_error", lambda x, x_hat: ((x_hat - x) ** 2).sum(-1).mean().item(),
     "returned a float on case 'batch of 5 images with 12 pixels', not a torch tensor", "`.item()`"),
    ("reconstruction_error", _recon_in_place,  # the first case feeds tensors that require grad
     "raised RuntimeError: a leaf Variable that requires grad is being used in an in-place operation",
     "An in-place operation"),
    ("reconstruction_error", lambda x, x_hat: torch.dist(x, x_hat),
     "wrong values on case 'batch of 5 images with 12 pixels': expected", "formula"),
    ("reconstruction_error", lambda x, x_hat: ((x_hat - x) ** 2).sum(-1),
     "returned shape (5,) but expected () on case 'batch of 5 images with 12 pixels'", "dimension"),
    ("reconstruction_error", lambda x, x_hat: ((x_hat.detach() - x.detach()) ** 2).sum(-1).mean(),
     "no gradient flows through your output on case 'batch of 5 images with 12 pixels': "
     "did you detach, call .item() or use numpy?", "torch operations"),
    ("fraction_variance_unexplained", lambda x, x_hat: ((x_hat - x) ** 2).sum() / (x ** 2).sum(),
     FVU_MISTAKES[0].hint, "matches"),
    ("fraction_variance_unexplained", _fvu_item_then_tensor, FVU_MISTAKES[1].hint, "matches"),
    ("fraction_variance_unexplained", lambda x, x_hat: ((x_hat - x) ** 2).sum() / ((x - x.mean(0)) ** 2).sum(0),
     "returned a tensor of shape (10,) on case 'batch of 6 images with 10 pixels', expected a single number",
     "Reduce to one value"),
    ("fraction_variance_unexplained", lambda x, x_hat: 1 - torch.nn.functional.mse_loss(x_hat, x) / x.var(0).mean(),
     "wrong values on case 'batch of 6 images with 10 pixels'", "formula"),
    ("fraction_variance_unexplained", lambda x, x_hat: ((x_hat - x) ** 2).mean() / x.var(0).mean(),
     FVU_MISTAKES[6].hint, "matches"),
    ("l0", lambda z: (z == 0).float().sum(1).mean(), L0_MISTAKES[0].hint, "matches"),
    ("l0", lambda z: torch.count_nonzero(z).float(), L0_MISTAKES[1].hint, "matches"),
    ("l0", lambda z: torch.sign(z).sum(-1).float().mean(),
     "wrong values on case 'code with negative entries (as before a ReLU)'", "formula"),
    ("l0", _l0_in_place, "modified its input in place on case 'code with negative entries (as before a ReLU)'; "
     "compute a new tensor instead", "out-of-place"),
    ("l0", lambda z: (torch.relu(z) > 0).float().sum(-1).mean(), L0_MISTAKES[5].hint, "matches"),
    ("l0", lambda z: (z != 0).sum(-1).float(),
     "returned a tensor of shape (6,) on case 'ReLU code, batch of 6, 10 units', expected a single number",
     "Reduce"),
    ("dead_fraction", lambda z: (z == 0).all(1).float().mean(), DEAD_MISTAKES[0].hint, "matches"),
    ("dead_fraction", lambda z: (z != 0).any(0).float().sum() / z.shape[1], DEAD_MISTAKES[1].hint, "matches"),
    ("dead_fraction", lambda z: int((z == 0).all(0).sum()), DEAD_MISTAKES[2].hint, "matches"),
    ("dead_fraction", lambda z: (torch.relu(z).max(0).values == 0).float().mean(), DEAD_MISTAKES[4].hint, "matches"),
    ("dead_fraction", _dead_in_place,
     "modified its input in place on case 'code with negative entries (as before a ReLU)'; "
     "compute a new tensor instead", "out-of-place"),
    ("dead_fraction", lambda z: (z == 0).all(0).float(),
     "returned a tensor of shape (10,) on case 'ReLU code, 6 samples, 3 of 10 units dead', "
     "expected a single number", "Reduce"),
]


@pytest.mark.parametrize("name,fn,message,extra", WRONG, ids=[f"{w[0]}-{i}" for i, w in enumerate(WRONG)])
def test_wrong_implementations_are_diagnosed(name, fn, message, extra):
    check, _ = CHECKS[name]
    result = check(fn)
    assert result.status == "fail" and not result
    assert result.message.startswith(message), result.message
    assert extra in result.message + " " + result.hint


def test_integer_l0_that_cannot_average_is_reported_with_the_line():
    result = check_l0(lambda z: (z != 0).sum(-1).mean())
    assert result.status == "fail"
    assert result.message.startswith("raised RuntimeError")
    assert "It happened at" in result.hint


# ---------------------------------------------------------------- stubs, strict mode, progress


def test_progress_records_the_lesson_01_checks():
    check_l0(REFERENCES["l0"])
    check_dead_fraction(DEAD_MISTAKES[0].fn)
    table = course.summary("01")
    assert table["01"]["check"] == {"passed": 1, "total": 7}


# ---------------------------------------------------------------- the build exercises


class _SequentialAutoencoder(torch.nn.Module):
    """Correct, written differently: the decoder is declared first, the encoder is a Sequential."""

    def __init__(self, n_in, n_latent):
        super().__init__()
        self.dec = torch.nn.Linear(n_latent, n_in)
        self.enc = torch.nn.Sequential(torch.nn.Linear(n_in, n_latent), torch.nn.ReLU())

    def encode(self, x):
        return self.enc(x)

    def decode(self, z):
        return self.dec(z)

    def forward(self, x):
        z = self.encode(x)
        x_hat = self.decode(z)
        return x_hat, z


class _ClampAutoencoder(_SequentialAutoencoder):
    def encode(self, x):
        return self.enc[0](x).clamp(min=0)


def test_other_correct_autoencoders_pass():
    for cls in (_SequentialAutoencoder, _ClampAutoencoder):
        result = check_tiny_autoencoder(cls)
        assert result.status == "pass", (cls.__name__, result.message, result.hint)


class _InitRaises(torch.nn.Module):
    def __init__(self, n_in, n_latent):
        super().__init__()
        self.encoder = torch.nn.Linear(n_in, n_latent)
        self.decoder = torch.nn.Linear(n_latent)  # forgot out_features


class _NoSuper(torch.nn.Module):
    def __init__(self, n_in, n_latent):
        self.encoder = torch.nn.Linear(n_in, n_latent)


class _LeakyCode(_SequentialAutoencoder):
    def encode(self, x):
        return torch.nn.functional.leaky_relu(self.enc[0](x), 0.1)


class _StubMethods(torch.nn.Module):
    def __init__(self, n_in, n_latent):
        super().__init__()

    def forward(self, x):
        raise NotImplementedError


@pytest.mark.parametrize("thing,message", [
    (_InitRaises, "raised TypeError: "),
    (_NoSuper, "raised AttributeError: "),
    (models.TinyAutoencoder(6, 10), "raised TypeError: pass the class itself, not an instance"),
    (lambda n_in, n_latent: None, "raised TypeError: TinyAutoencoder(6, 10) gave a NoneType, not an nn.Module"),
    (_LeakyCode, "wrong values on case '6 inputs -> 10 latents, batch of 4': key 'z >= 0'"),
])
def test_broken_classes_get_a_clear_message(thing, message):
    result = check_tiny_autoencoder(thing)
    assert result.status == "fail"
    assert result.message.startswith(message), result.message


def test_a_class_with_stub_methods_is_not_implemented():
    assert check_tiny_autoencoder(_StubMethods).status == "not_implemented"


def test_the_reference_autoencoder_shapes():
    model = models.TinyAutoencoder(6, 10)
    x_hat, z = model(torch.rand(4, 6))
    assert x_hat.shape == (4, 6) and z.shape == (4, 10) and bool((z >= 0).all())


def _step_zero_grad_after(model, optimizer, x, penalty=None):
    x_hat, z = model(x)
    loss = ((x_hat - x) ** 2).sum(dim=1).mean()
    if penalty is not None:
        loss = loss + penalty(z)
    for p in model.parameters():
        p.grad = None
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return float(loss.detach())


def _step_mse_sum(model, optimizer, x, penalty=None):
    optimizer.zero_grad(set_to_none=False)
    x_hat, z = model(x)
    loss = torch.nn.functional.mse_loss(x_hat, x, reduction="sum") / len(x)
    total = loss + penalty(z) if penalty else loss
    total.backward()
    optimizer.step()
    return total.detach().cpu().item()


def test_other_correct_train_steps_pass():
    for fn in (_step_zero_grad_after, _step_mse_sum):
        result = check_train_step(fn)
        assert result.status == "pass", (fn.__name__, result.message, result.hint)


def _step_ignores_penalty(model, optimizer, x, penalty=None):
    return train.train_step(model, optimizer, x)


def _step_numpy(model, optimizer, x, penalty=None):
    loss = train.train_step(model, optimizer, x, penalty)
    return torch.tensor(loss).numpy()


def _step_detached_loss(model, optimizer, x, penalty=None):
    x_hat, z = model(x)
    loss = metrics.reconstruction_error(x, x_hat.detach())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


@pytest.mark.parametrize("fn,message", [
    (_step_ignores_penalty, "wrong values on case 'SGD with an L1 penalty'"),
    (_step_numpy, "wrong values on case 'SGD, batch of 5 images with 8 pixels': key 'returns': "
     "expected 'a float', got 'a ndarray'"),
    (_step_detached_loss, "wrong values on case 'SGD, batch of 5 images with 8 pixels': key 'returns': "
     "expected 'a float', got 'raised RuntimeError: element 0 of tensors does not require grad"),
])
def test_other_wrong_train_steps(fn, message):
    result = check_train_step(fn)
    assert result.status == "fail"
    assert result.message.startswith(message), result.message


def test_the_loss_falls_with_the_reference_step():
    torch.manual_seed(0)
    x = torch.rand(16, 8)
    model = models.TinyAutoencoder(8, 12)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = [train.train_step(model, opt, x) for _ in range(20)]
    assert all(isinstance(v, float) for v in losses) and losses[-1] < losses[0]
