"""One Neuroglancer precomputed layer: its address, checks of its info, padded crops.

Boxes here are in the layer's own voxels (x, y, z, half-open, absolute coordinates including
the voxel offset). Crops are z, y, x arrays with the channel axis dropped, zero-padded past
the border (never shifted), shared with the crop cache and read-only.

Every failure a proofreader can cause (wrong address, missing info, wrong data type) is a
``VolumeError`` whose message names the problem and the fix, with no traceback text.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from synanno_dash.core.geometry import BBox, Resolution, Triple
from synanno_dash.data.chunk_fetch import ByteSource, LayerChunks
from synanno_dash.data.crop_cache import CropCache

REMOTE_SCHEMES = ("gs://", "s3://", "https://", "http://")
UNSIGNED_DTYPES = ("uint8", "uint16", "uint32", "uint64")
LAYER_TYPES = ("image", "segmentation")
VOLUME_TYPE = "neuroglancer_multiscale_volume"  # the default "@type" of a volume info
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
REQUEST_TIMEOUT_S = 10.0  # one chunk request of a remote layer
_T = TypeVar("_T")


class VolumeError(Exception):
    """A problem with a volume, worded for the person who typed its address.

    ``role`` says which layer it concerns (``source``, ``target`` or ``neuropil``) when known,
    so a form can show the message under the right field.
    """

    def __init__(self, message: str, role: str | None = None) -> None:
        super().__init__(message)
        self.role = role


def normalize_url(url: str) -> str:
    """A CloudVolume address: strip ``precomputed://``, turn local paths into ``file://``."""
    text = url.strip()
    if not text:
        raise VolumeError(
            "The volume address is empty: enter a gs://, s3://, https:// or local path."
        )
    if text.startswith("precomputed://"):
        text = text[len("precomputed://") :]
    if text.startswith(REMOTE_SCHEMES):
        return text.rstrip("/")
    if text.startswith("file://"):
        text = text[len("file://") :]
    elif "://" in text:
        scheme = text.split("://", 1)[0]
        raise VolumeError(
            f"Unsupported address scheme '{scheme}://' in {url}: use gs://, s3://, https://, "
            "file:// or a local folder path."
        )
    return "file://" + str(Path(text).expanduser().resolve())


@dataclass(frozen=True, eq=False)
class LayerCrop:
    """One layer's crop: ``data_zyx`` at ``resolution``, ``bbox_vx`` in that layer's voxels."""

    data_zyx: np.ndarray
    bbox_vx: BBox
    resolution: Resolution
    padding_before_xyz: Triple
    padding_after_xyz: Triple


def _reason(error: BaseException) -> str:
    """One line about an exception from a library: no traceback, no terminal colours."""
    lines = _ANSI.sub("", str(error)).strip().splitlines()
    text = lines[0][:200] if lines else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _fmt_res(resolution: Resolution) -> str:
    return " x ".join(f"{v:g}" for v in resolution.as_tuple()) + " nm"


def format_box(bbox: BBox) -> str:
    return ", ".join(
        f"{axis} {a}..{b}" for axis, a, b in zip("xyz", bbox.start_xyz, bbox.stop_xyz, strict=True)
    )


def read_secrets(secrets_path: str | None) -> dict[str, Any] | None:
    if not secrets_path:
        return None
    path = Path(secrets_path).expanduser()
    try:
        secrets = json.loads(path.read_text())
    except FileNotFoundError:
        raise VolumeError(
            f"The secrets file {path} does not exist: fix the path or leave it empty."
        ) from None
    except (OSError, ValueError) as error:
        raise VolumeError(
            f"The secrets file {path} could not be read as JSON ({_reason(error)})."
        ) from None
    if not isinstance(secrets, dict):
        raise VolumeError(f"The secrets file {path} must hold a JSON object.")
    return secrets


def _with_timeout(work: Callable[[], _T], timeout_s: float, what: str) -> _T:
    """Run ``work`` in a daemon thread so a dead network cannot hang the caller."""
    outcome: Future[_T] = Future()

    def run() -> None:
        try:
            outcome.set_result(work())
        except BaseException as error:  # handed to the caller below
            outcome.set_exception(error)

    threading.Thread(target=run, name="synanno-open", daemon=True).start()
    try:
        return outcome.result(timeout=timeout_s)
    except TimeoutError:
        raise VolumeError(
            f"Opening {what} timed out after {timeout_s:g} s: check the address and the network."
        ) from None


