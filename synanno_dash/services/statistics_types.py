"""Value types of the statistics service: what ``collect_statistics`` returns."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Generic, TypeVar

from synanno_dash.core.geometry import BBox
from synanno_dash.core.instances import DatasetConfig
from synanno_dash.core.review_stats import (
    Agreement,
    CategoryCount,
    CompartmentCounts,
    LabelCounts,
    NeuronCounts,
    PositionSample,
    SessionCounts,
)
from synanno_dash.core.statistics import Accuracy
from synanno_dash.core.throughput import Throughput

T = TypeVar("T")


class Scope(StrEnum):
    SESSION = "session"  # the current session
    DATASET = "dataset"  # every session on the same source, target and table


class StatisticsError(ValueError):
    """No statistics can be made (no such session, no dataset open); for the user."""


@dataclass(frozen=True)
class Section(Generic[T]):
    """A figure's data, or (``value`` None) the message shown in its place."""

    value: T | None
    message: str = ""

    @classmethod
    def empty(cls, message: str) -> Section[T]:
        return cls(None, message)


@dataclass(frozen=True)
class Categories:
    overall: tuple[CategoryCount, ...]
    by_compartment: tuple[CategoryCount, ...]  # empty unless neuron-centric
    flagged: int


@dataclass(frozen=True)
class Neurons:
    pre: tuple[NeuronCounts, ...]
    post: tuple[NeuronCounts, ...]
    top_n: int


@dataclass(frozen=True)
class Positions:
    sample: PositionSample
    box: BBox | None  # the dataset's box in target voxels (None: unknown, use the data's)


@dataclass(frozen=True)
class AccuracyResult:
    overall: Accuracy
    per_session: tuple[tuple[str, Accuracy], ...]
    ground_truth: Path
    unmatched_reviewed: int  # reviewed instances the ground truth has no line for
    not_in_table: int  # synapses the table misses (not scored here)


@dataclass(frozen=True)
class StatisticsResult:
    scope: Scope
    session_id: str
    config: DatasetConfig
    sessions: tuple[SessionCounts, ...]  # the sessions counted, oldest first
    neuron_sessions: tuple[str, ...]  # those on the current session's neuron (compartments)
    session_times: dict[str, tuple[float, float]]  # session -> (created, updated)
    generated_at: float
    time_span: tuple[float, float] | None  # first and last logged event
    overall: LabelCounts
    compartments: Section[tuple[CompartmentCounts, ...]]
    categories: Section[Categories]
    neurons: Section[Neurons]
    positions: Section[Positions]
    throughput: Section[Throughput]
    agreement: Section[Agreement]
    accuracy: Section[AccuracyResult]
