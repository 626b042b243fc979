"""Steering a classifier through SAE features: the splice keeps the SAE's error, the greedy search
switches off few features, and the goal measurement counts them."""
from __future__ import annotations

import torch

from course_lib import capstone, intervene
from course_lib.models import Autoencoder


def _pair(seed=0):
    clf = capstone.MLPClassifier(12, 6, 3, seed=seed)
    sae = Autoencoder(6, 10, "relu", unit_norm_decoder=True, pre_bias=True, seed=seed)
    return clf, sae, torch.rand(8, 12, generator=torch.Generator().manual_seed(seed))


def test_steer_without_an_edit_is_the_model_itself_and_edits_are_linear():
    clf, sae, X = _pair()
    with torch.no_grad():
        plain = clf(X)
    same = intervene.steer_logits(clf, sae, X, "relu", lambda z: z)
    assert torch.allclose(same, plain, atol=1e-5) and not same.requires_grad
    delta = torch.zeros(10)
    delta[3] = 2.0
    moved = intervene.steer_logits(clf, sae, X, "relu", lambda z: z + delta)
    readout = intervene.feature_readout(clf.fc2.weight, sae)
    assert torch.allclose(moved - plain, (readout @ delta).expand_as(plain), atol=1e-5)
    assert sum(len(m._forward_hooks) for m in clf.modules()) == 0


def test_fewest_ablations_by_hand():
    readout = torch.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])  # features 0 and 1 support class 0
    z, logits = torch.tensor([2.0, 0.5, 1.0]), torch.tensor([2.5, 0.8])
    z_new = intervene.fewest_ablations(z, logits, readout)
    assert z_new.tolist() == [0.0, 0.5, 1.0]  # one ablation, the strongest support, suffices
    assert intervene.fewest_ablations(z, torch.tensor([10.0, 0.0]), readout).tolist() == z.tolist()  # cannot flip


def test_flip_goal_counts_edits_and_flips():
    greedy = intervene.flip_goal(intervene.fewest_ablations)
    nothing = intervene.flip_goal(lambda z, logits, readout: z)
    everything = intervene.flip_goal(lambda z, logits, readout: torch.zeros_like(z))
    assert nothing == {"flipped": 0.0, "edited": 0.0, "only_ablations": True}
    assert greedy["flipped"] >= intervene.FLIP_GOAL["flipped"] and greedy["edited"] <= intervene.FLIP_GOAL["edited"]
    assert everything["edited"] > 5 * greedy["edited"]
