"""Lesson 06 checks: they accept correct code, and name the mistake in wrong code."""
from __future__ import annotations

import pytest
import torch

from course_lib import capstone
from course_lib.checks.lesson06 import (
    CLASS_PROFILE_MISTAKES,
    PREDICTION_SHIFT_MISTAKES,
    RECORD_MISTAKES,
    SET_FEATURE_MISTAKES,
    SPLICE_MISTAKES,
    check_class_profile,
    check_prediction_shift,
    check_record_activations,
    check_set_feature,
    check_splice_logits,
)


def _unwrap(fn):
    """The learner-style function inside a ``_report_hooks`` wrapper (or ``fn`` itself)."""
    for cell in getattr(fn, "__closure__", None) or ():
        if callable(cell.cell_contents):
            return cell.cell_contents
    return fn


# The catalogue of each check, with its mistakes as a learner would write them.
CATALOGUES = {
    "record_activations": (check_record_activations, [(m.hint, _unwrap(m.fn)) for m in RECORD_MISTAKES]),
    "class_profile": (check_class_profile, [(m.hint, m.fn) for m in CLASS_PROFILE_MISTAKES]),
    "splice_logits": (check_splice_logits, [(m.hint, _unwrap(m.fn)) for m in SPLICE_MISTAKES]),
    "set_feature": (check_set_feature, [(m.hint, m.fn) for m in SET_FEATURE_MISTAKES]),
    "prediction_shift": (check_prediction_shift, [(m.hint, m.fn) for m in PREDICTION_SHIFT_MISTAKES]),
}


def test_the_hook_catalogues_are_unwrapped_to_learner_functions():
    import inspect

    for name in ("record_activations", "splice_logits"):
        for _hint, fn in CATALOGUES[name][1]:
            assert fn.__module__.startswith("course_lib.checks.lesson06")
            assert list(inspect.signature(fn).parameters)[:3] == ["model", "X", "layer"]


# ---------------------------------------------------------------- correct code passes


def _record_dict_and_inference_mode(model, X, layer, batch_size=4096):
    store = {}
    module = dict(model.named_modules())[layer]

    def keep(mod, inputs, output):
        store[len(store)] = output.clone()

    handle = module.register_forward_hook(keep)
    try:
        with torch.inference_mode():
            for start in range(0, X.shape[0], batch_size):
                model(X[start : start + batch_size])
    finally:
        handle.remove()
    return torch.cat([store[k] for k in sorted(store)], dim=0)


def _profile_scatter(A, y, n_classes):
    sums = torch.zeros(n_classes, A.shape[1], dtype=A.dtype, device=A.device).index_add(0, y, A)
    counts = torch.bincount(y, minlength=n_classes).to(A.dtype).clamp_min(1)
    means = sums / counts[:, None]
    col = means.sum(0)
    safe = torch.where(col > 0, col, torch.ones_like(col))
    return torch.where(col > 0, means / safe, torch.full_like(means, 1 / n_classes))


def _splice_whole_input(model, X, layer, replace, batch_size=4096):
    handle = model.get_submodule(layer).register_forward_hook(lambda m, i, o: replace(o))
    try:
        with torch.no_grad():
            out = model(X)  # ignores batch_size: the same logits, in one pass
    finally:
        handle.remove()
    return out


def _set_with_mask(z, j, value):
    mask = torch.zeros(z.shape[1], dtype=z.dtype, device=z.device)
    mask[j] = 1
    return z * (1 - mask) + value * mask


def _shift_numpy(before, after, c):
    b = before.detach().cpu().numpy().argmax(1) == c
    a = after.detach().cpu().numpy().argmax(1) == c
    kept = a[b].mean() if b.any() else float("nan")
    gained = a[~b].mean() if (~b).any() else float("nan")
    return float(kept), float(gained)


@pytest.mark.parametrize("check,fn", [
    (check_record_activations, capstone.record_activations),
    (check_record_activations, _record_dict_and_inference_mode),
    (check_class_profile, capstone.class_profile),
    (check_class_profile, _profile_scatter),
    (check_splice_logits, capstone.splice_logits),
    (check_splice_logits, _splice_whole_input),
    (check_set_feature, capstone.set_feature),
    (check_set_feature, _set_with_mask),
    (check_prediction_shift, capstone.prediction_shift),
    (check_prediction_shift, _shift_numpy),
], ids=lambda v: getattr(v, "__name__", ""))
def test_correct_implementations_pass(check, fn, capsys):
    result = check(fn)
    assert result.status == "pass", result.message
    assert "✅" in capsys.readouterr().out


def test_a_forgotten_hook_is_diagnosed_although_the_values_are_right():
    models = []

    def forgetful(model, X, layer, batch_size=4096):
        models.append(model)
        chunks = []
        model.get_submodule(layer).register_forward_hook(lambda m, i, o: chunks.append(o.detach()))
        with torch.no_grad():
            for k in range(0, len(X), batch_size):
                model(X[k : k + batch_size])
        return torch.cat(chunks)

    result = check_record_activations(forgetful)
    assert "left the hook" in result.message
    assert models  # the learner's code ran on the check's own throw-away models


