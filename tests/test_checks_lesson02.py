"""Lesson 02 checks: they accept correct code, and name the mistake in wrong code."""
from __future__ import annotations

import pytest
import torch

from course_lib import checks, course, models, sparsity, train
from course_lib.checks.lesson02 import (
    DECODER_L1_MISTAKES,
    L1_MISTAKES,
    L2_MISTAKES,
    RENORMALIZE_MISTAKES,
    SPARSE_LOSS_MISTAKES,
    check_decoder_weighted_l1,
    check_l1_penalty,
    check_l2_penalty,
    check_renormalize_columns,
    check_sparse_loss,
)

CHECKS = {
    "l1_penalty": (check_l1_penalty, L1_MISTAKES),
    "sparse_loss": (check_sparse_loss, SPARSE_LOSS_MISTAKES),
    "l2_penalty": (check_l2_penalty, L2_MISTAKES),
    "decoder_weighted_l1": (check_decoder_weighted_l1, DECODER_L1_MISTAKES),
    "renormalize_columns": (check_renormalize_columns, RENORMALIZE_MISTAKES),
}
REFERENCES = {
    "l1_penalty": sparsity.l1_penalty,
    "sparse_loss": sparsity.sparse_loss,
    "l2_penalty": sparsity.l2_penalty,
    "decoder_weighted_l1": sparsity.decoder_weighted_l1,
    "renormalize_columns": sparsity.renormalize_columns,
}


# ---------------------------------------------------------------- correct code passes


def _l1_calling_norm(z, lam):
    return lam * torch.linalg.vector_norm(z, ord=1, dim=1).mean()


def _sparse_loss_using_parts(x, x_hat, z, lam):
    recon = torch.nn.functional.mse_loss(x_hat, x, reduction="sum") / len(x)
    return recon + sparsity.l1_penalty(z, lam)


def _weighted_by_diag(z, W_dec, lam):
    norms = torch.sqrt((W_dec ** 2).sum(dim=0))
    return lam * (z.abs() @ norms).mean()


def _renormalize_loop(W):
    columns = []
    for j in range(W.shape[1]):
        col = W[:, j]
        n = col.norm()
        columns.append(col / n if n > 0 else col.clone())
    return torch.stack(columns, dim=1)


CORRECT = {
    "l1_penalty": [
        _l1_calling_norm,
        lambda z, lam: lam * z.abs().sum() / z.shape[0],
        lambda z, lam: (lam * z).abs().sum(dim=-1).sum() / len(z),
    ],
    "sparse_loss": [
        _sparse_loss_using_parts,
        lambda x, x_hat, z, lam: ((x - x_hat) ** 2 + 0).sum(1).mean() + lam * z.abs().sum(1).mean(),
    ],
    "l2_penalty": [
        lambda z, lam: lam * (z * z).sum(dim=1).mean(),
        lambda z, lam: lam * torch.linalg.vector_norm(z, dim=-1).pow(2).mean(),
    ],
    "decoder_weighted_l1": [
        _weighted_by_diag,
        lambda z, W_dec, lam: lam * (z.abs() * torch.linalg.vector_norm(W_dec, dim=0)).sum() / len(z),
    ],
    "renormalize_columns": [
        _renormalize_loop,
        lambda W: torch.nn.functional.normalize(W, dim=0),
        lambda W: W / torch.clamp(W.norm(dim=0), min=1e-12),
    ],
}


@pytest.mark.parametrize("name,index", [(n, i) for n, fns in CORRECT.items() for i in range(len(fns))])
def test_differently_written_correct_versions_pass(name, index):
    check, _ = CHECKS[name]
    result = check(CORRECT[name][index])
    assert result.status == "pass", result.message


