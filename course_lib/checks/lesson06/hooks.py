"""Lesson 06 checks of the two hook exercises: ``record_activations`` and ``splice_logits``.

Both carry post-conditions besides their outputs: no hook left on the model (also when the
forward pass raises halfway) and no autograd graph kept.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable

import torch
from torch import nn

from course_lib import capstone
from course_lib.device import get_device

from ..core import After, Case, Mistake, check, images, with_grad

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


def _hooked_batches(model, X, layer, batch_size, hook, *, remove=True, no_grad=True) -> None:
    """The loop these mistakes share: hook the layer, run the batches, then remove the hook (after
    the loop, not in a ``finally:``, so an error leaves it on; ``remove=False`` never removes it)."""
    handle = model.get_submodule(layer).register_forward_hook(hook)
    with torch.no_grad() if no_grad else contextlib.nullcontext():
        for k in range(0, len(X), batch_size):
            model(X[k : k + batch_size])
    if remove:
        handle.remove()


def _record_input(model, X, layer, batch_size=4096):
    chunks = []
    _hooked_batches(model, X, layer, batch_size, lambda m, i, o: chunks.append(i[0].detach()))
    return torch.cat(chunks)


def _record_hook_kept(model, X, layer, batch_size=4096):
    chunks = []
    _hooked_batches(model, X, layer, batch_size, lambda m, i, o: chunks.append(o.detach()), remove=False)
    return torch.cat(chunks)


def _record_with_graph(model, X, layer, batch_size=4096):
    chunks = []
    _hooked_batches(model, X, layer, batch_size, lambda m, i, o: chunks.append(o), no_grad=False)
    return torch.cat(chunks)


def _record_model_output(model, X, layer, batch_size=4096):
    with torch.no_grad():
        return torch.cat([model(X[k : k + batch_size]) for k in range(0, len(X), batch_size)])


def _record_last_batch(model, X, layer, batch_size=4096):
    store = {}
    _hooked_batches(model, X, layer, batch_size, lambda m, i, o: store.update(h=o.detach()))
    return store["h"]


def _record_cat_columns(model, X, layer, batch_size=4096):
    chunks = []
    _hooked_batches(model, X, layer, batch_size, lambda m, i, o: chunks.append(o.detach()))
    return torch.cat(chunks, dim=1)


def _record_list(model, X, layer, batch_size=4096):
    chunks = []
    _hooked_batches(model, X, layer, batch_size, lambda m, i, o: chunks.append(o.detach()))
    return chunks


def _record_always_relu(model, X, layer, batch_size=4096):
    return capstone.record_activations(model, X, "relu", batch_size)


def _record_removed_on_success_only(model, X, layer, batch_size=4096):
    chunks = []
    _hooked_batches(model, X, layer, batch_size, lambda m, i, o: chunks.append(o.detach()))
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
