"""One settings object, read from environment variables and an optional ``.env`` file.

Defaults give a working local app on the demo dataset with no configuration.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from synanno_dash.core.labels import Category
from synanno_dash.core.limits import DEFAULT_MAX_UPLOAD_BYTES
from synanno_dash.core.synapse_types import DEFAULT_TYPES, parse_type_list

# A map of 1,024^3 voxels: ~1 GB as uint8, its cleft layer ~4 GB uncompressed uint32.
DEFAULT_MAX_IMPORT_VOXELS = 1024**3

# Instances added by hand are false negatives; reviewers do not choose it on Categorize.
DEFAULT_CATEGORIES = tuple(
    c for c in Category if c not in (Category.FALSE_NEGATIVE, Category.CUSTOM)
)


def parse_categories(text: str) -> tuple[Category, ...]:
    """``"false_positive, merged"`` -> categories; unknown names are refused by name."""
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    known = {c.value for c in Category}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(
            f"SYNANNO_CATEGORIES names unknown categories {unknown}; known: {sorted(known)}"
        )
    return tuple(Category(name) for name in names if name != Category.CUSTOM.value)


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "synanno-dash"


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8050
    data_dir: Path = _default_data_dir()
    database_url: str = ""  # empty: a SQLite file in data_dir
    cache_bytes: int = 512 * 1024**2  # decoded-crop LRU per dataset
    # Sizes of the other in-memory caches (``data.bounded_cache``), per worker process.
    tile_cache_bytes: int = 64 * 1024**2  # encoded tile slices (the next page's prefetch)
    max_volume_sets: int = 4  # opened datasets (CloudVolume handles)
    max_neuron_views: int = 8  # prepared neurons (a 100,000-node neuron is ~10 MB)
    max_viewers: int = 64  # Neuroglancer viewers, one per browser session using one
    # The shared Neuroglancer service (``services.ng_service``): its address as the app's
    # workers reach it (empty: viewers in this process; ``serve`` starts a service and sets
    # it), the port ``serve`` gives the service it starts (0: a free one) and the secret
    # every call to it carries (empty: ``serve`` makes one).
    ng_service_url: str = ""
    ng_port: int = 0
    ng_secret: str = ""
    max_statistics: int = 16  # statistics results (/stats) kept on disk for reuse and the report
    debug: bool = False
    # Error categories offered on Categorize, in this order (Custom is always offered).
    categories: tuple[Category, ...] = DEFAULT_CATEGORIES
    # Synapse types offered on the enlarged view and on Categorize, in this order (a type
    # read from the table is offered on its own instance too).
    synapse_types: tuple[str, ...] = DEFAULT_TYPES
    # Largest request body (uploads are sent base64-encoded inside a callback request).
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    # Proxies in front of the app whose X-Forwarded-Proto/-Host/-For are believed (0: none).
    trusted_proxies: int = 0
    # Hosted mode (SYNANNO_HOSTED=1): data sources only from the allow-list, no server request
    # to loopback/link-local/private addresses unless allowed (see services/source_policy.py).
    hosted: bool = False
    allowed_sources: tuple[str, ...] = ()  # URL prefixes and local roots (the demo: always)
    allow_private_addresses: bool = False
    # Per-session limits (any mode): instances one session holds, bytes of one export file.
    max_instances_per_session: int = 200_000
    max_export_bytes: int = 2 * 1024**3
    # Open Data's *Import predictions*: largest map (voxels, from its metadata, before any
    # read; None: no limit locally, DEFAULT_MAX_IMPORT_VOXELS in hosted mode) and imports
    # kept per session (the oldest folders are removed after a new one is written).
    max_import_voxels: int | None = None
    max_imports_per_session: int = 20
    # Sign-in (optional): a shared access token, or a header set by a trusted proxy.
    access_token: str = ""
    trusted_user_header: str = ""
    # Background jobs (``services.jobs``): empty runs them in processes of this machine
    # (results in ``jobs_dir``); a Redis URL queues them for ``synanno-dash worker``.
    redis_url: str = ""
    # Seconds after which a job whose worker died unacknowledged is handed to another
    # worker (Redis only); longer than the longest job, or a job may run twice.
    job_redelivery_s: int = 600
    job_worker_processes: int = 2  # processes of one ``synanno-dash worker``
    # The Celery queue (and Redis key prefix) of this instance: two instances (or two test
    # runs) sharing one Redis never take each other's jobs when their names differ.
    job_queue: str = "synanno_dash"
    # Hosted mode: background jobs one browser session may have running at once.
    max_jobs_per_session: int = 2

    @property
    def demo_dir(self) -> Path:
        return self.data_dir / "demo"

    @property
    def table_cache_dir(self) -> Path:
        return self.data_dir / "tables"

    @property
    def imports_dir(self) -> Path:
        """Datasets written by Open Data's *Import predictions* (one folder per import; in
        hosted mode readable like the demo: ``services.source_policy``)."""
        return self.data_dir / "imports"

    @property
    def import_voxel_limit(self) -> int | None:
        """The panel's map size limit: the setting when given, else the default in hosted
        mode (a large map would fill the data folder), else none."""
        if self.max_import_voxels is not None:
            return self.max_import_voxels
        return DEFAULT_MAX_IMPORT_VOXELS if self.hosted else None

    @property
    def jobs_dir(self) -> Path:
        """Background jobs' results and progress on one machine (a diskcache folder)."""
        return self.data_dir / "jobs"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'sessions.db'}"

    def with_changes(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def load_settings(env_file: str | Path | None = ".env") -> Settings:
    """Environment wins over ``.env``; ``.env`` wins over defaults."""
    if env_file is not None and Path(env_file).is_file():
        from dotenv import load_dotenv

        load_dotenv(env_file, override=False)
    env = os.environ
    defaults = Settings()
    return Settings(
        host=env.get("APP_IP", defaults.host),
        port=int(env.get("APP_PORT", defaults.port)),
        data_dir=Path(env["SYNANNO_DATA_DIR"]).expanduser()
        if env.get("SYNANNO_DATA_DIR")
        else defaults.data_dir,
        database_url=env.get("SYNANNO_DATABASE_URL", ""),
        cache_bytes=int(env.get("SYNANNO_CACHE_BYTES", defaults.cache_bytes)),
        tile_cache_bytes=int(env.get("SYNANNO_TILE_CACHE_BYTES", defaults.tile_cache_bytes)),
        max_volume_sets=int(env.get("SYNANNO_MAX_VOLUME_SETS", defaults.max_volume_sets)),
        max_neuron_views=int(env.get("SYNANNO_MAX_NEURON_VIEWS", defaults.max_neuron_views)),
        max_viewers=int(env.get("SYNANNO_MAX_VIEWERS", defaults.max_viewers)),
        ng_service_url=env.get("SYNANNO_NG_SERVICE_URL", "").strip(),
        ng_port=_positive_int(env, "SYNANNO_NG_PORT", 0, minimum=0),
        ng_secret=env.get("SYNANNO_NG_SECRET", "").strip(),
        max_statistics=_positive_int(env, "SYNANNO_MAX_STATISTICS", defaults.max_statistics),
        debug=env.get("SYNANNO_DEBUG", "").lower() in ("1", "true", "yes"),
        categories=parse_categories(env["SYNANNO_CATEGORIES"])
        if env.get("SYNANNO_CATEGORIES")
        else defaults.categories,
        synapse_types=parse_type_list(env["SYNANNO_SYNAPSE_TYPES"])
        if env.get("SYNANNO_SYNAPSE_TYPES", "").strip()
        else defaults.synapse_types,
        max_upload_bytes=_positive_int(env, "SYNANNO_MAX_UPLOAD_BYTES", defaults.max_upload_bytes),
        trusted_proxies=_positive_int(env, "SYNANNO_TRUSTED_PROXIES", 0, minimum=0),
        hosted=_flag(env, "SYNANNO_HOSTED"),
        allowed_sources=tuple(
            entry.strip()
            for entry in env.get("SYNANNO_ALLOWED_SOURCES", "").split(",")
            if entry.strip()
        ),
        allow_private_addresses=_flag(env, "SYNANNO_ALLOW_PRIVATE_ADDRESSES"),
        max_instances_per_session=_positive_int(
            env, "SYNANNO_MAX_INSTANCES", defaults.max_instances_per_session
        ),
        max_export_bytes=_positive_int(env, "SYNANNO_MAX_EXPORT_BYTES", defaults.max_export_bytes),
        max_import_voxels=_positive_int(env, "SYNANNO_MAX_IMPORT_VOXELS", 0) or None,
        max_imports_per_session=_positive_int(
            env, "SYNANNO_MAX_IMPORTS_PER_SESSION", defaults.max_imports_per_session
        ),
        access_token=env.get("SYNANNO_ACCESS_TOKEN", "").strip(),
        trusted_user_header=env.get("SYNANNO_TRUSTED_USER_HEADER", "").strip(),
        redis_url=env.get("SYNANNO_REDIS_URL", "").strip(),
        job_redelivery_s=_positive_int(env, "SYNANNO_JOB_REDELIVERY_S", defaults.job_redelivery_s),
        job_worker_processes=_positive_int(
            env, "SYNANNO_JOB_WORKER_PROCESSES", defaults.job_worker_processes
        ),
        job_queue=_name(env, "SYNANNO_JOB_QUEUE", defaults.job_queue),
        max_jobs_per_session=_positive_int(
            env, "SYNANNO_MAX_JOBS_PER_SESSION", defaults.max_jobs_per_session
        ),
    )


def _flag(env: os._Environ[str], name: str) -> bool:
    return env.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _name(env: os._Environ[str], name: str, default: str) -> str:
    """A short name (letters, digits, ``-``, ``_``, ``.``), refused by name otherwise."""
    text = env.get(name, "").strip()
    if not text:
        return default
    if len(text) > 64 or not all(c.isascii() and (c.isalnum() or c in "-_.") for c in text):
        raise ValueError(
            f"{name} must be at most 64 letters, digits, '-', '_' or '.', not {text[:80]!r}"
        )
    return text


def _positive_int(env: os._Environ[str], name: str, default: int, minimum: int = 1) -> int:
    """An integer setting, refused by name when it is not one (the app would not start)."""
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isascii() or not text.isdigit() or int(text) < minimum:
        raise ValueError(f"{name} must be a whole number of at least {minimum}, not {text!r}")
    return int(text)