def test_hand_computed_values():
    z = torch.tensor([[1.0, -2.0, 0.0], [0.0, 0.0, 3.0]])
    assert sparsity.l1_penalty(z, 0.5).item() == 1.5            # 0.5 * (3 + 3) / 2
    assert sparsity.l2_penalty(z, 0.5).item() == 3.5            # 0.5 * (5 + 9) / 2
    W = torch.tensor([[3.0, 0.0, 1.0], [4.0, 2.0, 0.0]])         # column norms 5, 2, 1
    x = torch.zeros(2, 2)
    x_hat = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    assert sparsity.sparse_loss(x, x_hat, z, 0.5).item() == 1.5 + 1.5  # recon (1 + 2) / 2
    R = sparsity.renormalize_columns(W)
    assert torch.allclose(R, torch.tensor([[0.6, 0.0, 1.0], [0.8, 1.0, 0.0]]))
    assert torch.allclose(sparsity.renormalize_columns(torch.zeros(3, 2)), torch.zeros(3, 2))


def test_decoder_weighted_l1_hand_value_explained():
    # sample 1: |1|*5 + |-2|*2 + 0*1 = 9; sample 2: 3*1 = 3; mean over the batch = 6
    z = torch.tensor([[1.0, -2.0, 0.0], [0.0, 0.0, 3.0]])
    W = torch.tensor([[3.0, 0.0, 1.0], [4.0, 2.0, 0.0]])
    assert sparsity.decoder_weighted_l1(z, W, 1.0).item() == 6.0


def test_decoder_weighted_l1_is_blind_to_the_scale_trick():
    z = torch.relu(torch.randn(8, 6, generator=torch.Generator().manual_seed(0)))
    W = torch.randn(10, 6, generator=torch.Generator().manual_seed(1))
    c = 10.0
    plain = sparsity.l1_penalty(z / c, 0.1) / sparsity.l1_penalty(z, 0.1)
    weighted = sparsity.decoder_weighted_l1(z / c, W * c, 0.1) / sparsity.decoder_weighted_l1(z, W, 0.1)
    assert plain.item() == pytest.approx(1 / c)
    assert weighted.item() == pytest.approx(1.0)


# ---------------------------------------------------------------- every catalogue entry is named


def test_missing_abs_is_explained_with_the_pre_activation():
    result = check_l1_penalty(lambda z, lam: lam * z.sum(-1).mean())
    assert "pre-activation" in result.message
    assert "negative" in result.message
    assert "code with negative entries" in result.hint


# ---------------------------------------------------------------- wrong code written here


def _l1_in_place(z, lam):
    return lam * z.abs_().sum(-1).mean()


def _l1_item(z, lam):
    return lam * z.abs().sum(-1).mean().item()


def _l1_numpy(z, lam):
    return torch.tensor(lam * abs(z.detach().numpy()).sum(-1).mean())


def _renormalize_in_place(W):
    W /= W.norm(dim=0, keepdim=True).clamp_min(1e-8)
    return W


def _weighted_detached(z, W_dec, lam):
    return lam * (z.abs() * W_dec.norm(dim=0).detach()).sum(-1).mean()


def _sparse_loss_item(x, x_hat, z, lam):
    return float(((x_hat - x) ** 2).sum(-1).mean() + lam * z.abs().sum(-1).mean())


