"""Benchmarks that print figures (not tests): ``python -m course_lib.bench [--recipe NAME]``.

The default run measures, on the current device and in one process:
(a) the epoch time of :func:`course_lib.train.train` on the 60k Fashion-MNIST images;
(b) the same model trained by the common tutorial loop (torchvision dataset + ToTensor,
    DataLoader with batch 32, ``.to(device)`` per batch), timed over a few hundred batches and
    scaled to an epoch;
(c) the dense matmul throughput (``torch.mm`` at the training shapes).
The last line printed is one JSON object with the headline figures.
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from .data import load_fashion_mnist, prepare
from .device import describe_device, get_device
from .models import Autoencoder
from .train import reconstruction_loss, train


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def step_flops(n_in: int, n_latent: int, batch: int) -> int:
    """FLOPs of the 5 matmuls in one step (forward 2, backward 3: no input gradient)."""
    return 5 * 2 * batch * n_in * n_latent


def matmul_seconds(n_in: int, n_latent: int, batch: int, steps: int, device: torch.device,
                   repeats: int = 3) -> float:
    """Time of ``steps`` rounds of the five training-shaped matmuls (best of ``repeats``)."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(batch, n_in, generator=g).to(device)
    W = torch.randn(n_latent, n_in, generator=g).to(device)
    z, e = x @ W.t(), torch.rand(batch, n_latent, generator=g).to(device)

    def round_() -> None:
        torch.mm(x, W.t()), torch.mm(z, W), torch.mm(x.t(), e), torch.mm(e, W), torch.mm(e.t(), x)

    for _ in range(5):
        round_()
    best = float("inf")
    for _ in range(repeats):  # the best of a few runs: the machine's capability, not its noise
        _sync(device)
        start = time.perf_counter()
        for _ in range(steps):
            round_()
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return best


def tutorial_epoch_seconds(n_latent: int, device: torch.device, batches: int = 300,
                           windows: int = 3) -> float:
    """Epoch time of the common DataLoader loop, scaled up from ``batches`` batches.

    The batches are timed in ``windows`` equal windows and the fastest window counts, so that a
    moment of noise on the machine makes the tutorial loop look faster, never slower.
    """
    from torchvision import datasets, transforms
    from torch.utils.data import DataLoader

    from .data import cache_dir

    prepare()  # makes the torchvision raw layout available in the cache
    ds = datasets.FashionMNIST(str(cache_dir()), train=True, download=False, transform=transforms.ToTensor())
    loader = DataLoader(ds, batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(0))
    model = Autoencoder(784, n_latent).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    per_window, warmup = batches // windows, 20
    best, start, done = float("inf"), 0.0, 0
    for images, _ in loader:
        x = images.view(len(images), -1).to(device)
        x_hat, _ = model(x)
        loss = reconstruction_loss(x, x_hat)
        opt.zero_grad()
        loss.backward()
        opt.step()
        done += 1
        if done >= warmup and (done - warmup) % per_window == 0:
            _sync(device)
            now = time.perf_counter()
            if done > warmup:
                best = min(best, now - start)
            start = now
            if done == warmup + windows * per_window:
                break
    return best / per_window * len(loader)


