"""``complete_mask`` and ``synanno-dash complete-mask`` with the weights that ship: drawn
slices kept, a synthetic cleft found, bad input refused in one line with exit code 2, and
torch never loaded at app start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from synanno_dash.ml.baselines import nearest_slice
from synanno_dash.ml.samples import LabelledStack, clefts_of, scoring_case
from synanno_dash.ml.scoring import undrawn_dice
from synanno_dash.services.mask_completion import MaskCompletionError, complete_mask
from tests.conftest import REPO

RESOLUTION = (4.0, 4.0, 40.0)


@pytest.fixture(scope="module")
def synthetic_cleft() -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """The demo generator's largest cleft spanning 4+ sections (seed 7, not a training seed),
    in the scoring crop, with its largest slice drawn."""
    from synanno_dash.demo.dataset import synthetic_clefts

    em_xyz, clefts_xyz = synthetic_clefts(seed=7, scale=0.3)
    stack = LabelledStack(
        em_xyz.transpose(2, 1, 0).copy(), clefts_xyz.transpose(2, 1, 0).astype(np.int32), "demo"
    )
    clefts = [c for c in clefts_of(stack) if c.sections >= 4]
    largest = max(clefts, key=lambda c: int((stack.clefts_zyx == c.cleft_id).sum()))
    case = scoring_case(stack, largest, 1)
    return case.em_zyx, case.truth_zyx, case.drawn_slices


def test_drawn_slices_come_back_exactly_even_when_empty() -> None:
    rng = np.random.default_rng(0)
    em = rng.integers(0, 256, size=(5, 37, 50), dtype=np.uint8)
    drawn = np.zeros(em.shape, dtype=np.uint8)
    drawn[1, 10:20, 5:30] = 1
    drawn[3] = rng.integers(0, 2, size=(37, 50))  # not listed: must not count
    out = complete_mask(em, drawn, [1, 4], (4.6, 4.6, 50.0))
    assert out.shape == em.shape and out.dtype == bool
    assert (out[1] == (drawn[1] > 0)).all() and not out[4].any()


def test_completion_is_deterministic() -> None:
    rng = np.random.default_rng(1)
    em = rng.integers(0, 256, size=(4, 40, 40), dtype=np.uint8)
    drawn = np.zeros(em.shape, dtype=bool)
    drawn[2, 10:30, 15:25] = True
    first = complete_mask(em, drawn, [2], (4.6, 4.6, 50.0))
    assert (complete_mask(em, drawn, [2], (4.6, 4.6, 50.0)) == first).all()


def test_a_synthetic_cleft_is_completed_better_than_copying_the_drawn_slice(
    synthetic_cleft: tuple[np.ndarray, np.ndarray, tuple[int, ...]],
) -> None:
    em, truth, slices = synthetic_cleft
    drawn = np.where(np.isin(np.arange(len(truth)), slices)[:, None, None], truth, False)
    predicted = complete_mask(em, drawn, slices, RESOLUTION)
    dice = undrawn_dice(predicted, truth, slices)
    assert dice >= 0.5, dice
    assert dice > undrawn_dice(nearest_slice(drawn, slices), truth, slices)


def test_coarser_pixels_are_resampled_and_come_back_at_the_crop_shape(
    synthetic_cleft: tuple[np.ndarray, np.ndarray, tuple[int, ...]],
) -> None:
    em, truth, slices = synthetic_cleft
    half = (slice(None), slice(None, None, 2), slice(None, None, 2))  # 8 nm pixels
    drawn = truth[half].copy()
    predicted = complete_mask(em[half], drawn, slices, (8.0, 8.0, 40.0))
    assert predicted.shape == truth[half].shape
    assert (predicted[list(slices)] == drawn[list(slices)]).all()
    assert undrawn_dice(predicted, truth[half], slices) >= 0.4


@pytest.mark.parametrize(
    ("em", "drawn", "slices", "resolution", "problem"),
    [
        (np.zeros((3, 8, 8), np.uint8), np.zeros((3, 8, 9), bool), [0], (4, 4, 40), "shape"),
        (np.zeros((3, 8, 8), np.uint8), np.zeros((3, 8, 8), bool), [3], (4, 4, 40), "out of range"),
        (np.zeros((3, 8, 8), np.uint8), np.zeros((3, 8, 8), bool), [-1], (4, 4, 40), "range"),
        (np.zeros((3, 8, 8), np.float32), np.zeros((3, 8, 8), bool), [0], (4, 4, 40), "uint8"),
        (np.zeros((3, 8, 8), np.uint8), np.zeros((3, 8, 8), np.int64), [0], (4, 4, 40), "bool"),
        (np.zeros((8, 8), np.uint8), np.zeros((8, 8), bool), [0], (4, 4, 40), "3-D"),
        (np.zeros((3, 8, 8), np.uint8), np.zeros((3, 8, 8), bool), [], (4, 4, 40), "no drawn"),
        (np.zeros((3, 8, 8), np.uint8), np.zeros((3, 8, 8), bool), [0], (4, 0, 40), "resolution"),
        (np.zeros((3, 8, 8), np.uint8), np.zeros((3, 8, 8), bool), [0], (4, 4), "resolution"),
        (np.zeros((80, 256, 256), np.uint8), np.zeros((80, 256, 256), bool), [0], (4, 4, 40),
         "smaller crop"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_with_a_message_naming_it(
    em: np.ndarray, drawn: np.ndarray, slices: list[int], resolution: tuple, problem: str
) -> None:
    with pytest.raises(MaskCompletionError, match=problem):
        complete_mask(em, drawn, slices, resolution)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "synanno_dash.cli", "complete-mask", *args],
        capture_output=True, text=True, cwd=REPO, timeout=600,
    )  # fmt: skip


def test_complete_mask_command_writes_the_completed_cleft(
    synthetic_cleft: tuple[np.ndarray, np.ndarray, tuple[int, ...]], tmp_path: Path
) -> None:
    em, truth, slices = synthetic_cleft
    np.save(tmp_path / "em.npy", em)
    np.save(tmp_path / "drawn.npy", truth.astype(np.uint8))  # undrawn slices must not count
    done = _cli(
        "--em", str(tmp_path / "em.npy"), "--mask", str(tmp_path / "drawn.npy"),
        "--slices", ",".join(map(str, slices)), "--resolution", "4,4,40",
        "--out", str(tmp_path / "pred.npy"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    predicted = np.load(tmp_path / "pred.npy")
    assert predicted.dtype == bool and predicted.shape == truth.shape
    assert (predicted[list(slices)] == truth[list(slices)]).all()
    assert undrawn_dice(predicted, truth, slices) >= 0.5


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"--em": "missing.npy"}, "not found"),
        ({"--slices": "1,99"}, "out of range"),
        ({"--slices": "1,a"}, "comma-separated"),
        ({"--mask": "other.npy"}, "shape"),
        ({"--em": "float.npy"}, "uint8"),
        ({"--em": "text.npy"}, "not a readable .npy"),
        ({"--resolution": "4,4"}, "resolution"),
        ({"--out": "no/such/folder/pred.npy"}, "does not exist"),
    ],
)
def test_complete_mask_command_refuses_bad_input_in_one_line(
    change: dict[str, str], problem: str, tmp_path: Path
) -> None:
    np.save(tmp_path / "em.npy", np.zeros((4, 16, 16), np.uint8))
    np.save(tmp_path / "drawn.npy", np.zeros((4, 16, 16), bool))
    np.save(tmp_path / "other.npy", np.zeros((4, 16, 17), bool))
    np.save(tmp_path / "float.npy", np.zeros((4, 16, 16), np.float64))
    (tmp_path / "text.npy").write_text("not an array")
    options = {"--em": "em.npy", "--mask": "drawn.npy", "--slices": "1",
               "--resolution": "4,4,40", "--out": "pred.npy", **change}  # fmt: skip
    args = [v for k, value in options.items() for v in (k, str(tmp_path / value)
            if k in ("--em", "--mask", "--out") else value)]  # fmt: skip
    done = _cli(*args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and problem in lines[0], done.stderr
    assert not (tmp_path / "pred.npy").exists()


def test_torch_is_not_imported_at_app_start(tmp_path: Path) -> None:
    """Starting the app (and importing the completion service) leaves torch unloaded."""
    code = (
        "import sys\n"
        "from synanno_dash.settings import load_settings\n"
        "from synanno_dash.ui.app import create_app\n"
        "import synanno_dash.services.mask_completion, synanno_dash.ml.evaluate\n"
        f"create_app(load_settings().with_changes(data_dir=__import__('pathlib').Path({str(tmp_path)!r})))\n"
        "print('torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"