FIRST = "ReLU code, batch of 4, 6 units, lam=0.3"
NEG = "code with negative entries (like a pre-activation), lam=0.5"
WRONG = [
    # (check, wrong function, expected start of the message, text expected in message or hint)
    ("l1_penalty", lambda z, lam: lam * torch.sum(z, dim=1).mean(), L1_MISTAKES[0].hint, f"'{NEG}'"),
    ("l1_penalty", lambda z, lam: lam * torch.norm(z, p=1), L1_MISTAKES[2].hint, "matches"),
    ("l1_penalty", lambda z, lam: lam * torch.abs(z).mean(dim=-1).mean(), L1_MISTAKES[3].hint, "matches"),
    ("l1_penalty", lambda z, lam: lam * torch.abs(z).sum(dim=0).mean(), L1_MISTAKES[4].hint, "matches"),
    ("l1_penalty", lambda z, lam: lam * (z ** 2).sum(-1).mean(), L1_MISTAKES[5].hint, "matches"),
    ("l1_penalty", lambda z, lam: torch.abs(z).sum(1).mean(), L1_MISTAKES[6].hint, "matches"),
    ("l1_penalty", _l1_item, f"returned a float on case '{FIRST}', not a torch tensor", "`.item()`"),
    ("l1_penalty", _l1_numpy, "no gradient flows through your output on case 'float64, lam=0.01'",
     "torch operations"),
    ("l1_penalty", _l1_in_place, f"modified its input in place on case '{NEG}'", "out-of-place"),
    ("l1_penalty", lambda z, lam: lam * z.abs().sum(-1), f"returned shape (4,) but expected () on case '{FIRST}'",
     "dimension"),
    ("sparse_loss", lambda x, x_hat, z, lam: torch.nn.functional.mse_loss(x_hat, x) + lam * z.abs().sum(-1).mean(),
     SPARSE_LOSS_MISTAKES[1].hint, "matches"),
    ("sparse_loss", lambda x, x_hat, z, lam: ((x_hat - x) ** 2).sum(-1).mean() + lam * z.sum(-1).mean(),
     SPARSE_LOSS_MISTAKES[0].hint, f"'{NEG}'"),
    ("sparse_loss", lambda x, x_hat, z, lam: ((x_hat - x) ** 2).sum(-1).mean() + lam * torch.norm(z, 1),
     SPARSE_LOSS_MISTAKES[3].hint, "matches"),
    ("sparse_loss", lambda x, x_hat, z, lam: ((x_hat - x) ** 2).sum(-1).mean() + z.abs().sum(-1).mean(),
     SPARSE_LOSS_MISTAKES[5].hint, "matches"),
    ("sparse_loss", _sparse_loss_item,
     "returned a float on case 'batch of 4, 12 pixels, 6 units, lam=0.3', not a torch tensor", "gradients"),
    ("sparse_loss", lambda x, x_hat, z, lam: ((x_hat - x) ** 2).sum(-1).mean() + lam * (z.abs().sum(-1) ** 2).mean(),
     "wrong values on case 'batch of 4, 12 pixels, 6 units, lam=0.3'", "formula"),
    ("l2_penalty", lambda z, lam: lam * z.abs().sum(-1).mean(), L2_MISTAKES[0].hint, "matches"),
    ("l2_penalty", lambda z, lam: lam * torch.linalg.norm(z, dim=1).mean(), L2_MISTAKES[1].hint, "matches"),
    ("l2_penalty", lambda z, lam: lam / 2 * (z ** 2).sum(-1).mean(), L2_MISTAKES[6].hint, "matches"),
    ("l2_penalty", lambda z, lam: lam * z.norm() ** 2, L2_MISTAKES[2].hint, "matches"),
    ("l2_penalty", lambda z, lam: (z ** 2).sum(-1).mean(), L2_MISTAKES[5].hint, "matches"),
    ("decoder_weighted_l1", lambda z, W, lam: lam * (z.abs() * torch.linalg.norm(W, dim=1)).sum(-1).mean(),
     DECODER_L1_MISTAKES[0].hint, "matches"),
    ("decoder_weighted_l1", lambda z, W, lam: lam * z.abs().sum(-1).mean(), DECODER_L1_MISTAKES[3].hint, "matches"),
    ("decoder_weighted_l1", lambda z, W, lam: lam * (z.abs() * (W ** 2).sum(0)).sum(-1).mean(),
     DECODER_L1_MISTAKES[1].hint, "matches"),
    ("decoder_weighted_l1", _weighted_detached,
     "no gradient reaches argument 2 on case 'float64, lam=0.05'", "torch operations"),
    ("decoder_weighted_l1", lambda z, W, lam: lam * (z.abs() * W.norm(dim=0)).sum(-1),
     "returned shape (4,) but expected () on case 'square decoder (6 pixels, 6 latents), batch of 4, lam=0.3'",
     "dimension"),
    ("renormalize_columns", lambda W: torch.nn.functional.normalize(W, dim=1), RENORMALIZE_MISTAKES[0].hint, "matches"),
    ("renormalize_columns", _renormalize_in_place,
     "modified its input in place on case 'square 5 x 5 matrix'; compute a new tensor instead", "out-of-place"),
    ("renormalize_columns", lambda W: W / torch.linalg.norm(W), RENORMALIZE_MISTAKES[2].hint, "matches"),
    ("renormalize_columns", lambda W: W / W.norm(dim=0), RENORMALIZE_MISTAKES[6].hint, "matches"),
    ("renormalize_columns", lambda W: W / (W ** 2).sum(0), RENORMALIZE_MISTAKES[3].hint, "matches"),
    ("renormalize_columns", lambda W: (W / W.norm(dim=0, keepdim=True).clamp_min(1e-8)).t(),
     "wrong values on case 'square 5 x 5 matrix'", "formula"),
]


