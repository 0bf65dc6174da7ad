"""Measuring mask completion on the held-out VNC clefts (``synanno-dash unet eval``).

Protocol (issue 15): each scored cleft (3 or more sections, centroid x >= 512 px) in a
128 x 128 px crop with one section beyond each end; the user draws K = 1 slice (the largest)
or K = 2 (plus the largest at least two sections away); Dice over the undrawn slices. The
U-Net and both baselines run on the same cases in the same run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from synanno_dash.ml.baselines import nearest_slice, shape_interpolation
from synanno_dash.ml.inputs import completed
from synanno_dash.ml.predict import LoadedModel, probabilities
from synanno_dash.ml.samples import VNC_RESOLUTION_XYZ_NM, Case, LabelledStack, scoring_cases
from synanno_dash.ml.scoring import Completion, Scores, score

DRAWN_COUNTS = (1, 2)
FLAT_GREY = 128


@dataclass(frozen=True)
class Evaluation:
    """Scores per drawn-slice count K, one entry per method."""

    part: str
    scores: dict[int, list[Scores]]
    case_count: int

    def lines(self) -> list[str]:
        out = [f"{self.part} clefts scored (3+ sections): {self.case_count}"]
        for drawn, methods in self.scores.items():
            out.append(f"K = {drawn} drawn slice{'s' if drawn > 1 else ''}:")
            out.extend("  " + s.summary() for s in methods)
        return out


def _baseline(method: Callable[[np.ndarray, Sequence[int]], np.ndarray]) -> Completion:
    return lambda case: method(case.truth_zyx, case.drawn_slices)


def unet_completion(model: LoadedModel, flat_em: bool = False) -> Completion:
    def complete(case: Case) -> np.ndarray:
        em = np.full_like(case.em_zyx, FLAT_GREY) if flat_em else case.em_zyx
        p = probabilities(model, em, case.truth_zyx, case.drawn_slices, VNC_RESOLUTION_XYZ_NM)
        return completed(p, case.truth_zyx, case.drawn_slices)

    return complete


def evaluate(
    models: Sequence[tuple[str, LoadedModel]], vnc: LabelledStack, part: str = "test",
    flat_em_check: bool = True,
) -> Evaluation:
    scores: dict[int, list[Scores]] = {}
    count = 0
    for drawn in DRAWN_COUNTS:
        cases = scoring_cases(vnc, part, drawn)
        count = len(cases)
        methods = [
            score("nearest drawn slice", _baseline(nearest_slice), cases),
            score("shape interpolation", _baseline(shape_interpolation), cases),
        ]
        for name, model in models:
            methods.append(score(name, unet_completion(model), cases))
        if flat_em_check and models:
            name, model = models[0]
            flat = unet_completion(model, flat_em=True)
            methods.append(score(f"{name}, flat grey EM", flat, cases))
        scores[drawn] = methods
    return Evaluation(part, scores, count)


def seed_spread(evaluation: Evaluation, names: Sequence[str]) -> list[str]:
    """Mean and spread over the models (training seeds) of their mean Dice, per K."""
    out = []
    for drawn, methods in evaluation.scores.items():
        means = [s.mean for s in methods if s.method in names]
        if len(means) > 1:
            out.append(
                f"K = {drawn}: mean Dice over {len(means)} seeds {np.mean(means):.3f} "
                f"+- {np.std(means):.3f} (min {min(means):.3f}, max {max(means):.3f})"
            )
    return out
