"""Lesson 06's build and goal exercises: steering the classifier through SAE features.

* ``steer_logits(model, sae, X, layer, edit, batch_size=4096)``: logits with the layer's output h
  replaced by ``h + decode(edit(z)) - decode(z)`` (reference :func:`course_lib.intervene.steer_logits`);
  post-conditions: no hook left (also when the forward pass fails), no autograd graph.
* ``flip_prediction(z, logits, readout) -> z_new``: switch off as few features as possible to
  change the classifier's mind; graded by :func:`course_lib.intervene.flip_goal` (cached).
"""
from __future__ import annotations

import contextlib
import functools
from typing import Callable

import torch

from course_lib import intervene
from course_lib.models import Autoencoder

from ..core import Case, Mistake, check, images
from ..observe import NA
from .hooks import LESSON, NO_GRAPH, NO_HOOK_LEFT, _failing_case, _model

# ---------------------------------------------------------------- steer_logits


def _sae(n_in: int, n_latent: int, seed: int, dtype=torch.float32) -> Autoencoder:
    sae = Autoencoder(n_in, n_latent, "relu", unit_norm_decoder=True, pre_bias=True, seed=seed).to(dtype)
    with torch.no_grad():
        sae.b_dec.copy_(torch.linspace(-0.3, 0.3, n_in, dtype=dtype))
    return sae


def _steer_as_written(model, sae, X, layer, edit, batch_size=4096, *, keep_error=True, sign=1.0, pre=False,
                      finally_remove=True, no_grad=True, returns=True):
    """steer_logits as a learner writes it; each catalogued mistake changes one part."""
    def hook(module, inputs, output=None):
        h = inputs[0] if pre else output
        z = sae.encode(h)
        new = sae.decode(edit(z))
        out = h + sign * (new - sae.decode(z)) if keep_error else new
        if returns:
            return (out,) if pre else out

    module = model.get_submodule(layer)
    handle = module.register_forward_pre_hook(hook) if pre else module.register_forward_hook(hook)
    try:
        with torch.no_grad() if no_grad else contextlib.nullcontext():
            out = torch.cat([model(X[i : i + batch_size]) for i in range(0, len(X), batch_size)])
    finally:
        if finally_remove:
            handle.remove()
    if not finally_remove:
        handle.remove()
    return out


def _variant(**options) -> Callable:
    def steer(model, sae, X, layer, edit, batch_size=4096):
        return _steer_as_written(model, sae, X, layer, edit, batch_size, **options)
    return steer


STEER_MISTAKES = [
    Mistake("You replaced h by the SAE's reconstruction of the edited code alone, so the SAE's "
            "error changes the logits too. Keep the error: `h + sae.decode(edit(z)) - sae.decode(z)`.",
            _variant(keep_error=False)),
    Mistake("Your edit works backwards: the new layer output is `h + decode(edit(z)) - decode(z)` "
            "(add the edited reconstruction, subtract the original one).", _variant(sign=-1.0)),
    Mistake("You hooked the layer's *input* (a pre-hook). Use `register_forward_hook`, whose hook gets "
            "the layer's output as its third argument and may return its replacement.", _variant(pre=True)),
    Mistake("Your hook does not return the new output, so the network runs unchanged: end the hook "
            "with `return h + ...`.", _variant(returns=False)),
    Mistake("You remove the hook only when everything succeeds: an error leaves it on the model. "
            "Remove it in a `finally:` block.", _variant(finally_remove=False)),
    Mistake("Your logits carry the autograd graph: run the batches under `torch.no_grad()`.",
            _variant(no_grad=False)),
]


def _ablate(j: int) -> Callable:
    return lambda z: torch.cat([z[:, :j], torch.zeros_like(z[:, j : j + 1]), z[:, j + 1 :]], dim=1)


@check(LESSON, reference=intervene.steer_logits, mistakes=STEER_MISTAKES, after=(NO_HOOK_LEFT, NO_GRAPH),
       rtol=1e-5, atol=1e-5,
       mismatch_hint="In the hook: z = sae.encode(output); return output + sae.decode(edit(z)) - sae.decode(z).")