@pytest.mark.parametrize("name,fn,message,extra", WRONG, ids=[f"{w[0]}-{i}" for i, w in enumerate(WRONG)])
def test_wrong_implementations_are_diagnosed(name, fn, message, extra):
    check, _ = CHECKS[name]
    result = check(fn)
    assert result.status == "fail" and not result
    assert result.message.startswith(message), result.message
    assert extra in result.message + " " + result.hint


# ---------------------------------------------------------------- stubs, strict mode, progress


def test_progress_records_the_lesson_02_checks():
    check_l1_penalty(REFERENCES["l1_penalty"])
    check_sparse_loss(REFERENCES["sparse_loss"])
    check_l2_penalty(L2_MISTAKES[0].fn)
    table = course.summary("02")
    assert table["02"]["check"] == {"passed": 2, "total": 7}


# ---------------------------------------------------------------- the build exercise: constrained_step


def _step_with_library_pieces(model, optimizer, x, lam):
    x_hat, z = model(x)
    loss = sparsity.sparse_loss(x, x_hat, z, lam)
    optimizer.zero_grad()
    loss.backward()
    W = model.decoder.weight
    W.grad = sparsity.project_decoder_grad(W.detach(), W.grad)
    optimizer.step()
    W.data = sparsity.renormalize_columns(W.data)
    return float(loss)


def _step_unit_columns_first(model, optimizer, x, lam):
    """Correct, written differently: the projection uses unit copies of the columns."""
    x_hat, z = model(x)
    loss = (x_hat - x).pow(2).sum(1).mean() + lam * z.abs().sum(1).mean()
    optimizer.zero_grad()
    loss.backward()
    with torch.no_grad():
        W = model.decoder.weight
        U = W / W.norm(dim=0, keepdim=True)
        W.grad.sub_(U * (U * W.grad).sum(0, keepdim=True))
        optimizer.step()
        W.div_(W.norm(dim=0, keepdim=True).clamp_min(1e-8))
    return loss.item()


@pytest.mark.parametrize("fn", [_step_with_library_pieces, _step_unit_columns_first])
def test_differently_written_constrained_steps_pass(fn):
    result = checks.check_constrained_step(fn)
    assert result.status == "pass", (result.message, result.hint)


def test_the_reference_constrained_step_keeps_unit_columns_and_lowers_the_loss():
    torch.manual_seed(0)
    x = torch.rand(32, 12)
    model = models.Autoencoder(12, 20, seed=0)  # a fresh decoder: columns shorter than 1
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = [train.constrained_step(model, optimizer, x, 0.05) for _ in range(30)]
    norms = model.decoder.weight.norm(dim=0)
    assert torch.allclose(norms, torch.ones_like(norms), atol=1e-5)
    assert losses[-1] < losses[0]