# ---------------------------------------------------------------- wrong code written here


def _rec_input(model, X, layer, batch_size=4096):
    out = []
    h = model.get_submodule(layer).register_forward_hook(lambda m, inp, o: out.append(inp[0]))
    with torch.no_grad():
        for s in range(0, len(X), batch_size):
            model(X[s : s + batch_size])
    h.remove()
    return torch.cat(out)


def _rec_no_remove(model, X, layer, batch_size=4096):
    out = []
    model.get_submodule(layer).register_forward_hook(lambda m, inp, o: out.append(o))
    with torch.no_grad():
        for s in range(0, len(X), batch_size):
            model(X[s : s + batch_size])
    return torch.cat(out)


def _rec_graph(model, X, layer, batch_size=4096):
    out = []
    h = model.get_submodule(layer).register_forward_hook(lambda m, inp, o: out.append(o))
    for s in range(0, len(X), batch_size):
        model(X[s : s + batch_size])
    h.remove()
    return torch.cat(out)


def _rec_overwrite(model, X, layer, batch_size=4096):
    out = [None]

    def hook(m, inp, o):
        out[0] = o.detach()

    h = model.get_submodule(layer).register_forward_hook(hook)
    with torch.no_grad():
        for s in range(0, len(X), batch_size):
            model(X[s : s + batch_size])
    h.remove()
    return out[0]


def _rec_logits(model, X, layer, batch_size=4096):
    with torch.no_grad():
        return model(X)


def _rec_fixed_layer(model, X, layer, batch_size=4096):
    out = []
    h = model.relu.register_forward_hook(lambda m, inp, o: out.append(o.detach()))
    with torch.no_grad():
        for s in range(0, len(X), batch_size):
            model(X[s : s + batch_size])
    h.remove()
    return torch.cat(out)


def _rec_no_return(model, X, layer, batch_size=4096):
    capstone.record_activations(model, X, layer, batch_size)


@pytest.mark.parametrize("wrong,expected", [
    (_rec_input, "hook's *input*"),
    (_rec_no_remove, "left the hook on the model"),
    (_rec_graph, "still carry the autograd graph"),
    (_rec_overwrite, "Only the last batch survived"),
    (_rec_logits, "model's final output"),
    (_rec_fixed_layer, "always hooked the `relu` layer"),
    (_rec_no_return, "returned None"),
], ids=lambda v: getattr(v, "__name__", ""))
def test_record_activations_diagnoses_wrong_code(wrong, expected):
    result = check_record_activations(wrong)
    assert result.status == "fail"
    assert expected in result.message


def _prof_sum(A, y, n_classes):
    P = torch.stack([A[y == c].sum(0) for c in range(n_classes)])
    s = P.sum(0)
    return torch.where(s > 0, P / s.clamp_min(1e-30), 1.0 / n_classes)


def _prof_means_only(A, y, n_classes):
    return torch.stack([A[y == c].mean(0) if (y == c).any() else torch.zeros(A.shape[1]) for c in range(n_classes)])


def _prof_rows(A, y, n_classes):
    M = torch.stack([A[y == c].sum(0) / max(int((y == c).sum()), 1) for c in range(n_classes)])
    return M / M.sum(1, keepdim=True).clamp_min(1e-30)


def _prof_nan(A, y, n_classes):
    M = torch.stack([A[y == c].sum(0) / max(int((y == c).sum()), 1) for c in range(n_classes)])
    return M / M.sum(0)


def _prof_labels(A, y, n_classes):
    n = int(y.max().item()) + 1
    M = torch.stack([A[y == c].sum(0) / max(int((y == c).sum()), 1) for c in range(n)])
    s = M.sum(0)
    return torch.where(s > 0, M / s.clamp_min(1e-30), 1.0 / n)


def _prof_counts(A, y, n_classes):
    return capstone.class_profile((A > 0).float().to(A.dtype), y, n_classes)


def _prof_transposed(A, y, n_classes):
    return _profile_scatter(A, y, n_classes).T


def _prof_numpy(A, y, n_classes):
    return _profile_scatter(A, y, n_classes).detach().cpu().numpy()


@pytest.mark.parametrize("wrong,expected", [
    (_prof_sum, "summed each class's activations"),
    (_prof_means_only, "raw per-class means"),
    (_prof_rows, "normalised across the units"),
    (_prof_nan, "0 / 0 = nan"),
    (_prof_labels, "number of classes from the labels"),
    (_prof_counts, "counted how often each unit fires"),
    (_prof_transposed, "transposed"),
    (_prof_numpy, "not a torch tensor"),
], ids=lambda v: getattr(v, "__name__", ""))
def test_class_profile_diagnoses_wrong_code(wrong, expected):
    result = check_class_profile(wrong)
    assert result.status == "fail"
    assert expected in result.message


def _spl_no_return(model, X, layer, replace, batch_size=4096):
    def hook(m, i, o):
        o = replace(o)  # rebinds the name only

    h = model.get_submodule(layer).register_forward_hook(hook)
    with torch.no_grad():
        out = model(X)
    h.remove()
    return out


