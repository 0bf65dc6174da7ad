"""Mask completion: CPU inference time of the shipped U-Net on a 16 x 128 x 128 crop, and
its Dice on the held-out VNC clefts against the two baselines (the issue-15 protocol).

Timed in the same run (median of repeats, torch limited to one thread, ``INFERENCE_THREADS``):
- the U-Net on a 16 x 128 x 128 crop (input building, padding and thresholding included);
- shape interpolation (the better baseline's method) on the same crop;
- a reference workload: one 16 -> 16 channel 3x3x3 convolution over the crop (1.1 GMAC),
  which tells how fast this (shared) machine is right now.
The load average is printed beside: on a shared machine absolute times vary tenfold.

    .venv/bin/python bench/bench_unet.py [--repeats 5] [--vnc ../shared/data/vnc-stack1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synanno_dash.ml.baselines import shape_interpolation  # noqa: E402
from synanno_dash.services.mask_completion import (  # noqa: E402
    complete_mask,
    load_completion_model,
)

CROP_ZYX = (16, 128, 128)


def timed(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def crop() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    em = rng.integers(0, 256, size=CROP_ZYX, dtype=np.uint8)
    y, x = np.mgrid[: CROP_ZYX[1], : CROP_ZYX[2]]
    drawn = np.zeros(CROP_ZYX, dtype=bool)
    drawn[4] = (y - 64) ** 2 / 30**2 + (x - 64) ** 2 / 8**2 <= 1
    drawn[11] = (y - 60) ** 2 / 25**2 + (x - 70) ** 2 / 8**2 <= 1
    return em, drawn


def bench_speed(repeats: int) -> None:
    import torch

    model = load_completion_model()
    em, drawn = crop()
    complete_mask(em, drawn, [4, 11], (4.6, 4.6, 50.0), model)  # warm up
    unet = timed(lambda: complete_mask(em, drawn, [4, 11], (4.6, 4.6, 50.0), model), repeats)
    baseline = timed(lambda: shape_interpolation(drawn, [4, 11]), repeats)
    conv = torch.nn.Conv3d(16, 16, 3, padding=1, bias=False).eval()
    features = torch.randn(1, 16, *CROP_ZYX)
    with torch.inference_mode():
        conv(features)
        reference = timed(lambda: conv(features), repeats)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"torch threads {torch.get_num_threads()}")
    print(f"U-Net on {CROP_ZYX} crop, CPU:        {unet:.3f} s (median of {repeats})")
    print(f"shape interpolation, same crop:       {baseline:.3f} s  (ratio {unet / baseline:.1f})")
    print(f"reference 16->16 3x3x3 conv (1.1 GMAC): {reference:.3f} s  "
          f"(ratio {unet / reference:.1f})")  # fmt: skip


def bench_accuracy(vnc: Path) -> None:
    from synanno_dash.ml.evaluate import evaluate
    from synanno_dash.ml.predict import load_model
    from synanno_dash.ml.samples import load_vnc

    if not (vnc / "vnc_stack1_raw_synapses.npz").is_file():
        print(f"accuracy not measured: the VNC stack is not in {vnc}")
        return
    evaluation = evaluate([("U-Net (shipped)", load_model())], load_vnc(vnc), "test")
    print("\n".join(evaluation.lines()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--vnc", default=str(Path(__file__).resolve().parents[2]
                                             / "shared" / "data" / "vnc-stack1"))  # fmt: skip
    args = parser.parse_args()
    bench_speed(args.repeats)
    bench_accuracy(Path(args.vnc))


if __name__ == "__main__":
    main()
