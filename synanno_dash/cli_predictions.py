"""``synanno-dash import-predictions``: a detector's probability map (or label volume) to a
dataset to review: ``DIR/target/`` (precomputed clefts), ``DIR/synapses.csv``, ``DIR/import.json``.

Errors are one line on stderr and exit code 2; nothing is left in ``DIR``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from synanno_dash.settings import Settings

MIB = 1024**2
MAX_MEMORY_MIB = 1024**2  # 1 TiB: more is a typo, not a machine


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "import-predictions",
        help="turn a probability map or label volume into a cleft layer and a synapse table",
    )
    parser.add_argument("--map", required=True, help="precomputed URL/folder, FILE.h5[:/DATA], "
                        "FILE.tif, or a FOLDER.zarr / FOLDER.n5 array")  # fmt: skip
    parser.add_argument("--out", required=True, help="new folder to write the dataset into")
    parser.add_argument("--resolution", help="map voxel size X,Y,Z in nm (HDF5, TIFF, zarr, N5)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--threshold", type=float, help="foreground: value > T (default 0.5)")
    group.add_argument("--hysteresis", help="LOW,HIGH: components of value > LOW holding a "
                       "voxel > HIGH")  # fmt: skip
    parser.add_argument("--min-size", type=int, default=None, help="voxels (default 1000)")
    parser.add_argument("--max-size", type=int, default=None, help="voxels (default 200000)")
    parser.add_argument("--closing", type=int, default=0, help="closing radius in voxels (0)")
    parser.add_argument("--channel", type=int, help="channel of a multi-channel HDF5 map")
    parser.add_argument("--neuropil", help="neuron segmentation: pre/post neuron ids and points")
    parser.add_argument("--source", help="EM image: decides the pre side, checks the map's grid")
    parser.add_argument("--memory-mib", type=int, default=512, help="memory budget (512 MiB)")


def _fail(message: str) -> int:
    print("error: " + " ".join(str(message).split()), file=sys.stderr)
    return 2


def run(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from synanno_dash.core.detection import (
        DEFAULT_MAX_SIZE_VX,
        DEFAULT_MIN_SIZE_VX,
        DEFAULT_THRESHOLD,
        DetectionError,
        DetectionParameters,
    )
    from synanno_dash.core.geometry import Resolution
    from synanno_dash.data.prediction_import import (
        ImportRequest,
        PredictionImportError,
        parse_pair,
        parse_triple,
        run_import,
    )
    from synanno_dash.data.prediction_maps import MapError
    from synanno_dash.data.synapse_sides import SideLayerError

    try:
        resolution = (
            Resolution.of(parse_triple(args.resolution, "--resolution"))
            if args.resolution else None
        )  # fmt: skip
        hysteresis = parse_pair(args.hysteresis, "--hysteresis") if args.hysteresis else None
        params = DetectionParameters(
            threshold=DEFAULT_THRESHOLD if args.threshold is None else args.threshold,
            hysteresis=hysteresis,
            min_size_vx=DEFAULT_MIN_SIZE_VX if args.min_size is None else args.min_size,
            max_size_vx=DEFAULT_MAX_SIZE_VX if args.max_size is None else args.max_size,
            closing_vx=args.closing,
        )
        if not 1 <= args.memory_mib <= MAX_MEMORY_MIB:
            raise PredictionImportError(
                f"--memory-mib must be 1 to {MAX_MEMORY_MIB} (MiB), got {args.memory_mib}: "
                "give about half the machine's free memory."
            )
        request = ImportRequest(
            args.map, Path(args.out), params, resolution, args.neuropil, args.source,
            args.channel, args.memory_mib * MIB, settings.max_import_voxels,
        )  # fmt: skip
        with tqdm(total=100, desc="import", unit="%", file=sys.stderr) as bar:

            def progress(fraction: float, message: str) -> None:
                bar.set_postfix_str(message, refresh=False)
                bar.update(round(100 * fraction) - bar.n)

            result = run_import(request, progress)
    except (DetectionError, MapError, SideLayerError, PredictionImportError) as error:
        return _fail(str(error))
    print(
        f"{result.count} synapses ({result.components_before_filter} components before the "
        f"size filter) in {result.seconds:.1f} s\n  target: {result.target_url}\n"
        f"  table:  {result.table_path}"
    )
    return 0
