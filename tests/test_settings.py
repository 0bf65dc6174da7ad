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
