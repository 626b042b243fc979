"""course_lib.absorption: a parent latent, the parent samples it misses, and who absorbs them."""
import pytest
import torch

from course_lib.absorption import (HIERARCHY, absorption, absorption_rate, find_parent_latent,
                                   parent_direction, parent_mask)


def _toy():
    """Six samples in 2-d, four of them 'parent'. Latent 0 reads the parent (decoder e1), latent 1
    is a specific child latent also pointing along e1, latent 2 points elsewhere (e2)."""
    is_parent = torch.tensor([True, True, True, True, False, False])
    Z = torch.tensor([[1.0, 0.0, 0.0],   # parent latent fires
                      [0.8, 0.0, 0.3],   # parent latent fires
                      [0.0, 0.9, 0.2],   # missed, absorbed by latent 1
                      [0.0, 0.0, 0.7],   # missed, only latent 2 (orthogonal): not absorbed
                      [0.0, 0.0, 1.0],
                      [0.0, 0.0, 0.5]])
    decoder = torch.tensor([[1.0, 0.9, 0.0],
                            [0.0, 0.1, 1.0]])  # (d=2, H=3), columns are latents
    return Z, is_parent, decoder, torch.tensor([2.0, 0.0])


def test_known_small_case():
    Z, m, W, p = _toy()
    assert find_parent_latent(Z, m) == 0
    res = absorption(Z, m, W, p)
    assert (res.parent_latent, res.n_parent, res.n_missed, res.n_absorbed) == (0, 4, 2, 1)
    assert res.rate == pytest.approx(0.25) and res.miss_rate == pytest.approx(0.5)
    assert res.absorbed.tolist() == [False, False, True, False, False, False]
    assert res.absorber.tolist() == [-1, -1, 1, -1, -1, -1]
    assert res.top_absorbers() == [(1, 1)]
    assert absorption_rate(Z, m, W, p, 0) == pytest.approx(0.25)


def test_threshold_and_scale():
    Z, m, W, p = _toy()
    # latent 1's cosine with e1 is 0.9 / sqrt(0.82) ~ 0.994: a threshold above it absorbs nothing
    assert absorption_rate(Z, m, W, p, 0, cos_threshold=0.999) == 0.0
    # the rate does not depend on the scale of the direction or of the decoder columns
    assert absorption_rate(Z, m, 5 * W, 0.1 * p, 0) == pytest.approx(0.25)
    # a direction pointing the other way: no latent carries it
    assert absorption_rate(Z, m, W, -p, 0) == 0.0


def test_parent_mask_and_direction():
    y = torch.tensor([0, 5, 7, 9, 1, 6])
    assert parent_mask(y, "footwear").tolist() == [False, True, True, True, False, False]
    assert parent_mask(y, "tops").tolist() == [True, False, False, False, False, True]
    assert set(HIERARCHY) == {"footwear", "tops"}
    X = torch.tensor([[1.0, 0.0], [3.0, 0.0], [1.0, 2.0], [3.0, 2.0]])
    d = parent_direction(X, torch.tensor([False, False, True, True]))
    assert torch.allclose(d, torch.tensor([0.0, 1.0]))


@pytest.mark.parametrize("change, message", [
    (dict(Z=torch.ones(6)), "shape \\(N, n_latent\\)"),
    (dict(Z=torch.full((6, 3), float("nan"))), "NaN"),
    (dict(is_parent=torch.ones(6)), "bool tensor"),
    (dict(is_parent=torch.ones(6, dtype=torch.bool)), "some samples"),
    (dict(decoder=torch.ones(3, 2)), "one column per latent"),
    (dict(direction=torch.ones(3)), "decoder's space"),
    (dict(direction=torch.zeros(2)), "zero vector"),
    (dict(parent_latent=3), "latent index"),
    (dict(cos_threshold=2.0), "cosine"),
])
def test_bad_input_gets_a_clear_error(change, message):
    Z, m, W, p = _toy()
    args = dict(Z=Z, is_parent=m, decoder=W, direction=p, parent_latent=None, cos_threshold=0.3) | change
    with pytest.raises(ValueError, match=message):
        absorption(args.pop("Z"), args.pop("is_parent"), args.pop("decoder"), args.pop("direction"), **args)


def test_unknown_parent_name():
    with pytest.raises(KeyError, match="footwear"):
        parent_mask(torch.tensor([0, 1]), "shoes")
