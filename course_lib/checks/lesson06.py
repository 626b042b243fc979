"""Checks for lesson 06, the capstone: a sparse autoencoder on a classifier's hidden layer.

Graded functions (the learner writes them in ``solutions/06_capstone_sae_on_a_network.ipynb``):

* ``record_activations(model, X, layer, batch_size=4096)``: the output of the named layer on every
  row of X, collected with a forward hook in batches; detached, hook removed.
* ``class_profile(A, y, n_classes)``: per unit, its mean activation on each class, normalised over
  the classes (n_classes, H); a unit that never fires gets a uniform column.
* ``splice_logits(model, X, layer, replace, batch_size=4096)``: the model's logits with the layer's
  output ``h`` replaced by ``replace(h)``; hook removed.
* ``set_feature(z, j, value)``: a copy of the code with latent(s) j set to ``value`` on every row.
* ``prediction_shift(logits_before, logits_after, c)``: ``(kept, gained)`` fractions for class c.

Hooks leave traces a return value does not show: a hook left on the model (also when the forward
pass raises halfway), or outputs that still carry the autograd graph. The two hook exercises
therefore carry post-conditions (:data:`NO_HOOK_LEFT`, :data:`NO_GRAPH`) besides their outputs.
"""
from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from course_lib import capstone
from course_lib.device import get_device

from .core import After, Case, Mistake, check, exported, images, rand, with_grad

LESSON = "06"

def _hooks_left(model: nn.Module) -> int:
    """Forward hooks and pre-hooks still registered anywhere in ``model``."""
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


NO_HOOK_LEFT = After(
    "left a hook on the model",
    "Keep the handle that `register_forward_hook` returns and call `handle.remove()` in a "
    "`finally:` block, so that neither a return nor an error can leave it behind.",
    lambda args, kwargs, out: _hooks_left(args[0]) == 0)

NO_GRAPH = After(
    "returned a tensor that still carries the autograd graph",
    "Run the model under `torch.no_grad()` (or `.detach()` what you keep): a graph kept for every "
    "batch holds on to memory.",
    lambda args, kwargs, out: not (isinstance(out, torch.Tensor) and out.requires_grad))

HOOK_MISMATCH_HINT = ("Compare what your hook sees with the layer's output, batch by batch: "
                      "`model.get_submodule(layer)` and the hook's third argument.")


