from __future__ import annotations

from pathlib import Path

import pytest

from synanno_dash.core.labels import Category
from synanno_dash.settings import DEFAULT_CATEGORIES, load_settings, parse_categories


def test_environment_wins_over_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("APP_IP=0.0.0.0\nAPP_PORT=9001\n")
    for name in ("APP_IP", "APP_PORT", "SYNANNO_CATEGORIES"):
        monkeypatch.setenv(name, "")  # remembers the original, so .env's values are undone
        monkeypatch.delenv(name)
    monkeypatch.setenv("APP_PORT", "9002")
    settings = load_settings(env_file)
    assert (settings.host, settings.port) == ("0.0.0.0", 9002)
    assert settings.categories == DEFAULT_CATEGORIES
    assert Category.FALSE_NEGATIVE not in DEFAULT_CATEGORIES


def test_categories_are_configurable_and_checked() -> None:
    assert parse_categories("merged, false_positive,custom") == (
        Category.MERGED, Category.FALSE_POSITIVE)
    with pytest.raises(ValueError, match="unknown categories"):
        parse_categories("merged, wobbly")


def test_cache_sizes_come_from_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from synanno_dash.services.context import AppContext

    monkeypatch.setenv("SYNANNO_TILE_CACHE_BYTES", "1000")
    monkeypatch.setenv("SYNANNO_MAX_VOLUME_SETS", "2")
    monkeypatch.setenv("SYNANNO_MAX_NEURON_VIEWS", "3")
    monkeypatch.setenv("SYNANNO_MAX_VIEWERS", "5")
    settings = load_settings(None).with_changes(
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 's.db'}"
    )
    resources = AppContext.create(settings)
    assert resources.tile_images.max_size == 1000
    assert resources.volumes.max_sets == 2 and resources.neurons.max_size == 3
    assert settings.max_viewers == 5
    resources.executor.shutdown()


def test_hosted_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from synanno_dash.settings import load_settings

    monkeypatch.setenv("SYNANNO_HOSTED", "1")
    monkeypatch.setenv("SYNANNO_ALLOWED_SOURCES", " gs://bucket/a , /srv/data,,")
    monkeypatch.setenv("SYNANNO_MAX_INSTANCES", "5000")
    monkeypatch.setenv("SYNANNO_MAX_EXPORT_BYTES", "1048576")
    monkeypatch.setenv("SYNANNO_ACCESS_TOKEN", " secret ")
    monkeypatch.setenv("SYNANNO_TRUSTED_USER_HEADER", "X-Forwarded-User")
    settings = load_settings(env_file=None)
    assert settings.hosted and not settings.allow_private_addresses
    assert settings.allowed_sources == ("gs://bucket/a", "/srv/data")
    assert (settings.max_instances_per_session, settings.max_export_bytes) == (5000, 1048576)
    assert (settings.access_token, settings.trusted_user_header) == ("secret", "X-Forwarded-User")
    monkeypatch.setenv("SYNANNO_MAX_INSTANCES", "0")
    with pytest.raises(ValueError, match="SYNANNO_MAX_INSTANCES must be a whole number"):
        load_settings(env_file=None)


def test_every_setting_is_documented_in_the_readme() -> None:
    import re

    repo = Path(__file__).resolve().parents[1]
    read = set(re.findall(r'"(SYNANNO_[A-Z_]+)"', (repo / "synanno_dash/settings.py").read_text()))
    documented = set(re.findall(r"`(SYNANNO_[A-Z_]+)`", (repo / "README.md").read_text()))
    assert read and read <= documented, sorted(read - documented)


def test_import_limits_apply_in_hosted_mode_and_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from synanno_dash.settings import DEFAULT_MAX_IMPORT_VOXELS, Settings

    assert Settings().import_voxel_limit is None
    assert Settings(hosted=True).import_voxel_limit == DEFAULT_MAX_IMPORT_VOXELS
    monkeypatch.setenv("SYNANNO_MAX_IMPORT_VOXELS", "5000")
    monkeypatch.setenv("SYNANNO_MAX_IMPORTS_PER_SESSION", "3")
    settings = load_settings(env_file=None)
    assert (settings.import_voxel_limit, settings.max_imports_per_session) == (5000, 3)
    assert settings.with_changes(hosted=True).import_voxel_limit == 5000
    monkeypatch.setenv("SYNANNO_MAX_IMPORT_VOXELS", "0")
    with pytest.raises(ValueError, match="SYNANNO_MAX_IMPORT_VOXELS must be a whole number"):
        load_settings(env_file=None)