def check_steer_logits():
    """Grade ``steer_logits(model, sae, X, layer, edit, batch_size=4096) -> (N, n_classes)``."""
    return [
        Case("10 images, feature 2 amplified to 3",
             lambda: (_model(12, 6, 3, seed=30), _sae(6, 10, seed=30), images(10, 12, seed=30), "relu",
                      lambda z: z + 3.0 * (torch.arange(z.shape[1]) == 2))),
        Case("feature 0 ablated, in batches of 4",
             lambda: (_model(12, 6, 3, seed=31), _sae(6, 8, seed=31), images(9, 12, seed=31), "relu", _ablate(0)),
             {"batch_size": 4}),
        Case("every feature doubled, one image",
             lambda: (_model(12, 6, 4, seed=32), _sae(6, 12, seed=32), images(1, 12, seed=32), "relu",
                      lambda z: 2 * z)),
        Case("float64", lambda: (_model(12, 6, 3, seed=33, dtype=torch.float64), _sae(6, 8, 33, torch.float64),
                                 images(6, 12, seed=33, dtype=torch.float64), "relu", lambda z: z + 1.0)),
        Case("the forward pass fails in the second batch: the error passes, the hook goes",
             lambda: (_failing_case(34)[0], _sae(6, 8, seed=34), _failing_case(34)[1], "relu", lambda z: z),
             {"batch_size": 4}, raises=RuntimeError),
    ]


# ---------------------------------------------------------------- flip_prediction (goal)

GOAL = intervene.FLIP_GOAL


@functools.lru_cache(maxsize=32)
def _measure_cached(fn: Callable) -> dict | str:
    try:
        return intervene.flip_goal(fn)
    except NotImplementedError:
        raise
    except (TypeError, ValueError) as err:
        return str(err)[:120]


def _observe_flip(fn: Callable) -> Callable:
    def observe() -> dict:
        report = {"returns": "a code shaped like z", "edits": NA, "images whose prediction changed": NA,
                  "features edited per image": NA}
        try:
            result = _measure_cached(fn)
        except TypeError:  # an unhashable callable: measure without the cache
            result = intervene.flip_goal(fn)
        if isinstance(result, str):
            report["returns"] = result.split(",")[0].split(" shape")[0]
            return report
        report["edits"] = ("none" if result["edited"] == 0 else "only ablations" if result["only_ablations"]
                           else "some features set to values other than 0")
        report["images whose prediction changed"] = (
            ("at least " if result["flipped"] >= GOAL["flipped"] else "fewer than ") + f"{GOAL['flipped']:.0%}")
        report["features edited per image"] = (
            ("at most " if result["edited"] <= GOAL["edited"] else "more than ") + f"{GOAL['edited']:g}")
        return report

    return observe


def _top_activations(z, logits, readout, n=3):
    z = z.clone()
    z[z.topk(n).indices] = 0.0
    return z


def _amplify_target(z, logits, readout):
    z = z.clone()
    runner_up = int(logits.topk(2).indices[1])
    j = int(readout[runner_up].argmax())
    z[j] = 100.0
    return z


FLIP_MISTAKES = [
    Mistake("You set a feature to a value other than 0: this exercise only switches features *off* "
            "(ablations), so that the count measures what the image itself relies on.", _amplify_target),
    Mistake(f"Your edits change the prediction of fewer than {GOAL['flipped']:.0%} of the images: the "
            "features with the largest activations are not necessarily those that support the predicted "
            "class. Rank them by `z[j] * (readout[c, j] - readout[r, j])` (c predicted, r runner-up).",
            _top_activations),
    Mistake(f"The predictions change, but with more than {GOAL['edited']:g} features edited per image: "
            "stop as soon as the prediction has changed, and switch off the most useful feature first.",
            lambda z, logits, readout: torch.zeros_like(z)),
    Mistake("Your function changes nothing: switch off features (set them to 0) until "
            "`(logits + readout @ (z_new - z)).argmax()` differs from `logits.argmax()`.",
            lambda z, logits, readout: z.clone()),
    Mistake("Return the edited code (a tensor shaped like z), not the indices of the features you "
            "switched off.", lambda z, logits, readout: z.topk(3).indices),
]


@check(LESSON, reference=intervene.fewest_ablations, mistakes=FLIP_MISTAKES, returns="any",
       observe=_observe_flip,
       mismatch_hint="Print `intervene.flip_goal(flip_prediction)` to see where your strategy lands.")
def check_flip_prediction():
    """Grade ``flip_prediction(z, logits, readout) -> z_new`` on the images of ``intervene.flip_setup()``."""
    target = (f"at least {GOAL['flipped']:.0%} of {GOAL['n_images']} images change prediction, "
              f"at most {GOAL['edited']:g} features switched off per image")
    return [Case(f"the goal: {target}", lambda: ())]


__all__ = ["check_steer_logits", "check_flip_prediction"]