def run_default(sizes=(256, 1024), epochs: int = 3) -> dict:
    device = get_device()
    X, _ = load_fashion_mnist("train", device=device)
    print(f"device: {describe_device(device)}; data {tuple(X.shape)}")
    rows, result = [], {"device": str(device)}
    for h in sizes:
        model = Autoencoder(784, h).to(device)
        hist = train(model, X, epochs=epochs, batch_size=256, progress=False)
        ours = min(hist["seconds"][1:] or hist["seconds"])  # first epoch includes warm-up
        steps = -(-len(X) // 256)
        mm = matmul_seconds(784, h, 256, steps, device)
        tut = tutorial_epoch_seconds(h, device)
        frac = mm / ours
        rows.append((h, ours, tut, tut / ours, mm, step_flops(784, h, 256) * steps / mm / 1e9, frac))
        result[f"epoch_s_{h}"] = round(ours, 3)
        result[f"dataloader_epoch_s_{h}"] = round(tut, 3)
        result[f"speedup_{h}"] = round(tut / ours, 2)
        result[f"matmul_fraction_{h}"] = round(frac, 3)
        result[f"speedup_ceiling_{h}"] = round(tut / mm, 2)  # a loop doing nothing but its matmuls
    print(f"{'latents':>8} {'train s/ep':>11} {'tutorial s/ep':>14} {'speedup':>8} {'matmul s/ep':>12} "
          f"{'GFLOP/s mm':>11} {'mm fraction':>12}")
    for h, ours, tut, sp, mm, gf, frac in rows:
        print(f"{h:>8} {ours:>11.3f} {tut:>14.3f} {sp:>8.1f} {mm:>12.3f} {gf:>11.1f} {frac:>12.2f}")
    result["speedup_vs_dataloader"] = round(min(r[3] for r in rows), 2)
    result["matmul_fraction"] = round(min(r[6] for r in rows), 3)
    return result


def run_topk_recipe(n_latent: int = 1024, k: int = 32, epochs: int = 12) -> dict:
    """The recommended K-sparse recipe at full size (see :mod:`course_lib.topk`).

    784 -> ``n_latent`` top-K autoencoder with unit-norm decoder, encoder = 0.1 x decoder
    transpose, pre-encoder bias at the data mean and AuxK (k_aux 512, coef 0.25, dead window 2000
    samples), trained on all 60k training images (batch 256, Adam lr 1e-3). Reported on the 10k
    test images: FVU, L0, dead fraction (latents that never fire on the test set) and the accuracy
    of a linear probe (multinomial logistic regression, L-BFGS) trained on the codes of all 60k
    training images; ``probe_accuracy_2k`` is the same probe on codes with 2k active latents
    (Makhzani & Frey: train with k, encode with alpha * k). ``seconds`` is the training time;
    the probes are timed separately.
    """
    from . import metrics, topk

    device = get_device()
    X, y = load_fashion_mnist("train", device=device)
    X_test, y_test = load_fashion_mnist("test", device=device)
    print(f"device: {describe_device(device)}; torch threads {torch.get_num_threads()}; "
          f"train {tuple(X.shape)}, test {tuple(X_test.shape)}")
    model = topk.make_topk_sae(784, n_latent, k, X=X)
    start = time.perf_counter()
    history = topk.train_topk(model, X, epochs=epochs, progress=False)
    _sync(device)
    seconds = time.perf_counter() - start
    train_eval, test_eval = metrics.evaluate(model, X), metrics.evaluate(model, X_test)
    start = time.perf_counter()
    probe = metrics.linear_probe_accuracy(metrics.encode_batched(model, X), y,
                                          metrics.encode_batched(model, X_test), y_test)
    probe_seconds = time.perf_counter() - start
    probe_2k = metrics.linear_probe_accuracy(topk.encode_with_k(model, X, 2 * k), y,
                                             topk.encode_with_k(model, X_test, 2 * k), y_test)
    print(f"784 -> {n_latent}, k = {k}, {epochs} epochs, AuxK on; training {seconds:.1f} s "
          f"({seconds / epochs:.2f} s/epoch)")
    print(f"{'split':>6} {'FVU':>7} {'L0':>6} {'dead':>7}")
    for name, ev in (("train", train_eval), ("test", test_eval)):
        print(f"{name:>6} {ev['fvu']:>7.4f} {ev['l0']:>6.1f} {ev['dead_fraction']:>7.2%}")
    print(f"linear probe (60k train codes -> 10k test): {probe:.4f} ({probe_seconds:.1f} s); "
          f"encoding with 2k = {2 * k} latents: {probe_2k:.4f}")
    return {"recipe": "topk", "device": str(device), "n_latent": n_latent, "k": k, "epochs": epochs,
            "fvu": round(test_eval["fvu"], 4), "l0": round(test_eval["l0"], 2),
            "dead_fraction": round(test_eval["dead_fraction"], 4),
            "dead_fraction_train": round(train_eval["dead_fraction"], 4),
            "dead_tracker_end": history["dead"][-1],
            "probe_accuracy": round(probe, 4), "probe_accuracy_2k": round(probe_2k, 4),
            "seconds": round(seconds, 1),
            "probe_seconds": round(probe_seconds, 1)}


RECIPES = {"default": run_default, "topk": run_topk_recipe}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Course benchmarks; the last line printed is JSON.")
    parser.add_argument("--recipe", default="default", choices=sorted(RECIPES))
    args = parser.parse_args(argv)
    print(json.dumps(RECIPES[args.recipe]()))


if __name__ == "__main__":
    main()
