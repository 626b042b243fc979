"""Pieces of the behaviour reports (``observe=``) that several lessons' build checks share.

A build exercise is graded by what the learner's class or step *does*: an ``observe`` function
runs it on a seeded setting and returns a report (a dict of named observations) that is compared
with the reference's report. Every value is :data:`NA` until observed, so that a call that raises
halfway still gives a report saying how far it got. ``NotImplementedError`` (an untouched stub)
always passes through: the harness reports it as "not implemented yet".
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from .compare import describe_type

NA = "n/a"
PAIR = "a pair of tensors"


def raised(err: Exception) -> str:
    """One line for a report: ``"raised ValueError: the first line of its message"``."""
    text = str(err).strip().splitlines()[0][:160] if str(err).strip() else ""
    return f"raised {type(err).__name__}" + (f": {text}" if text else "")


def forward(model: Callable, x: torch.Tensor) -> tuple[Any, str]:
    """``model(x)`` and what it returned in words (:data:`PAIR`, a type, or ``"raised ..."``);
    the output is None when the call raised."""
    try:
        out = model(x)
    except NotImplementedError:
        raise
    except Exception as err:
        return None, raised(err)
    pair = isinstance(out, (tuple, list)) and len(out) == 2 and all(isinstance(t, torch.Tensor) for t in out)
    return out, PAIR if pair else describe_type(out)


def stale_optimizer(params: list[torch.Tensor], optimizer: str, *, sgd_lr: float, adam_lr: float):
    """An SGD or Adam optimizer over ``params``, whose gradients hold what an earlier backward pass
    left behind (0.5 everywhere): a step that forgets ``zero_grad`` shows."""
    opt = torch.optim.SGD(params, lr=sgd_lr) if optimizer == "SGD" else torch.optim.Adam(params, lr=adam_lr)
    for p in params:
        p.grad = torch.full_like(p, 0.5)
    return opt


def step_twice(call: Callable[[], Any], params: list[torch.Tensor], report: dict) -> list | None:
    """Run a learner's training step twice and fill the report's ``"returns"``, ``"losses of two
    calls"`` and ``"parameters after two calls"``; the outputs, or None when a call raised."""
    try:
        outs = [call() for _ in range(2)]
    except NotImplementedError:
        raise
    except Exception as err:
        report["returns"] = raised(err)
        return None
    report["returns"] = "a float" if isinstance(outs[0], float) else describe_type(outs[0])
    try:
        values = [float(o.detach() if isinstance(o, torch.Tensor) else o) for o in outs]
        report["losses of two calls"] = torch.tensor(values, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        pass
    report["parameters after two calls"] = [p.detach().clone() for p in params]
    return outs


def chosen_settings(fn: Callable[[], Any], problem: Callable[[Any], str | None]) -> tuple[Any, str | None]:
    """The settings a learner's function returns, and what is wrong with them (None: usable).

    The function is called twice: settings are a choice, not a random draw, so two calls that
    disagree are a problem too; ``problem(settings)`` names any other one.
    """
    settings = fn()
    same = fn() == settings
    found = problem(settings)
    if found is None and not same:
        found = "different settings on each call"
    return settings, found
