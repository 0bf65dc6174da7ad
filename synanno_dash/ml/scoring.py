"""Dice of completed masks over the slices the user did not draw (numpy only)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from synanno_dash.ml.inputs import drawn_index
from synanno_dash.ml.samples import Case

Completion = Callable[[Case], np.ndarray]


def undrawn_dice(
    predicted_zyx: np.ndarray, truth_zyx: np.ndarray, drawn_slices: Sequence[int]
) -> float:
    """Dice over the undrawn slices (1.0 when both are empty there)."""
    keep = ~drawn_index(drawn_slices, truth_zyx.shape[0])
    predicted, truth = predicted_zyx[keep].astype(bool), truth_zyx[keep].astype(bool)
    total = int(predicted.sum()) + int(truth.sum())
    return 1.0 if total == 0 else 2.0 * int((predicted & truth).sum()) / total


@dataclass(frozen=True)
class Scores:
    """Dice per case of one method."""

    method: str
    dice: tuple[float, ...]

    @property
    def mean(self) -> float:
        return float(np.mean(self.dice)) if self.dice else float("nan")

    @property
    def std(self) -> float:
        return float(np.std(self.dice)) if self.dice else float("nan")

    def summary(self) -> str:
        return (
            f"{self.method:<22} Dice {self.mean:.3f} +- {self.std:.3f} "
            f"(min {min(self.dice):.3f}, max {max(self.dice):.3f}, n={len(self.dice)})"
        )


def score(method: str, complete: Completion, cases: Sequence[Case]) -> Scores:
    return Scores(
        method,
        tuple(undrawn_dice(complete(case), case.truth_zyx, case.drawn_slices) for case in cases),
    )
