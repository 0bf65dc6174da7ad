"""Hostile input on every command line entry point, as a new user would type it: each ends
with exit code 2 and one line on stderr naming the problem, never a traceback or an
allocation the input controls."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synanno_dash import cli

BOUNDED = settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``argv`` in process; it must exit 2 with a message and no traceback. Returns the
    message (log lines left out; a table's schema help spans several lines)."""
    code = cli.main(argv)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip() and " INFO " not in line
             and not line.startswith("INFO ")]  # fmt: skip
    assert code == 2, (argv, err)
    assert "Traceback" not in err
    assert lines, argv
    return "\n".join(line for line in lines if not line.startswith(("convert:", "import:")))


@pytest.fixture()
def arrays(tmp_path: Path) -> Path:
    np.save(tmp_path / "em.npy", np.zeros((4, 16, 16), np.uint8))
    np.save(tmp_path / "mask.npy", np.zeros((4, 16, 16), bool))
    (tmp_path / "text.csv").write_text("a,b\n1,2\n")
    (tmp_path / "folder").mkdir()
    with open(tmp_path / "huge.npy", "wb") as handle:  # a header claiming 10^15 voxels
        np.lib.format.write_array_header_1_0(
            handle, {"descr": "|u1", "fortran_order": False, "shape": (10**5, 10**5, 10**5)}
        )
        handle.write(b"\0" * 64)
    (tmp_path / "garbage.npy").write_bytes(bytes(range(256)) * 4)
    return tmp_path


def _complete(folder: Path, **changes: str) -> list[str]:
    values = {
        "--em": str(folder / "em.npy"), "--mask": str(folder / "mask.npy"), "--slices": "1",
        "--resolution": "8,8,40", "--out": str(folder / "out.npy"),
    }  # fmt: skip
    values.update(changes)
    return ["complete-mask", *[f"{key}={value}" for key, value in values.items()]]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"--em": "huge.npy"}, "EM file"),
        ({"--em": "garbage.npy"}, "not a readable .npy"),
        ({"--em": "folder"}, "is a folder"),
        ({"--mask": "missing.npy"}, "not found"),
        ({"--out": "folder"}, "is a folder"),
        ({"--weights": "text.csv"}, "not a U-Net weights file"),
        ({"--weights": "missing.pt"}, "weights not found"),
    ],
)
def test_complete_mask_refuses_bad_files(
    arrays: Path, capsys: pytest.CaptureFixture[str], change: dict[str, str], expected: str
) -> None:
    key, name = next(iter(change.items()))
    line = _refused(_complete(arrays, **{key: str(arrays / name)}), capsys)
    assert expected in line
    assert not (arrays / "out.npy").exists()


NUMBER = st.one_of(
    st.integers(-(10**12), 10**12).map(str),
    st.sampled_from(["nan", "inf", "-inf", "0", "-1", "1e300", "", "x", "²"]),
)


@BOUNDED
@given(resolution=st.lists(NUMBER, min_size=1, max_size=4), slices=st.lists(NUMBER, max_size=3))
def test_complete_mask_numbers_fuzzed(
    arrays: Path, capsys: pytest.CaptureFixture[str], resolution: list[str], slices: list[str]
) -> None:
    """Any resolution/slices a user types: a completed mask, or exit 2 with one line."""
    argv = _complete(arrays, **{"--resolution": ",".join(resolution), "--slices": ",".join(slices)})
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert code in (0, 2), err
    if code == 2:
        assert err.strip().startswith("complete-mask: ")


@pytest.mark.parametrize(
    "argv_tail",
    [
        ["eval", "--vnc", "{tmp}/nowhere"],
        ["eval", "--weights", "{tmp}/text.csv"],
        ["eval", "--weights", "{tmp}/folder"],
        ["train", "--out", "{tmp}/o", "--steps=-3"],
        ["train", "--out", "{tmp}/o", "--steps", "0"],
        ["train", "--out", "{tmp}/o", "--max-minutes", "0"],
        ["train", "--out", "{tmp}/o", "--max-minutes", "1e12"],
        ["train", "--out", "{tmp}/text.csv"],
        ["train", "--out", "{tmp}/o", "--vnc", "{tmp}/nowhere"],
    ],
)
def test_unet_refuses(
    arrays: Path, capsys: pytest.CaptureFixture[str], argv_tail: list[str]
) -> None:
    line = _refused(["unet", *[part.format(tmp=arrays) for part in argv_tail]], capsys)
    assert line.startswith("unet: ")
    assert not (arrays / "o").exists()


@BOUNDED
@given(
    name=st.sampled_from(["--port", "--workers", "--threads", "--graceful-timeout"]),
    value=st.one_of(st.integers(-(10**12), 0), st.integers(65536, 10**12)),
)
def test_serve_refuses_absurd_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, value: int
) -> None:
    """Refused before anything starts (no demo, no Neuroglancer service, no gunicorn)."""
    argv = ["serve", "--no-demo", "--data-dir", str(tmp_path), f"{name}={value}"]
    line = _refused(argv, capsys)
    assert name in line and "must be 1 to" in line


def test_demo_refuses_a_file_as_folder(arrays: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _refused(["demo", "--out", str(arrays / "text.csv")], capsys)
    assert "is a file" in line


@pytest.mark.parametrize("name", ["folder", "missing.csv", "text.csv", "garbage.npy"])
def test_convert_table_refuses_on_stderr(
    arrays: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    line = _refused(["convert-table", str(arrays / name), "--data-dir", str(arrays)], capsys)
    assert line.startswith("error: ") and name in line
    assert "1,2" not in line  # never the file's text


@pytest.mark.parametrize("command", [["report", "--out", "r.html"], ["export", "--format",
                                     "cave", "--out", "x"]])  # fmt: skip
def test_unknown_session_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    argv = [command[0], "--session", "no-such-session", "--data-dir", str(tmp_path), *command[1:]]
    line = _refused(argv, capsys)
    assert "no-such-session" in line or "nobody" in line or "session" in line.lower()


@pytest.mark.parametrize(
    "option", ["--port=-5", "--port=99999999", "--max-viewers=0", "--max-viewers=1000000000000"]
)
def test_neuroglancer_refuses_absurd_numbers(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, option: str
) -> None:
    monkeypatch.setenv("SYNANNO_NG_SECRET", "test-secret")
    line = _refused(["neuroglancer", option], capsys)
    assert option.split("=")[0] in line and "must be" in line


@pytest.mark.parametrize("value", ["0", "-1", str(10**12)])
def test_import_predictions_refuses_absurd_memory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    argv = ["import-predictions", "--map", str(tmp_path), "--out", str(tmp_path / "o"),
            f"--memory-mib={value}"]  # fmt: skip
    line = _refused(argv, capsys)
    assert "--memory-mib must be 1 to" in line
    assert not (tmp_path / "o").exists()
