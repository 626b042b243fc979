"""course_lib.pbar: live bars in a front-end, plain text when outputs are saved for reading."""
from __future__ import annotations

import io

import pytest
from tqdm import auto

from course_lib import config, pbar, train
from course_lib.models import Autoencoder


def test_without_the_variable_the_bar_is_tqdm_autos(monkeypatch):
    monkeypatch.delenv(config.STATIC_OUTPUT, raising=False)
    bar = pbar.tqdm(range(2), disable=True)
    assert type(bar) is auto.tqdm and not isinstance(bar, pbar.StaticTqdm)


def test_a_kept_bar_prints_one_plain_line_when_static(monkeypatch):
    monkeypatch.setenv(config.STATIC_OUTPUT, "1")
    out = io.StringIO()
    bar = pbar.tqdm(range(4), desc="sweep", unit="model", file=out)
    for _ in bar:
        bar.set_postfix(loss="0.5")
    text = out.getvalue()
    assert "\r" not in text and text.count("\n") == 1
    assert text.startswith("sweep: 4/4 model in 00:0") and text.rstrip().endswith(", loss=0.5")


def test_a_transient_bar_prints_nothing_when_static(monkeypatch, capsys):
    monkeypatch.setenv(config.STATIC_OUTPUT, "yes")
    for _ in pbar.trange(3, desc="inner", leave=False):
        pass
    with pbar.tqdm(total=2) as bar:  # no description, used as a context manager
        bar.update(2)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == "2/2 it in 00:00\n"


def test_the_training_loop_leaves_no_output_when_static(monkeypatch, capsys):
    import torch

    monkeypatch.setenv(config.STATIC_OUTPUT, "1")
    model = Autoencoder(16, 8, seed=0)
    train.train(model, torch.rand(64, 16), epochs=2)  # its bar is transient (leave=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_a_bad_value_is_an_error_naming_the_variable(monkeypatch):
    monkeypatch.setenv(config.STATIC_OUTPUT, "sometimes")
    with pytest.raises(config.ConfigError, match="COURSE_STATIC_OUTPUT='sometimes'"):
        pbar.tqdm(range(1))