def _access_error(role: str, url: str, error: Exception) -> VolumeError:
    name = type(error).__name__
    if name in ("DefaultCredentialsError", "NoCredentialsError"):
        from cloudfiles.paths import to_https_protocol

        return VolumeError(
            f"No credentials were found to read the {role} volume {url}. For a public bucket use "
            f"the https address {to_https_protocol(url)}; for a private one give a secrets file."
        )
    if isinstance(error, json.JSONDecodeError):  # orjson's error derives from it too
        return VolumeError(
            f"The info file of the {role} volume {url} is not valid JSON ({_reason(error)}): "
            "this is not a Neuroglancer precomputed volume."
        )
    return VolumeError(
        f"Could not reach the {role} volume {url} ({_reason(error)}). Check the address, the "
        "network connection and, for a private bucket, the secrets file."
    )


def _check_folder(role: str, folder: Path) -> None:
    if not folder.exists():
        raise VolumeError(f"The {role} folder {folder} does not exist: check the path.")
    if not folder.is_dir():
        raise VolumeError(
            f"The {role} address {folder} is a file, not a folder: give the volume's folder."
        )


def _check_info(role: str, url: str, info: object, dtypes: Sequence[str]) -> dict[str, Any]:
    """Fail unless ``info`` describes a single-channel precomputed image or segmentation."""
    what = f"The {role} volume {url}"
    if not isinstance(info, dict):
        raise VolumeError(f"{what} has an info file that is not a JSON object.")
    kind = info.get("@type", VOLUME_TYPE)
    if kind != VOLUME_TYPE or info.get("type") not in LAYER_TYPES:
        found = info.get("type") or kind
        raise VolumeError(
            f"{what} is not a precomputed image or segmentation (its info says type {found!r}): "
            "point to the volume folder itself, not to its mesh, skeleton or annotation folder."
        )
    scales = info.get("scales")
    needed = ("resolution", "size", "voxel_offset")
    if not scales or not isinstance(scales[0], dict) or any(k not in scales[0] for k in needed):
        raise VolumeError(f"{what} has an info file without a usable 'scales' entry.")
    if info.get("num_channels", 1) != 1:
        raise VolumeError(f"{what} has {info['num_channels']} channels; one channel is needed.")
    if info.get("data_type") not in dtypes:
        hint = " Are the source and target addresses swapped?" if role.startswith("source") else ""
        raise VolumeError(
            f"{what} holds {info.get('data_type')} voxels, but the {role} must be "
            f"{' or '.join(dtypes)}.{hint}"
        )
    return info


def _check_resolution(role: str, url: str, info: dict, given: Resolution | None) -> Resolution:
    found = Resolution.of(info["scales"][0]["resolution"])
    pairs = zip(given.as_tuple(), found.as_tuple(), strict=True) if given else ()
    if given is None or all(math.isclose(a, b, rel_tol=1e-6) for a, b in pairs):
        return found
    other_mips = [
        mip
        for mip, scale in enumerate(info["scales"])
        if Resolution.of(scale["resolution"]).as_tuple() == given.as_tuple()
    ]
    hint = f" (that is the resolution of mip {other_mips[0]})" if other_mips else ""
    raise VolumeError(
        f"The {role} resolution entered, {_fmt_res(given)}, differs from the volume's info, "
        f"{_fmt_res(found)}{hint}, for {url}. Correct the {role.split()[0]} resolution in the form."
    )


