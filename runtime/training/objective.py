"""The objective of a graph: one loss per output node (summed), and accuracy where the outputs are classes.

A cross-entropy output gives class scores in its last dimension: images give (B, C) against ids (B,), sequences
give (B, T, V) against ids (B, T) and the loss is the mean over every position, so a token counts as much in a
short batch as in a long one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from runtime.data.spec import OutputSpec

LOSSES = {
    "mse": F.mse_loss,
    "l1": F.l1_loss,
    "bce": F.binary_cross_entropy_with_logits,
}


@dataclass(frozen=True)
class Objective:
    outputs: tuple[OutputSpec, ...]  # in the order the compiled module returns them

    @property
    def classifies(self) -> bool:
        """Whether accuracy means something: some output is trained with cross-entropy."""
        return any(o.loss == "cross-entropy" for o in self.outputs)

    def loss(self, predictions: tuple[torch.Tensor, ...], targets: dict[str, torch.Tensor]) -> torch.Tensor:
        """The mean loss of the batch, summed over the trained outputs."""
        total: torch.Tensor | None = None
        for spec, prediction in zip(self.outputs, predictions, strict=True):
            if spec.loss == "none":
                continue
            term = output_loss(spec, prediction, targets[spec.name])
            total = term if total is None else total + term
        if total is None:
            raise ValueError("no output has a loss: set the loss of an output node to train the model")
        return total

    def correct(self, predictions: tuple[torch.Tensor, ...], targets: dict[str, torch.Tensor]
                ) -> tuple[torch.Tensor, int] | None:
        """Correct predictions (a tensor, to avoid a device sync) and how many were made, over every
        cross-entropy output; None when no output classifies."""
        hits: torch.Tensor | None = None
        count = 0
        for spec, prediction in zip(self.outputs, predictions, strict=True):
            if spec.loss != "cross-entropy":
                continue
            target = targets[spec.name]
            right = (prediction.argmax(dim=-1) == target).sum()
            hits = right if hits is None else hits + right
            count += target.numel()
        return None if hits is None else (hits, count)


def output_loss(spec: OutputSpec, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if spec.loss == "cross-entropy":
        # float32 for the softmax: under mixed precision the scores may come as bf16/fp16
        return F.cross_entropy(prediction.float().reshape(-1, prediction.shape[-1]), target.reshape(-1))
    return LOSSES[spec.loss](prediction.float(), target.float())


def as_tuple(result: torch.Tensor | tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    """A compiled module returns one tensor for one output, a tuple for several."""
    return result if isinstance(result, tuple) else (result,)
