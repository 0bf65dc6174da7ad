"""Training the mask-completion U-Net (``synanno-dash unet train``).

Crops come from the training part of the VNC stack (``samples.vnc_part == "train"``) and,
when asked, from the demo generator's synthetic clefts. The loss (binary cross-entropy plus
soft Dice) counts only the slices the user did not draw: those are copied into the output
anyway. The checkpoint with the best validation Dice (validation clefts of the training
half, never the held-out ones) is kept.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from synanno_dash.ml.inputs import drawn_index, input_channels
from synanno_dash.ml.samples import (
    VNC_RESOLUTION_XYZ_NM,
    Case,
    CropPlan,
    LabelledStack,
    clefts_of,
    scoring_cases,
    training_stream,
    vnc_part,
    vnc_region,
)
from synanno_dash.ml.scoring import undrawn_dice

if TYPE_CHECKING:
    import torch

    from synanno_dash.ml.network import UNet3D

log = logging.getLogger(__name__)
TORCH_THREADS = 1  # measured on the shared 2-core machine: 2 threads ran 5-7x slower under load


@dataclass(frozen=True)
class TrainingPlan:
    steps: int = 4000
    cases_per_step: int = 2
    learning_rate: float = 2e-3
    validate_every: int = 50
    max_minutes: float = 25.0
    seed: int = 0
    synthetic_share: float = 0.2  # of training crops, when synthetic clefts are given
    crops: CropPlan = field(default_factory=CropPlan)
    fold: int = 4  # pixels per side folded into channels (network.NetworkShape.fold)
    widths: tuple[int, ...] = (32, 64, 96)
    negative_slope: float = 0.1  # leaky ReLU: with ReLU half the last features died (0.62 cap)


@dataclass(frozen=True)
class TrainingResult:
    network: UNet3D
    best_validation_dice: float
    best_step: int
    steps_done: int
    minutes: float
    history: list[dict]


def completion_loss(
    logits: torch.Tensor, truth: torch.Tensor, undrawn: torch.Tensor
) -> torch.Tensor:
    """BCE plus soft Dice, both over the undrawn voxels only (tensors (1, 1, z, y, x))."""
    from torch.nn import functional

    count = undrawn.sum().clamp(min=1.0)
    bce = functional.binary_cross_entropy_with_logits(
        logits, truth, weight=undrawn, reduction="sum"
    ) / count
    probability = torch_sigmoid(logits) * undrawn
    overlap = (probability * truth).sum()
    dice = 1.0 - (2.0 * overlap + 1.0) / (probability.sum() + (truth * undrawn).sum() + 1.0)
    return bce + dice


def torch_sigmoid(x: torch.Tensor) -> torch.Tensor:
    import torch

    return torch.sigmoid(x)


def _tensors(case: Case, stride: int, where: torch.device) -> tuple[torch.Tensor, ...]:
    """Input, truth and undrawn-voxel weights, padded in y and x to the network's stride (the
    padding is not scored)."""
    import torch

    from synanno_dash.ml.predict import padded_to

    _, height, width = case.em_zyx.shape
    pad = ((0, 0), (0, padded_to(height, stride) - height), (0, padded_to(width, stride) - width))
    em, truth = np.pad(case.em_zyx, pad, mode="symmetric"), np.pad(case.truth_zyx, pad)
    channels = input_channels(em, truth, case.drawn_slices)
    undrawn = ~drawn_index(case.drawn_slices, em.shape[0])
    undrawn_zyx = np.pad(np.broadcast_to(undrawn[:, None, None], case.em_zyx.shape), pad)
    as_tensor = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(where)  # noqa: E731
    return (
        as_tensor(channels[None]),
        as_tensor(truth[None, None]),
        as_tensor(undrawn_zyx[None, None]),
    )


def _set_learning_rate(optimiser: torch.optim.Optimizer, plan: TrainingPlan, done: float) -> None:
    """Warm up over the first 5 %, then cosine decay to zero; ``done`` is the share of the
    budget used (steps or minutes, whichever runs out first)."""
    warm = 0.05
    if done < warm:
        factor = done / warm
    else:
        factor = 0.5 * (1 + math.cos(math.pi * min(1.0, (done - warm) / (1 - warm))))
    for group in optimiser.param_groups:
        group["lr"] = plan.learning_rate * max(factor, 0.01)


def validation_dice(network: UNet3D, cases: Sequence[Case], where: torch.device) -> float:
    """Mean Dice over the undrawn slices of ``cases`` (masks as ``inputs.completed``)."""
    from synanno_dash.ml.inputs import completed
    from synanno_dash.ml.predict import network_probabilities

    network.eval()
    scores = []
    for case in cases:
        p = network_probabilities(network, case.em_zyx, case.truth_zyx, case.drawn_slices, where)
        predicted = completed(p, case.truth_zyx, case.drawn_slices)
        scores.append(undrawn_dice(predicted, case.truth_zyx, case.drawn_slices))
    network.train()
    return float(np.mean(scores)) if scores else float("nan")


def vnc_sources(
    vnc: LabelledStack,
) -> tuple[tuple[LabelledStack, list, tuple], list[Case]]:
    """The training source of the VNC stack and its validation cases (K = 1 and K = 2)."""
    train = [c for c in clefts_of(vnc) if vnc_part(c) == "train"]
    region = vnc_region("train", vnc.em_zyx.shape)
    inside = [c for c in train if c.box[3] <= region[3] and c.box[5] <= region[5]]
    validation = scoring_cases(vnc, "validation", 1) + scoring_cases(vnc, "validation", 2)
    return (vnc, inside, region), validation


def train(
    vnc: LabelledStack,
    synthetic: Sequence[LabelledStack],
    plan: TrainingPlan,
    progress: Callable[[str], None] = log.info,
) -> TrainingResult:
    import torch

    from synanno_dash.ml.network import NetworkShape, UNet3D

    torch.set_num_threads(TORCH_THREADS)
    torch.manual_seed(plan.seed)
    rng = np.random.default_rng(plan.seed)
    where = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    vnc_source, validation = vnc_sources(vnc)
    sources: list = [vnc_source]
    weights = [1.0]
    for stack in synthetic:
        clefts = [c for c in clefts_of(stack) if c.sections >= 2]
        if clefts:
            sources.append((stack, clefts, vnc_region("all", stack.em_zyx.shape)))
            weights.append(plan.synthetic_share / len(synthetic))
    if len(weights) > 1:
        weights[0] = 1.0 - plan.synthetic_share
    stream = training_stream(sources, weights, rng, plan.crops)
    shape = NetworkShape(widths=plan.widths, fold=plan.fold, negative_slope=plan.negative_slope)
    network = UNet3D(shape).to(where)
    optimiser = torch.optim.AdamW(network.parameters(), lr=plan.learning_rate, weight_decay=1e-4)
    _set_learning_rate(optimiser, plan, 0.0)
    started = time.perf_counter()
    best = (-1.0, 0, {k: v.clone() for k, v in network.state_dict().items()})
    history: list[dict] = []
    running: list[float] = []
    step = 0
    for step in range(1, plan.steps + 1):
        optimiser.zero_grad()
        for _ in range(plan.cases_per_step):
            channels, truth, undrawn = _tensors(next(stream), network.shape.xy_stride, where)
            loss = completion_loss(network(channels), truth, undrawn) / plan.cases_per_step
            loss.backward()
            running.append(loss.item() * plan.cases_per_step)
        optimiser.step()
        minutes = (time.perf_counter() - started) / 60
        _set_learning_rate(optimiser, plan, max(step / plan.steps, minutes / plan.max_minutes))
        last = step == plan.steps or minutes >= plan.max_minutes
        if step % plan.validate_every == 0 or last:
            dice = validation_dice(network, validation, where)
            history.append({"step": step, "minutes": round(minutes, 2),
                            "loss": round(float(np.mean(running)), 4),
                            "validation_dice": round(dice, 4)})  # fmt: skip
            running = []
            progress(json.dumps(history[-1]))
            if dice > best[0]:
                best = (dice, step, {k: v.clone() for k, v in network.state_dict().items()})
        if last:
            break
    network.load_state_dict(best[2])
    network.eval()
    minutes = (time.perf_counter() - started) / 60
    return TrainingResult(network, best[0], best[1], step, minutes, history)


def plan_json(plan: TrainingPlan) -> dict:
    return asdict(plan)


def resolution_of_training() -> tuple[float, float, float]:
    return VNC_RESOLUTION_XYZ_NM


def write_result(out: Path, result: TrainingResult, plan: TrainingPlan, command: str) -> Path:
    from synanno_dash.ml.predict import SHIPPED_WEIGHTS, save_model

    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "command": command, "plan": plan_json(plan), "steps_done": result.steps_done,
        "minutes": round(result.minutes, 2), "best_step": result.best_step,
        "best_validation_dice": round(result.best_validation_dice, 4),
    }  # fmt: skip
    path = out / SHIPPED_WEIGHTS
    save_model(path, result.network, resolution_of_training(), meta)
    (out / "training.json").write_text(json.dumps({**meta, "history": result.history}, indent=2))
    return path
