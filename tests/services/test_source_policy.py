"""Hosted mode: data sources from the allow-list only, no requests to private addresses
(issue 12, item 6). The policy through ``prepare_session`` on the real demo, and the address
checks with a resolver that plays a rebinding DNS server."""

from __future__ import annotations

from pathlib import Path

import pytest

from synanno_dash.services.context import AppContext
from synanno_dash.services.prepare import prepare_session
from synanno_dash.services.source_policy import SourceRefused, check_host, check_source
from synanno_dash.settings import Settings
from tests.conftest import demo_form


def _hosted(data_dir: Path, **changes: object) -> Settings:
    return Settings(data_dir=data_dir, hosted=True).with_changes(**changes)


def test_outside_hosted_mode_everything_is_accepted(tmp_path: Path) -> None:
    check_source("/etc", Settings(data_dir=tmp_path), "source")
    check_source("https://127.0.0.1/x", Settings(data_dir=tmp_path), "source")


def test_local_roots_and_url_prefixes(tmp_path: Path) -> None:
    allowed = (str(tmp_path / "lab"), "gs://bucket/dataset", "https://8.8.8.8/em/")
    settings = _hosted(tmp_path, allowed_sources=allowed)
    public = lambda host: ["8.8.8.8"]  # noqa: E731
    for ok in (
        str(tmp_path / "lab" / "em"), f"file://{tmp_path}/lab/clefts", str(tmp_path / "lab"),
        "gs://bucket/dataset/em", "precomputed://gs://bucket/dataset", "https://8.8.8.8/em/x",
        str(tmp_path / "demo" / "em"),  # the demo folder is always allowed
    ):  # fmt: skip
        check_source(ok, settings, "source", public)
    for refused in (
        "/etc/passwd", str(tmp_path / "lab-other"), f"{tmp_path}/lab/../secret",
        "gs://bucket/dataset-2", "gs://bucket", "s3://bucket/dataset", "https://8.8.8.8/emx",
        "https://8.8.8.8.evil.example/em/x",
    ):  # fmt: skip
        with pytest.raises(SourceRefused, match="is not on this server's allow-list"):
            check_source(refused, settings, "source", public)


def test_every_resolved_address_must_be_public() -> None:
    """A name answering with a public and a private address (DNS rebinding) is refused."""
    for addresses in (["127.0.0.1"], ["8.8.8.8", "10.0.0.5"], ["169.254.169.254"],
                      ["::1"], ["fd00::1"], ["::ffff:192.168.1.1"], ["0.0.0.0"], []):  # fmt: skip
        with pytest.raises(SourceRefused, match="does not send requests to loopback"):
            check_host("https://data.example.org/em", lambda host, a=addresses: a)
    check_host("https://data.example.org/em", lambda host: ["8.8.8.8", "2001:4860::8888"])
    check_host("gs://bucket/em", lambda host: ["127.0.0.1"])  # no resolution for gs://


def test_a_refused_source_is_never_read(data_dir: Path, demo_info, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The demo loads in hosted mode; a table outside the allow-list and a volume on a
    loopback address are refused by name before anything is opened."""
    settings = _hosted(data_dir, database_url=f"sqlite:///{tmp_path / 's.db'}")
    resources = AppContext.create(settings)
    try:
        assert prepare_session(resources, "s" * 20, demo_form(demo_info)).ok
        opened = len(resources.tables._tables)
        secret = tmp_path / "secret.csv"
        secret.write_text("id,x\n1,2\n")
        outcome = prepare_session(
            resources, "t" * 20,
            demo_form(demo_info, table=str(secret), target="https://127.0.0.1:9/clefts"),
        )  # fmt: skip
        assert "is not on this server's allow-list" in outcome.errors["table"]
        assert str(secret) in outcome.errors["table"]
        assert "not on this server's allow-list" in outcome.errors["target"]
        assert len(resources.tables._tables) == opened  # the table was never opened
        private = _hosted(
            data_dir, database_url=f"sqlite:///{tmp_path / 'p.db'}",
            allowed_sources=("https://127.0.0.1:9",),
        )  # fmt: skip
        private_resources = AppContext.create(private)
        try:
            outcome = prepare_session(
                private_resources, "u" * 20, demo_form(demo_info, target="https://127.0.0.1:9/c")
            )
            assert "does not send requests to loopback" in outcome.errors["target"]
        finally:
            private_resources.executor.shutdown(wait=True)
    finally:
        resources.executor.shutdown(wait=True)
