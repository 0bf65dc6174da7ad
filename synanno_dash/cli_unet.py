"""Command line for mask completion: ``unet train``, ``unet eval`` and ``complete-mask``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

DEFAULT_VNC_DIR = Path("../shared/data/vnc-stack1")
SYNTHETIC_SCALE = 0.5
MAX_TRAIN_STEPS = 1_000_000
MAX_TRAIN_MINUTES = 7 * 24 * 60.0  # a week


def add_parsers(sub: argparse._SubParsersAction) -> None:
    unet = sub.add_parser("unet", help="train or measure the mask-completion U-Net")
    actions = unet.add_subparsers(dest="unet_command", required=True)
    train = actions.add_parser("train", help="train the U-Net (CPU: under 30 min)")
    train.add_argument("--out", required=True, help="folder for unet_v1.pt and training.json")
    train.add_argument("--vnc", default=str(DEFAULT_VNC_DIR), help="folder of the VNC stack")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--steps", type=int, default=None, help="optimiser steps")
    train.add_argument("--max-minutes", type=float, default=None, help="stop after this long")
    train.add_argument("--no-synthetic", action="store_true", help="VNC training clefts only")
    evaluate = actions.add_parser("eval", help="Dice on the held-out VNC clefts vs baselines")
    evaluate.add_argument(
        "--weights", action="append", default=[],
        help="weights file (repeat for several seeds; default: shipped)",
    )
    evaluate.add_argument("--vnc", default=str(DEFAULT_VNC_DIR), help="folder of the VNC stack")
    evaluate.add_argument("--part", choices=("test", "validation"), default="test")
    complete = sub.add_parser("complete-mask", help="complete a cleft mask from drawn slices")
    complete.add_argument("--em", required=True, help="uint8 .npy (z, y, x)")
    complete.add_argument("--mask", required=True, help="bool/uint8 .npy (z, y, x)")
    complete.add_argument("--slices", required=True, help="drawn slice indices, e.g. 3,7")
    complete.add_argument("--resolution", required=True, help="x,y,z in nm, e.g. 4.6,4.6,50")
    complete.add_argument("--out", required=True, help=".npy to write (bool, z, y, x)")
    complete.add_argument("--weights", help="weights file (default: shipped)")


def run(args: argparse.Namespace) -> int:
    if args.command == "complete-mask":
        return _complete(args)
    if args.unet_command == "train":
        return _train(args)
    return _evaluate(args)


def _fail(message: str) -> int:
    print(f"complete-mask: {message}", file=sys.stderr)
    return 2


def _numbers(text: str, kind: type, what: str) -> list:
    try:
        return [kind(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"{what} must be comma-separated numbers, got {text!r}") from None


def _load_npy(path: str, what: str) -> np.ndarray:
    """The array of ``path``; its header is read first, so a file claiming a huge shape is
    refused before anything is allocated."""
    from synanno_dash.services.mask_completion import MAX_VOXELS

    if Path(path).is_dir():
        raise ValueError(f"{what} file {path} is a folder: give one .npy file")
    if not Path(path).is_file():
        raise ValueError(f"{what} file {path} not found: check the path")
    try:
        header = np.load(path, mmap_mode="r", allow_pickle=False)
        if not isinstance(header, np.ndarray) or header.size > MAX_VOXELS:
            size = getattr(header, "shape", "not one array")
            raise ValueError(
                f"{what} file {path} holds {size}: give one array of at most "
                f"{MAX_VOXELS} voxels (z, y, x), e.g. a crop of 64 x 256 x 256"
            )
        return np.array(header)
    except (OSError, EOFError) as exc:
        raise ValueError(
            f"{what} file {path} is not a readable .npy array ({type(exc).__name__}): "
            "save it with numpy.save"
        ) from None
    except ValueError as exc:
        if str(exc).startswith(f"{what} file"):
            raise
        raise ValueError(
            f"{what} file {path} is not a readable .npy array ({type(exc).__name__}): "
            "save it with numpy.save"
        ) from None


def _complete(args: argparse.Namespace) -> int:
    from synanno_dash.services.mask_completion import (
        MaskCompletionError,
        complete_mask,
        load_completion_model,
    )

    try:
        slices = _numbers(args.slices, int, "--slices")
        resolution = _numbers(args.resolution, float, "--resolution")
        em, drawn = _load_npy(args.em, "EM"), _load_npy(args.mask, "mask")
        out = Path(args.out)
        if out.is_dir():
            raise ValueError(f"--out {out} is a folder: give a file name ending in .npy")
        if not out.parent.is_dir():
            raise ValueError(f"the folder of --out {out} does not exist: create it first")
        model = load_completion_model(Path(args.weights) if args.weights else None)
        predicted = complete_mask(em, drawn, slices, resolution, model)
    except (MaskCompletionError, ValueError, FileNotFoundError) as exc:
        return _fail(str(exc))
    try:
        np.save(out, predicted)
    except OSError as exc:
        return _fail(f"cannot write --out {out} ({exc.strerror}): choose a writable file")
    print(f"completed {predicted.shape} mask ({int(predicted.sum())} voxels) -> {out}")
    return 0


def _unet_fail(message: str) -> int:
    print(f"unet: {message}", file=sys.stderr)
    return 2


def _train(args: argparse.Namespace) -> int:
    if args.steps is not None and not 1 <= args.steps <= MAX_TRAIN_STEPS:
        return _unet_fail(f"--steps must be 1 to {MAX_TRAIN_STEPS}, got {args.steps}")
    if args.max_minutes is not None and not 0 < args.max_minutes <= MAX_TRAIN_MINUTES:
        return _unet_fail(
            f"--max-minutes must be above 0 and at most {MAX_TRAIN_MINUTES}, got {args.max_minutes}"
        )
    if Path(args.out).exists() and not Path(args.out).is_dir():
        return _unet_fail(f"--out {args.out} is a file: give a folder (it is created if missing)")
    try:
        return _train_checked(args)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        return _unet_fail(_vnc_message(args.vnc, exc))


def _vnc_message(folder: str, exc: Exception) -> str:
    if isinstance(exc, FileNotFoundError):
        return str(exc)
    return (
        f"the VNC stack in {folder} is not readable ({type(exc).__name__}): "
        "pass the folder of the VNC stack as its README describes"
    )


def _train_checked(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from synanno_dash.ml.samples import LabelledStack, load_vnc
    from synanno_dash.ml.train import TrainingPlan, train, write_result

    plan = TrainingPlan(seed=args.seed)
    if args.steps:
        plan = replace(plan, steps=args.steps)
    if args.max_minutes:
        plan = replace(plan, max_minutes=args.max_minutes)
    vnc = load_vnc(Path(args.vnc))
    synthetic: list[LabelledStack] = []
    if not args.no_synthetic:
        from synanno_dash.demo.dataset import synthetic_clefts

        started = time.perf_counter()
        em_xyz, clefts_xyz = synthetic_clefts(seed=args.seed, scale=SYNTHETIC_SCALE)
        em_zyx = em_xyz.transpose(2, 1, 0).copy()
        clefts_zyx = clefts_xyz.transpose(2, 1, 0).astype(np.int32)
        synthetic.append(LabelledStack(em_zyx, clefts_zyx, "demo"))
        print(f"synthetic clefts generated in {time.perf_counter() - started:.0f} s", flush=True)
    result = train(vnc, synthetic, plan, progress=lambda line: print(line, flush=True))
    command = "synanno-dash unet train " + " ".join(sys.argv[3:] if len(sys.argv) > 3 else [])
    path = write_result(Path(args.out), result, plan, command.strip())
    print(f"best validation Dice {result.best_validation_dice:.3f} at step {result.best_step}; "
          f"{result.steps_done} steps in {result.minutes:.1f} min -> {path}")  # fmt: skip
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from synanno_dash.ml.evaluate import evaluate, seed_spread
    from synanno_dash.ml.predict import load_model
    from synanno_dash.ml.samples import load_vnc

    paths: list[Path | None] = [Path(p) for p in args.weights] or [None]
    try:
        models = [
            (f"U-Net {p.parent.name}/{p.name}" if p else "U-Net (shipped)", load_model(p))
            for p in paths
        ]
    except (FileNotFoundError, ValueError) as exc:
        return _unet_fail(str(exc))
    try:
        stack = load_vnc(Path(args.vnc))
    except (FileNotFoundError, ValueError, KeyError) as exc:
        return _unet_fail(_vnc_message(args.vnc, exc))
    evaluation = evaluate(models, stack, args.part)
    for line in evaluation.lines() + seed_spread(evaluation, [name for name, _ in models]):
        print(line)
    return 0