def _spl_pre(model, X, layer, replace, batch_size=4096):
    def pre(m, args):
        return (replace(args[0]),)

    h = model.get_submodule(layer).register_forward_pre_hook(pre)
    with torch.no_grad():
        out = model(X)
    h.remove()
    return out


def _spl_no_remove(model, X, layer, replace, batch_size=4096):
    model.get_submodule(layer).register_forward_hook(lambda m, i, o: replace(o))
    with torch.no_grad():
        return model(X)


def _spl_softmax(model, X, layer, replace, batch_size=4096):
    return torch.softmax(_splice_whole_input(model, X, layer, replace), dim=-1)


def _spl_argmax(model, X, layer, replace, batch_size=4096):
    return _splice_whole_input(model, X, layer, replace).argmax(-1)


def _spl_relu_only(model, X, layer, replace, batch_size=4096):
    return _splice_whole_input(model, X, "relu", replace)


@pytest.mark.parametrize("wrong,expected", [
    (_spl_no_return, "does not return it"),
    (_spl_pre, "replaced the layer's *input*"),
    (_spl_no_remove, "left the hook on the model"),
    (_spl_softmax, "returned probabilities"),
    (_spl_argmax, "returned the predicted classes"),
    (_spl_relu_only, "always hooked the `relu` layer"),
], ids=lambda v: getattr(v, "__name__", ""))
def test_splice_logits_diagnoses_wrong_code(wrong, expected):
    result = check_splice_logits(wrong)
    assert result.status == "fail"
    assert expected in result.message


def _set_in_place(z, j, value):
    z[:, j] = value
    return z


def _set_rows(z, j, value):
    out = z.clone()
    out[j, :] = value
    return out


def _set_plus(z, j, value):
    out = z.clone()
    out[:, j] += value
    return out


def _set_times(z, j, value):
    out = z.clone()
    out[:, j] *= value
    return out


def _set_only_on(z, j, value):
    out = z.clone()
    out[:, j] = (z[:, j] != 0).to(z.dtype) * value
    return out


def _set_detached(z, j, value):
    out = z.detach().clone()
    out[:, j] = value
    return out


def _set_column(z, j, value):
    return torch.full((z.shape[0],), float(value), dtype=z.dtype, device=z.device)


@pytest.mark.parametrize("wrong,expected", [
    (_set_in_place, "in place"),
    (_set_rows, "changed row (image) j"),
    (_set_plus, "added `value`"),
    (_set_times, "multiplied the latent"),
    (_set_only_on, "only where it was already active"),
    (_set_detached, "no gradient flows"),
    (_set_column, "only column j"),
], ids=lambda v: getattr(v, "__name__", ""))
def test_set_feature_diagnoses_wrong_code(wrong, expected):
    result = check_set_feature(wrong)
    assert result.status == "fail"
    assert expected in result.message


def _sh_all(before, after, c):
    b = before.argmax(-1) == c
    a = after.argmax(-1) == c
    n = len(b)
    return float((a & b).sum()) / n, float((a & ~b).sum()) / n


def _sh_swapped(before, after, c):
    kept, gained = _shift_numpy(before, after, c)
    return gained, kept


def _sh_lost(before, after, c):
    b = before.argmax(1) == c
    a = after.argmax(1) == c
    return (~a[b]).float().mean().item(), a[~b].float().mean().item()


def _sh_half(before, after, c):
    b = torch.softmax(before, 1)[:, c] >= 0.5
    a = torch.softmax(after, 1)[:, c] >= 0.5
    return a[b].float().mean().item(), a[~b].float().mean().item()


def _sh_dim0(before, after, c):
    b = torch.argmax(before, dim=0) == c
    a = torch.argmax(after, dim=0) == c
    return a[b].float().mean().item(), a[~b].float().mean().item()


def _sh_counts(before, after, c):
    b = before.argmax(1) == c
    a = after.argmax(1) == c
    return int((a & b).sum()), int((a & ~b).sum())


def _sh_zero_if_empty(before, after, c):
    b = (before.argmax(1) == c).cpu().numpy()
    a = (after.argmax(1) == c).cpu().numpy()
    kept = a[b].mean() if b.any() else 0.0
    gained = a[~b].mean() if (~b).any() else 0.0
    return float(kept), float(gained)


@pytest.mark.parametrize("wrong,expected", [
    (_sh_all, "number of all images"),
    (_sh_swapped, "wrong order"),
    (_sh_lost, "*lost* the prediction"),
    (_sh_half, "largest logit"),
    (_sh_dim0, "arg-max over the images"),
    (_sh_counts, "returned counts"),
    (_sh_zero_if_empty, "return nan"),
], ids=lambda v: getattr(v, "__name__", ""))
def test_prediction_shift_diagnoses_wrong_code(wrong, expected):
    result = check_prediction_shift(wrong)
    assert result.status == "fail"
    assert expected in result.message


def test_checks_are_deterministic():
    first = check_class_profile(_prof_rows)
    second = check_class_profile(_prof_rows)
    assert (first.status, first.message) == (second.status, second.message)
