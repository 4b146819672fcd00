"""How a box's health during training is shown: a coloured bar on its left and a line in its tooltip, so that a
vanishing gradient or a dead relu is seen on the box where it happens."""

from __future__ import annotations

from typing import Any

VANISHING, EXPLODING, DEAD = 1e-7, 1e3, 0.9
COLOURS = {"nan": "#d62728", "vanishing": "#1f77b4", "exploding": "#ff7f0e", "dead": "#8c8c8c", "ok": "#2ca02c"}


def health_mark(health: Any) -> tuple[str, str] | None:
    """(colour, sentence) for a runtime.training.health.NodeHealth; None when there is nothing to show."""
    if health is None:
        return None
    grad, dead = health.grad_norm, health.dead_fraction
    if health.nonfinite:
        return COLOURS["nan"], "NaN or Inf in its output"
    if grad is not None and grad < VANISHING:
        return COLOURS["vanishing"], f"vanishing gradient: its parameters' gradient norm is {grad:.1e}"
    if grad is not None and grad > EXPLODING:
        return COLOURS["exploding"], f"exploding gradient: norm {grad:.3g}"
    if dead is not None and dead > DEAD:
        return COLOURS["dead"], f"{dead:.0%} of its outputs are zero (dead units)"
    if grad is None and dead is None:
        return None
    parts = ([f"gradient norm {grad:.3g}"] if grad is not None else []) + \
        ([f"{dead:.0%} of outputs at zero"] if dead is not None else [])
    return COLOURS["ok"], "healthy: " + ", ".join(parts)
