"""Steering a classifier through its sparse autoencoder's features (lesson 06's build and goal).

* :func:`steer_logits` - the classifier's logits when one layer's output ``h`` is replaced by
  ``h + decode(edit(z)) - decode(z)``, ``z = encode(h)``: the feature edit alone changes the
  layer, the SAE's reconstruction error is kept;
* :func:`feature_readout` - what one unit of each feature adds to each logit, when the layer
  feeds a linear read-out: ``W_next @ W_dec``;
* :func:`fewest_ablations` - switch off, greedily, the features that most support the predicted
  class against the runner-up until the prediction changes;
* :func:`flip_goal` - run a flip strategy on images of a small seeded classifier and its SAE and
  measure how many images changed their prediction and how many features were edited.
"""
from __future__ import annotations

import functools
from typing import Callable

import torch
from torch import nn

from .capstone import (MLPClassifier, make_layer_sae, record_activations, sae_replacement, splice_logits,
                       train_classifier)
from .data import load_fashion_mnist
from .models import Autoencoder
from .sparsity import l1_penalty
from .train import train

__all__ = ["steer_logits", "feature_readout", "fewest_ablations", "flip_setup", "flip_goal", "FLIP_GOAL"]


def steer_logits(model: nn.Module, sae: Autoencoder, X: torch.Tensor, layer: str,
                 edit: Callable[[torch.Tensor], torch.Tensor], batch_size: int = 4096) -> torch.Tensor:
    """Logits of ``model`` on X (N, n_in) with layer ``layer``'s output h replaced by
    ``h + sae.decode(edit(z)) - sae.decode(z)``, ``z = sae.encode(h)``; no graph, no hook left."""
    return splice_logits(model, X, layer, sae_replacement(sae, edit, keep_error=True), batch_size)


def feature_readout(W_next: torch.Tensor, sae: Autoencoder) -> torch.Tensor:
    """(n_out, n_latent): the change of each output of ``y = W_next h + b`` per unit of each feature."""
    return (W_next @ sae.decoder_weight).detach()


def fewest_ablations(z: torch.Tensor, logits: torch.Tensor, readout: torch.Tensor) -> torch.Tensor:
    """A copy of one image's code z (n_latent,) with as few features set to 0 as this greedy
    search finds to change the arg-max of ``logits + readout @ (z_new - z)``.

    Each round switches off the active feature that most supports the currently predicted class
    against the runner-up (largest ``z_j * (readout[c, j] - readout[r, j])``). Returns z unchanged
    when no ablation can change the prediction.
    """
    z_new, c = z.clone(), int(logits.argmax())
    for _ in range(int((z != 0).sum())):
        now = logits + readout @ (z_new - z)
        if int(now.argmax()) != c:
            return z_new
        runner_up = int(now.clone().index_fill_(0, torch.tensor([c], device=now.device), -torch.inf).argmax())
        support = z_new * (readout[c] - readout[runner_up])
        j = int(support.argmax())
        if support[j] <= 0:
            break
        z_new[j] = 0.0
    now = logits + readout @ (z_new - z)
    return z_new if int(now.argmax()) != c else z.clone()


FLIP_GOAL = {"flipped": 0.85, "edited": 12.0, "n_images": 20}  # lesson 06's goal exercise


@functools.lru_cache(maxsize=1)
def flip_setup(seed: int = 0) -> dict:
    """A small seeded classifier (784 -> 128 -> 10, 2 epochs on 4,000 images), an L1 SAE (512
    latents) on its hidden layer, and 20 test images it classifies: everything on the CPU."""
    X, y = load_fashion_mnist("train", device="cpu")
    X_test, _ = load_fashion_mnist("test", device="cpu")
    X, y = X[:4000], y[:4000]
    clf = MLPClassifier(784, 128, 10, seed=seed)
    train_classifier(clf, X, y, epochs=2, seed=seed, progress=False)
    A = record_activations(clf, X, "relu")
    sae = make_layer_sae(A, 512, seed=seed)
    train(sae, A, epochs=3, lr=3e-3, penalty=lambda z, m: l1_penalty(z, 0.1), seed=seed, progress=False)
    images = X_test[: FLIP_GOAL["n_images"]]
    with torch.no_grad():
        Z = sae.encode(record_activations(clf, images, "relu"))
    return {"clf": clf, "sae": sae, "images": images, "codes": Z,
            "logits": steer_logits(clf, sae, images, "relu", lambda z: z),
            "readout": feature_readout(clf.fc2.weight, sae)}


def flip_goal(flip: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]) -> dict:
    """Run ``flip(z, logits, readout) -> z_new`` on each image of :func:`flip_setup` and splice
    the edited codes into the classifier (:func:`steer_logits`).

    Returns ``{"flipped": fraction of images whose prediction changed, "edited": mean number of
    features changed per image, "only_ablations": every changed feature was set to 0}``. Raises
    TypeError or ValueError when ``flip`` returns something other than a code shaped like z.
    """
    s = flip_setup()
    flipped, edited, only_ablations = 0, 0, True
    for i in range(len(s["images"])):
        z, logits = s["codes"][i].clone(), s["logits"][i].clone()
        z_new = flip(z.clone(), logits.clone(), s["readout"].clone())
        if not isinstance(z_new, torch.Tensor):
            raise TypeError(f"returned a {type(z_new).__name__}, not a tensor")
        if z_new.shape != z.shape:
            raise ValueError(f"returned shape {tuple(z_new.shape)}, expected {tuple(z.shape)}")
        z_new = z_new.detach().to(z.dtype)
        changed = z_new != z
        only_ablations &= bool((z_new[changed] == 0).all())
        edited += int(changed.sum())
        new_logits = steer_logits(s["clf"], s["sae"], s["images"][i : i + 1], "relu",
                                  lambda code, new=z_new: new.expand_as(code))
        flipped += int(new_logits.argmax(1).item() != logits.argmax().item())
    n = len(s["images"])
    return {"flipped": flipped / n, "edited": edited / n, "only_ablations": only_ablations}