class _FailsOnMarkedImage(capstone.MLPClassifier):
    """A classifier whose forward pass raises on a batch holding a marked image (pixel 0 = -1)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = super().forward(x)
        if bool((x[:, 0] == -1).any()):
            raise RuntimeError("simulated failure on a bad image")
        return out


def _failing_case(seed: int) -> tuple[capstone.MLPClassifier, torch.Tensor]:
    """A model and 8 images, the last one marked: with batches of 4 the second batch fails."""
    X = images(8, 12, seed=seed)
    X[-1, 0] = -1
    return _FailsOnMarkedImage(12, 6, 3, seed=seed), X


def _model(n_in: int, n_hidden: int, n_classes: int, seed: int, *, dtype=torch.float32,
           device: Any = "cpu") -> capstone.MLPClassifier:
    return capstone.MLPClassifier(n_in, n_hidden, n_classes, seed=seed).to(device=device, dtype=dtype)


# ---------------------------------------------------------------- record_activations


def _record_input(model, X, layer, batch_size=4096):
    chunks = []
    handle = model.get_submodule(layer).register_forward_hook(lambda m, i, o: chunks.append(i[0].detach()))
    with torch.no_grad():
        for k in range(0, len(X), batch_size):
            model(X[k : k + batch_size])
    handle.remove()
    return torch.cat(chunks)


def _record_hook_kept(model, X, layer, batch_size=4096):
    chunks = []
    model.get_submodule(layer).register_forward_hook(lambda m, i, o: chunks.append(o.detach()))
    with torch.no_grad():
        for k in range(0, len(X), batch_size):
            model(X[k : k + batch_size])
    return torch.cat(chunks)


def _record_with_graph(model, X, layer, batch_size=4096):
    chunks = []
    handle = model.get_submodule(layer).register_forward_hook(lambda m, i, o: chunks.append(o))
    for k in range(0, len(X), batch_size):
        model(X[k : k + batch_size])
    handle.remove()
    return torch.cat(chunks)


def _record_model_output(model, X, layer, batch_size=4096):
    with torch.no_grad():
        return torch.cat([model(X[k : k + batch_size]) for k in range(0, len(X), batch_size)])


def _record_last_batch(model, X, layer, batch_size=4096):
    store = {}

    def hook(m, i, o):
        store["h"] = o.detach()

    handle = model.get_submodule(layer).register_forward_hook(hook)
    with torch.no_grad():
        for k in range(0, len(X), batch_size):
            model(X[k : k + batch_size])
    handle.remove()
    return store["h"]


def _record_cat_columns(model, X, layer, batch_size=4096):
    chunks = []
    handle = model.get_submodule(layer).register_forward_hook(lambda m, i, o: chunks.append(o.detach()))
    with torch.no_grad():
        for k in range(0, len(X), batch_size):
            model(X[k : k + batch_size])
    handle.remove()
    return torch.cat(chunks, dim=1)


def _record_list(model, X, layer, batch_size=4096):
    chunks = []
    handle = model.get_submodule(layer).register_forward_hook(lambda m, i, o: chunks.append(o.detach()))
    with torch.no_grad():
        for k in range(0, len(X), batch_size):
            model(X[k : k + batch_size])
    handle.remove()
    return chunks


def _record_always_relu(model, X, layer, batch_size=4096):
    return capstone.record_activations(model, X, "relu", batch_size)


def _record_removed_on_success_only(model, X, layer, batch_size=4096):
    chunks = []
    handle = model.get_submodule(layer).register_forward_hook(lambda m, i, o: chunks.append(o.detach()))
    with torch.no_grad():
        for k in range(0, len(X), batch_size):
            model(X[k : k + batch_size])
    handle.remove()
    return torch.cat(chunks)


RECORD_MISTAKES = [
    # First: right whenever the forward pass succeeds, so it only matches on the failing case.
    Mistake("Your hook stays on the model when the forward pass raises: `handle.remove()` is "
            "skipped by the error. Put it in a `finally:` block (try: ... finally: handle.remove()).",
            _record_removed_on_success_only),
    Mistake("You left the hook on the model, so it keeps firing on every later call. Keep the handle "
            "that `register_forward_hook` returns and call `handle.remove()` (in a `finally:` block, so "
            "an error cannot leave it behind).",
            _record_hook_kept),
    Mistake("Your activations still carry the autograd graph (they require grad), which holds on to "
            "memory for every batch. Run the model under `torch.no_grad()`, or store `output.detach()`.",
            _record_with_graph),
    Mistake("You stored the hook's *input*. A forward hook is called as `hook(module, inputs, output)`: "
            "record the third argument, the layer's output.",
            _record_input),
    Mistake("You returned the model's final output (the logits); return what the hook recorded at "
            "the layer named `layer`.",
            _record_model_output),
    Mistake("Only the last batch survived: append each batch's output to a list inside the hook and "
            "join them with `torch.cat(chunks)` at the end.",
            _record_last_batch),
    Mistake("You joined the batches side by side (`dim=1`); batches are groups of rows: "
            "`torch.cat(chunks, dim=0)`.",
            _record_cat_columns),
    Mistake("You returned the list of per-batch outputs; join them into one tensor with `torch.cat`.",
            _record_list),
    Mistake("You always hooked the `relu` layer; look up the layer the caller names with "
            "`model.get_submodule(layer)`.",
            _record_always_relu),
]


@check(LESSON, reference=capstone.record_activations, mistakes=RECORD_MISTAKES, after=(NO_HOOK_LEFT, NO_GRAPH),
       mismatch_hint=HOOK_MISMATCH_HINT)
def check_record_activations():
    """Grade ``record_activations(model, X, layer, batch_size=4096) -> (N, H)``."""
    device = get_device()
    cases = [
        Case("10 images, layer 'relu', one batch", lambda: (_model(12, 6, 3, seed=0), images(10, 12, seed=0), "relu")),
        Case("12 images in batches of 4, layer 'fc1'",
             lambda: (_model(12, 5, 3, seed=2), images(12, 12, seed=2), "fc1"), {"batch_size": 4}),
        Case("10 images in batches of 4 (the last batch is smaller)",
             lambda: (_model(12, 6, 3, seed=1), images(10, 12, seed=1), "relu"), {"batch_size": 4}),
        Case("one image, layer 'fc2'", lambda: (_model(12, 6, 4, seed=3), images(1, 12, seed=3), "fc2")),
        Case("all-zero images", lambda: (_model(12, 6, 3, seed=4), torch.zeros(5, 12), "relu")),
        Case("float64 model and images", lambda: (
            _model(12, 6, 3, seed=5, dtype=torch.float64), images(7, 12, seed=5, dtype=torch.float64), "relu"),
             {"batch_size": 3}),
        Case("images that require grad", lambda: (_model(12, 6, 3, seed=6), *with_grad(images(6, 12, seed=6)), "relu")),
        Case(f"model and images on {device}", lambda: (
            _model(784, 256, 10, seed=7, device=device), images(300, 784, seed=7, device=device), "relu"),
             {"batch_size": 128}),
        Case("the forward pass fails in the second batch: the error passes, the hook goes",
             lambda: (*_failing_case(8), "relu"), {"batch_size": 4}, raises=RuntimeError),
    ]
    return cases


# ---------------------------------------------------------------- class_profile


def _class_means(A, y, n_classes):
    onehot = nn.functional.one_hot(y, n_classes).to(A.dtype)
    return (onehot.t() @ A) / onehot.sum(0).clamp_min(1)[:, None]


def _profile_sums(A, y, n_classes):
    sums = nn.functional.one_hot(y, n_classes).to(A.dtype).t() @ A
    total = sums.sum(0, keepdim=True)
    return torch.where(total > 0, sums / total.clamp_min(1e-30), torch.full_like(sums, 1 / n_classes))


def _profile_over_units(A, y, n_classes):
    means = _class_means(A, y, n_classes)
    return means / means.sum(1, keepdim=True).clamp_min(1e-30)


def _profile_global(A, y, n_classes):
    means = _class_means(A, y, n_classes)
    return means / means.sum().clamp_min(1e-30)


def _profile_firing(A, y, n_classes):
    return capstone.class_profile((A > 0).to(A.dtype), y, n_classes)


def _profile_nan_dead(A, y, n_classes):
    means = _class_means(A, y, n_classes)
    return means / means.sum(0, keepdim=True)


def _profile_zero_dead(A, y, n_classes):
    means = _class_means(A, y, n_classes)
    total = means.sum(0, keepdim=True)
    return torch.where(total > 0, means / total.clamp_min(1e-30), torch.zeros_like(means))


def _profile_inferred_classes(A, y, n_classes):
    return capstone.class_profile(A, y, int(y.max()) + 1)


CLASS_PROFILE_MISTAKES = [
    Mistake("You summed each class's activations; with classes of different sizes the biggest class "
            "wins. Use the *mean* activation over each class's images, then normalise.",
            _profile_sums),
    Mistake("You returned the raw per-class means; divide each unit's column by its sum over the "
            "classes so that it sums to 1.",
            _class_means),
    Mistake("You normalised across the units (each row sums to 1); normalise each unit's column over "
            "the classes: `means / means.sum(0, keepdim=True)`.",
            _profile_over_units),
    Mistake("You divided by the sum over everything; divide each unit's column by its own sum over "
            "the classes: `means.sum(0, keepdim=True)`.",
            _profile_global),
    Mistake("You counted how often each unit fires (A > 0); the profile weighs the activation values "
            "themselves: a strong response counts more than a weak one.",
            _profile_firing),
    Mistake("A unit that is zero on every image gives 0 / 0 = nan. It has no preference: give its "
            "column the uniform value 1 / n_classes (e.g. with `torch.where`).",
            _profile_nan_dead),
    Mistake("A unit that never fires has no preference, so its column should be uniform, "
            "1 / n_classes for each class, not zeros.",
            _profile_zero_dead),
    Mistake("You took the number of classes from the labels (`y.max() + 1`); use `n_classes`: a class "
            "may have no images in the batch, and its row must still be there (with share 0).",
            _profile_inferred_classes),
    Mistake("Your result is transposed: return one row per class and one column per unit, shape "
            "(n_classes, H).",
            lambda A, y, n_classes: capstone.class_profile(A, y, n_classes).t()),
]


def _labels(values: list[int], device: Any = "cpu") -> torch.Tensor:
    return torch.tensor(values, dtype=torch.long, device=device)


def _hand_activations() -> tuple:
    # Unit 0 fires for class 0, unit 1 for classes 1 and 2, unit 2 for everything; class 0 has 3
    # images, classes 1 and 2 have 2 and 1.
    A = torch.tensor([[2.0, 0.0, 1.0],
                      [2.0, 0.0, 1.0],
                      [2.0, 0.0, 1.0],
                      [0.0, 1.0, 1.0],
                      [0.0, 1.0, 1.0],
                      [0.5, 3.0, 1.0]])
    return A, _labels([0, 0, 0, 1, 1, 2]), 3


def _relu_acts(n: int, h: int, seed: int, **kw) -> torch.Tensor:
    return torch.relu(rand(n, h, seed=seed, low=-0.5, high=1.5, **kw))


def _unbalanced(n: int, n_classes: int, seed: int, device: Any = "cpu") -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    weights = torch.arange(1, n_classes + 1, dtype=torch.float64)
    y = torch.multinomial(weights, n, replacement=True, generator=gen)
    y[:n_classes] = torch.arange(n_classes)  # every class present
    return y.to(device)


def _with_dead_unit(A: torch.Tensor, j: int) -> torch.Tensor:
    A = A.clone()
    A[:, j] = 0
    return A


@check(LESSON, reference=capstone.class_profile, mistakes=CLASS_PROFILE_MISTAKES,
       grad_cases=("activations that require grad",))
def check_class_profile():
    """Grade ``class_profile(A, y, n_classes) -> (n_classes, H)``."""
    device = get_device()
    cases = [
        Case("6 images, 3 classes of sizes 3, 2, 1, 3 units", _hand_activations),
        Case("40 images, unbalanced classes, 7 units",
             lambda: (_relu_acts(40, 7, seed=1), _unbalanced(40, 4, seed=1), 4)),
        Case("a unit that never fires (unit 2)",
             lambda: (_with_dead_unit(_relu_acts(30, 5, seed=2), 2), _unbalanced(30, 3, seed=2), 3)),
        Case("class 3 has no images (n_classes=4)",
             lambda: (_relu_acts(12, 4, seed=3), _labels([0, 1, 2] * 4), 4)),
        Case("one image", lambda: (rand(1, 6, seed=4, low=0.1, high=1.5), _labels([1]), 3)),
        Case("all-zero activations", lambda: (torch.zeros(8, 5), _labels([0, 1, 2, 0, 1, 2, 0, 1]), 3)),
        Case("float64", lambda: (_relu_acts(25, 6, seed=5, dtype=torch.float64), _unbalanced(25, 5, seed=5), 5)),
        Case("activations that require grad",
             lambda: (*with_grad(_relu_acts(20, 4, seed=6) + 0.1), _unbalanced(20, 3, seed=6), 3)),
        Case(f"2000 x 256 activations on {device}, 10 classes", lambda: (
            _relu_acts(2000, 256, seed=7, device=device), _unbalanced(2000, 10, seed=7, device=device), 10)),
    ]
    return cases


# ---------------------------------------------------------------- splice_logits


def _splice_no_return(model, X, layer, replace, batch_size=4096):
    def hook(m, i, o):
        replace(o)

    handle = model.get_submodule(layer).register_forward_hook(hook)
    with torch.no_grad():
        out = torch.cat([model(X[k : k + batch_size]) for k in range(0, len(X), batch_size)])
    handle.remove()
    return out


def _splice_pre_hook(model, X, layer, replace, batch_size=4096):
    handle = model.get_submodule(layer).register_forward_pre_hook(lambda m, i: (replace(i[0]),))
    with torch.no_grad():
        out = torch.cat([model(X[k : k + batch_size]) for k in range(0, len(X), batch_size)])
    handle.remove()
    return out


def _splice_hook_kept(model, X, layer, replace, batch_size=4096):
    model.get_submodule(layer).register_forward_hook(lambda m, i, o: replace(o))
    with torch.no_grad():
        return torch.cat([model(X[k : k + batch_size]) for k in range(0, len(X), batch_size)])


def _splice_probabilities(model, X, layer, replace, batch_size=4096):
    return capstone.splice_logits(model, X, layer, replace, batch_size).softmax(1)


def _splice_predictions(model, X, layer, replace, batch_size=4096):
    return capstone.splice_logits(model, X, layer, replace, batch_size).argmax(1)


def _splice_output(model, X, layer, replace, batch_size=4096):
    with torch.no_grad():
        return replace(torch.cat([model(X[k : k + batch_size]) for k in range(0, len(X), batch_size)]))


def _splice_always_relu(model, X, layer, replace, batch_size=4096):
    return capstone.splice_logits(model, X, "relu", replace, batch_size)


def _splice_removed_on_success_only(model, X, layer, replace, batch_size=4096):
    handle = model.get_submodule(layer).register_forward_hook(lambda m, i, o: replace(o))
    with torch.no_grad():
        out = torch.cat([model(X[k : k + batch_size]) for k in range(0, len(X), batch_size)])
    handle.remove()
    return out


def _splice_with_graph(model, X, layer, replace, batch_size=4096):
    handle = model.get_submodule(layer).register_forward_hook(lambda m, i, o: replace(o))
    try:
        return torch.cat([model(X[k : k + batch_size]) for k in range(0, len(X), batch_size)])
    finally:
        handle.remove()


SPLICE_MISTAKES = [
    # First: right whenever the forward pass succeeds, so it only matches on the failing case.
    Mistake("Your hook stays on the model when the forward pass raises: `handle.remove()` is "
            "skipped by the error. Put it in a `finally:` block (try: ... finally: handle.remove()).",
            _splice_removed_on_success_only),
    Mistake("Your logits still carry the autograd graph: run the model under `torch.no_grad()`, "
            "so that no graph is built (and kept) for every batch.",
            _splice_with_graph),
    Mistake("You left the hook on the model: every later call of the model would still be spliced. "
            "Keep the handle and call `handle.remove()` in a `finally:` block.",
            _splice_hook_kept),
    Mistake("Your hook computes `replace(output)` but does not return it. A forward hook changes the "
            "layer's output only when it *returns* the new value.",
            _splice_no_return),
    Mistake("You replaced the layer's *input* (a forward pre-hook); the exercise replaces its output: "
            "`register_forward_hook(lambda module, inputs, output: replace(output))`.",
            _splice_pre_hook),
    Mistake("You returned probabilities (softmax); return the raw logits.",
            _splice_probabilities),
    Mistake("You returned the predicted classes; return the logits, shape (N, n_classes).",
            _splice_predictions),
    Mistake("You applied `replace` to the model's output; it must replace the output of the layer "
            "named `layer`, inside a hook, so that the rest of the network runs on it.",
            _splice_output),
    Mistake("You always hooked the `relu` layer; look up the layer the caller names with "
            "`model.get_submodule(layer)`.",
            _splice_always_relu),
]


def _keep_units(keep: list[int]) -> Callable[[torch.Tensor], torch.Tensor]:
    def replace(h: torch.Tensor) -> torch.Tensor:
        mask = torch.zeros(h.shape[1], dtype=h.dtype, device=h.device)
        mask[keep] = 1
        return h * mask

    return replace


@check(LESSON, reference=capstone.splice_logits, mistakes=SPLICE_MISTAKES, after=(NO_HOOK_LEFT, NO_GRAPH),
       rtol=1e-5, atol=1e-5, mismatch_hint=HOOK_MISMATCH_HINT)
def check_splice_logits():
    """Grade ``splice_logits(model, X, layer, replace, batch_size=4096) -> (N, n_classes)``."""
    device = get_device()
    cases = [
        Case("10 images, 'relu' output minus 0.5",
             lambda: (_model(12, 6, 3, seed=10), images(10, 12, seed=10), "relu", lambda h: h - 0.5)),
        Case("layer 'fc1' output plus 0.5, in batches of 4",
             lambda: (_model(12, 6, 3, seed=11), images(10, 12, seed=11), "fc1", lambda h: h + 0.5),
             {"batch_size": 4}),
        Case("only hidden units 0 and 3 kept, in batches of 3",
             lambda: (_model(12, 6, 4, seed=12), images(8, 12, seed=12), "relu", _keep_units([0, 3])),
             {"batch_size": 3}),
        Case("one image, 'relu' output squared",
             lambda: (_model(12, 6, 3, seed=13), images(1, 12, seed=13), "relu", lambda h: h * h)),
        Case("all-zero images, 'relu' output plus 1",
             lambda: (_model(12, 6, 3, seed=14), torch.zeros(4, 12), "relu", lambda h: h + 1)),
        Case("float64", lambda: (_model(12, 6, 3, seed=15, dtype=torch.float64),
                                 images(6, 12, seed=15, dtype=torch.float64), "relu", lambda h: h.flip(1))),
        Case("images that require grad", lambda: (
            _model(12, 6, 3, seed=16), *with_grad(images(5, 12, seed=16)), "relu", lambda h: 0.5 * h)),
        Case(f"model and images on {device}", lambda: (
            _model(784, 256, 10, seed=17, device=device), images(300, 784, seed=17, device=device), "relu",
            lambda h: torch.relu(h - h.mean(1, keepdim=True))), {"batch_size": 128}),
        Case("the forward pass fails in the second batch: the error passes, the hook goes",
             lambda: (*_failing_case(18), "relu", lambda h: h + 0.5), {"batch_size": 4},
             raises=RuntimeError),
    ]
    return cases


# ---------------------------------------------------------------- set_feature


def _set_row(z, j, value):
    out = z.clone()
    out[j] = value
    return out


def _set_add(z, j, value):
    out = z.clone()
    out[:, j] = out[:, j] + value
    return out


def _set_multiply(z, j, value):
    out = z.clone()
    out[:, j] = out[:, j] * value
    return out


def _set_keep_only(z, j, value):
    out = torch.zeros_like(z)
    out[:, j] = value
    return out


def _set_column_only(z, j, value):
    return torch.full_like(z[:, j], value)


def _set_where_active(z, j, value):
    out = z.clone()
    out[:, j] = torch.where(z[:, j] != 0, torch.full_like(z[:, j], value), z[:, j])
    return out


def _set_others(z, j, value):
    out = torch.full_like(z, value)
    out[:, j] = z[:, j]
    return out


SET_FEATURE_MISTAKES = [
    Mistake("You changed row (image) j; latents are the columns of the code: set `z[:, j]`.",
            _set_row),
    Mistake("You added `value` to the latent; set it to `value` (on every row).",
            _set_add),
    Mistake("You multiplied the latent by `value`. For an ablation (value 0) that is the same, but an "
            "amplification must *set* the latent, also on rows where it was 0.",
            _set_multiply),
    Mistake("You set the latent only where it was already active; set it on every row, so that "
            "amplifying it also affects the images where it was off.",
            _set_where_active),
    Mistake("You zeroed every other latent; keep the rest of the code as it is and change only latent j.",
            _set_keep_only),
    Mistake("You changed every latent except j; change only latent j.",
            _set_others),
    Mistake("You returned only column j; return the whole edited code, shape (B, n_latent).",
            _set_column_only),
]


def _signed_code(n: int, h: int, seed: int, **kw) -> torch.Tensor:
    return rand(n, h, seed=seed, low=-1.0, high=2.0, **kw)


def _sparse_code(n: int, h: int, seed: int, **kw) -> torch.Tensor:
    return torch.relu(rand(n, h, seed=seed, low=-1.5, high=1.0, **kw) * 3)


@check(LESSON, reference=capstone.set_feature, mistakes=SET_FEATURE_MISTAKES, grad_cases=("code that requires grad",))
def check_set_feature():
    """Grade ``set_feature(z, j, value) -> (B, n_latent)``, a new tensor."""
    device = get_device()
    cases = [
        Case("ablate latent 2 of a sparse code (4 x 6)", lambda: (_sparse_code(4, 6, seed=20), 2, 0.0)),
        Case("amplify latent 1 to 3.5", lambda: (_sparse_code(5, 6, seed=21), 1, 3.5)),
        Case("several latents [0, 3] set to 0.5", lambda: (_sparse_code(4, 5, seed=22), [0, 3], 0.5)),
        Case("code with negative entries, latent 4 set to -2.0", lambda: (_signed_code(3, 7, seed=23), 4, -2.0)),
        Case("one row", lambda: (_sparse_code(1, 8, seed=24), 5, 1.25)),
        Case("all-zero code, latent 0 set to 2.0", lambda: (torch.zeros(3, 4), 0, 2.0)),
        Case("float64", lambda: (_sparse_code(4, 6, seed=25, dtype=torch.float64), 3, 0.75)),
        Case("code that requires grad", lambda: (*with_grad(_signed_code(4, 6, seed=26)), 2, 1.5)),
        Case(f"1000 x 1024 code on {device}", lambda: (_sparse_code(1000, 1024, seed=27, device=device), 700, 4.0)),
    ]
    return cases


# ---------------------------------------------------------------- prediction_shift


def _shift_over_all(before, after, c):
    b, a = before.argmax(1) == c, after.argmax(1) == c
    return (b & a).float().mean().item(), (~b & a).float().mean().item()


def _shift_swapped(before, after, c):
    kept, gained = capstone.prediction_shift(before, after, c)
    return gained, kept


def _shift_lost(before, after, c):
    kept, gained = capstone.prediction_shift(before, after, c)
    return 1 - kept, gained


def _shift_new_share(before, after, c):
    b, a = before.argmax(1) == c, after.argmax(1) == c
    return a[b].float().mean().item(), (~b[a]).float().mean().item()


def _shift_probability(before, after, c):
    b, a = before.softmax(1)[:, c] > 0.5, after.softmax(1)[:, c] > 0.5
    return a[b].float().mean().item(), a[~b].float().mean().item()


def _shift_dim0(before, after, c):
    b, a = before.argmax(0) == c, after.argmax(0) == c
    return a[b].float().mean().item(), a[~b].float().mean().item()


def _shift_counts(before, after, c):
    b, a = before.argmax(1) == c, after.argmax(1) == c
    return float((b & a).sum()), float((~b & a).sum())


def _shift_zero_when_empty(before, after, c):
    b, a = before.argmax(1) == c, after.argmax(1) == c
    kept = float((b & a).sum()) / max(int(b.sum()), 1)
    gained = float((~b & a).sum()) / max(int((~b).sum()), 1)
    return kept, gained


PREDICTION_SHIFT_MISTAKES = [
    Mistake("When a group is empty (no image was predicted c before, or every image was), its fraction "
            "is undefined: return nan, as `.mean()` of an empty tensor does, not 0.",
            _shift_zero_when_empty),
    Mistake("You divided by the number of all images; `kept` is a fraction of the images predicted c "
            "*before*, and `gained` a fraction of those *not* predicted c before.",
            _shift_over_all),
    Mistake("You returned the two numbers in the wrong order: `(kept, gained)`.",
            _shift_swapped),
    Mistake("Your first number is the fraction that *lost* the prediction; return the fraction that "
            "kept it.",
            _shift_lost),
    Mistake("For `gained` you divided by the images predicted c *after*; divide by the images that "
            "were not predicted c before.",
            _shift_new_share),
    Mistake("A prediction is the class with the largest logit (`argmax(1)`), not a class whose "
            "probability exceeds 0.5: with 10 classes the winner often has less than half.",
            _shift_probability),
    Mistake("You took the arg-max over the images (dim 0); each image's prediction is the arg-max over "
            "its classes: `logits.argmax(1)`.",
            _shift_dim0),
    Mistake("You returned counts of images; return fractions (divide by the size of each group).",
            _shift_counts),
]


def _logit_pair(n: int, n_classes: int, seed: int, **kw) -> tuple[torch.Tensor, torch.Tensor]:
    before = rand(n, n_classes, seed=seed, low=-2.0, high=2.0, **kw)
    after = before + rand(n, n_classes, seed=seed + 1, low=-1.5, high=1.5, **kw)
    return before, after


def _pushed_to(c: int, n: int, n_classes: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    # A strong push toward class c: many images switch to it, and few that had it lose it.
    before, _ = _logit_pair(n, n_classes, seed)
    after = before.clone()
    after[:, c] = after[:, c] + rand(n, seed=seed + 2, low=0.0, high=3.0)
    return before, after


@check(LESSON, reference=capstone.prediction_shift, mistakes=PREDICTION_SHIFT_MISTAKES, returns="any")
def check_prediction_shift():
    """Grade ``prediction_shift(logits_before, logits_after, c) -> (kept, gained)``."""
    device = get_device()

    def zeros_after():
        before, _ = _logit_pair(9, 3, seed=34)
        return before, torch.zeros(9, 3), 0

    cases = [
        Case("40 images pushed toward class 1 of 5", lambda: (*_pushed_to(1, 40, 5, seed=31), 1)),
        Case("60 images, 10 classes, c=2", lambda: (*_logit_pair(60, 10, seed=30), 2)),
        Case("one image (one of the fractions is nan)", lambda: (*_logit_pair(1, 4, seed=32), 3)),
        Case("all-zero logits before and after, c=0 (every image predicted 0; gained is nan)",
             lambda: (torch.zeros(5, 3), torch.zeros(5, 3), 0)),
        Case("all-zero logits after, c=0", zeros_after),
        Case("float64, c=4", lambda: (*_logit_pair(50, 6, seed=35, dtype=torch.float64), 4)),
        Case("logits that require grad, c=0", lambda: (*with_grad(*_logit_pair(30, 4, seed=36)), 0)),
        Case(f"10000 images on {device}, c=9", lambda: (*_logit_pair(10000, 10, seed=37, device=device), 9)),
    ]
    return cases


__all__ = exported(LESSON)
