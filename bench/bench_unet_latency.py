"""Auto (U-Net) latency: time from a job process's start to its completed mask, cold (the
job process imports torch itself, as before issue 15's follow-up) and warm (forked from a
fork server that preloaded ``mask_completion.PRELOAD_MODULES``, as ``ui.jobs`` now does).

Each job loads the shipped weights and completes a 16 x 128 x 128 crop from two drawn
slices, like one Auto click. Each side runs in its own fork server (a fresh interpreter per
side: ``multiprocess``'s fork server is one per process), median of repeats; the ratio warm /
cold is measured in the same run. The load average is printed beside (shared machine).

    .venv/bin/python bench/bench_unet_latency.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def auto_job(started_s: float) -> float:
    """One Auto job's U-Net work; returns seconds from ``started_s`` (job start) to result."""
    from bench.bench_unet import crop
    from synanno_dash.services.mask_completion import complete_mask

    em, drawn = crop()
    complete_mask(em, drawn, [4, 11], (4.6, 4.6, 50.0))
    return time.time() - started_s


def _child(connection: object, started_s: float) -> None:
    connection.send(auto_job(started_s))  # type: ignore[attr-defined]


def side(preload: list[str], repeats: int) -> list[float]:
    """Job latencies from a fork server preloading ``preload`` (run in a fresh interpreter)."""
    import multiprocess
    from multiprocess import forkserver

    context = multiprocess.get_context("forkserver")
    context.set_forkserver_preload(["numpy", "synanno_dash.services.mask_completion", *preload])
    forkserver.ensure_running()
    warm_up = context.Process(target=sum, args=([],))  # waits for the server's imports
    warm_up.start()
    warm_up.join()
    latencies = []
    for _ in range(repeats):
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=_child, args=(send, time.time()))
        process.start()
        latencies.append(float(receive.recv()))
        process.join()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--side", choices=("cold", "warm"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        from synanno_dash.services.mask_completion import PRELOAD_MODULES

        preload = list(PRELOAD_MODULES) if args.side == "warm" else []
        print(json.dumps(side(preload, args.repeats)))
        return
    results = {}
    for name in ("cold", "warm"):
        command = [sys.executable, __file__, "--side", name, "--repeats", str(args.repeats)]
        output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
        results[name] = json.loads(output.stdout.strip().splitlines()[-1])
    cold, warm = (statistics.median(results[n]) for n in ("cold", "warm"))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"Auto job, start to result, cold (imports torch): {cold:.2f} s "
          f"(median of {args.repeats}: {', '.join(f'{t:.2f}' for t in results['cold'])})")
    print(f"Auto job, start to result, warm (preloaded):     {warm:.2f} s "
          f"(median of {args.repeats}: {', '.join(f'{t:.2f}' for t in results['warm'])})")
    print(f"warm / cold: {warm / cold:.2f}")


if __name__ == "__main__":
    main()