class VolumeLayer:
    """One opened volume at mip 0: its CloudVolume, geometry and cached reads.

    A remote layer also has ``chunks`` (its chunks fetched one by one, see ``page_reads``);
    a local one is read crop by crop through CloudVolume.
    """

    def __init__(
        self,
        role: str,
        url: str,
        cloud_volume: Any,
        resolution: Resolution,
        secrets: dict[str, Any] | None = None,
    ) -> None:
        self.role = role
        self.url = url
        self.mip = 0
        self.resolution = resolution
        self._cv = cloud_volume
        self.chunks: LayerChunks | None = None
        if not self.is_local:
            source = ByteSource(url, secrets, REQUEST_TIMEOUT_S)
            self.chunks = LayerChunks(url, cloud_volume.info, source, role)
        scale = cloud_volume.info["scales"][0]
        start = tuple(int(v) for v in scale["voxel_offset"])
        stop = tuple(a + int(s) for a, s in zip(start, scale["size"], strict=True))
        self.bounds_vx = BBox.from_bounds(start, stop)
        self.dtype = np.dtype(cloud_volume.info["data_type"])
        chunk = scale["chunk_sizes"][0]
        self.chunk_xyz_vx: Triple = (int(chunk[0]), int(chunk[1]), int(chunk[2]))

    @classmethod
    def open(
        cls,
        role: str,
        url: str,
        dtypes: Sequence[str],
        secrets: dict[str, Any] | None,
        resolution: Resolution | None,
        timeout_s: float,
    ) -> VolumeLayer:
        url = normalize_url(url)
        if url.startswith("file://"):
            _check_folder(role, Path(url[len("file://") :]))
            info, cloud_volume = cls._connect(role, url, dtypes, secrets)
        else:
            info, cloud_volume = _with_timeout(
                lambda: cls._connect(role, url, dtypes, secrets), timeout_s, f"the {role} {url}"
            )
        resolution = _check_resolution(role, url, info, resolution)
        return cls(role, url, cloud_volume, resolution, secrets)

    @property
    def is_local(self) -> bool:
        return self.url.startswith("file://")

    @staticmethod
    def _connect(
        role: str, url: str, dtypes: Sequence[str], secrets: dict[str, Any] | None
    ) -> tuple[dict, Any]:
        from cloudfiles import CloudFiles  # imported lazily: cloudvolume takes ~2 s to import
        from cloudvolume import CloudVolume

        try:
            info = CloudFiles(url, secrets=secrets, progress=False).get_json("info")
        except Exception as error:
            raise _access_error(role, url, error) from None
        if info is None:
            raise VolumeError(
                f"No info file at {url}/info: this is not a precomputed {role} volume. Point to "
                "the folder that holds the 'info' file."
            )
        info = _check_info(role, url, info, dtypes)
        cloud_volume = CloudVolume(
            url, mip=0, info=info, provenance={}, secrets=secrets, bounded=True,
            fill_missing=True, parallel=1, progress=False, cache=False,
        )  # fmt: skip
        return info, cloud_volume

    def cache_key(self, bbox_vx: BBox) -> tuple:
        return (self.url, self.mip, bbox_vx.start_xyz, bbox_vx.stop_xyz)

    def crop(self, bbox_vx: BBox, cache: CropCache) -> LayerCrop:
        """A local layer's crop (read through CloudVolume, cached)."""
        data = cache.get_or_load(self.cache_key(bbox_vx), lambda: self._read_padded(bbox_vx))
        return self.as_crop(bbox_vx, data)

    def as_crop(self, bbox_vx: BBox, data_zyx: np.ndarray) -> LayerCrop:
        before, after = bbox_vx.padding_within(self.bounds_vx)
        return LayerCrop(data_zyx, bbox_vx, self.resolution, before, after)

    def read(self, bbox_vx: BBox) -> np.ndarray:
        """A crop read now, uncached: z, y, x, zero past the layer's border."""
        return self._read_padded(bbox_vx)

    def _read_padded(self, bbox_vx: BBox) -> np.ndarray:
        inside = bbox_vx.intersect(self.bounds_vx)
        if inside == bbox_vx:
            return self._read_zyx(inside)
        out = np.zeros(bbox_vx.shape_xyz[::-1], dtype=self.dtype)
        if not inside.is_empty:
            ox, oy, oz = (a - b for a, b in zip(inside.start_xyz, bbox_vx.start_xyz, strict=True))
            sx, sy, sz = inside.shape_xyz
            out[oz : oz + sz, oy : oy + sy, ox : ox + sx] = self._read_zyx(inside)
        return out

    def _read_zyx(self, inside: BBox) -> np.ndarray:
        (x0, y0, z0), (x1, y1, z1) = inside.start_xyz, inside.stop_xyz
        try:
            cutout = self._cv[x0:x1, y0:y1, z0:z1]
        except Exception as error:
            raise VolumeError(
                f"Could not read the {self.role} crop {format_box(inside)} from {self.url} "
                f"({_reason(error)}). Check the network connection and the volume's chunks."
            ) from None
        # CloudVolume gives x, y, z, channel; transposing the Fortran-ordered block is free.
        return np.ascontiguousarray(np.asarray(cutout)[..., 0].transpose(2, 1, 0))
