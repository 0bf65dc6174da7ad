"""deploy/compose.yaml and deploy/Caddyfile name only things that exist (no Docker engine
here, so the files are checked by reading them): services, ports, volumes, files, the app's
commands and settings; and the README's hosting commands parse."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from synanno_dash.cli import build_parser
from synanno_dash.ui.health import HEALTH_PATH
from tests.conftest import REPO

DEPLOY = REPO / "deploy"
SERVICES = {"app", "worker", "postgres", "redis", "proxy"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(document, dict)
    return document


def _services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def _uses_app_image(service: dict[str, Any]) -> bool:
    return "build" in service or str(service.get("image", "")).startswith("synanno-dash")


def test_every_service_of_the_deployment_is_there_and_depends_only_on_services(compose) -> None:  # type: ignore[no-untyped-def]
    services = _services(compose)
    assert set(services) == SERVICES
    for name, service in services.items():
        for needed in service.get("depends_on", {}):
            assert needed in services, f"{name} depends on an unknown service {needed}"
            assert "healthcheck" in services[needed], f"{name} waits for {needed}'s health"


def test_the_app_image_is_built_from_the_repository(compose) -> None:  # type: ignore[no-untyped-def]
    build = _services(compose)["app"]["build"]
    context = (DEPLOY / build["context"]).resolve()
    assert context == REPO
    dockerfile = context / build["dockerfile"]
    assert dockerfile.is_file()
    for line in dockerfile.read_text().splitlines():  # every file copied is in the repository
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (context / source).exists(), f"the Dockerfile copies a missing {source}"


def test_every_named_volume_is_declared_and_every_bind_mount_exists(compose) -> None:  # type: ignore[no-untyped-def]
    declared = set(compose["volumes"])
    used = set()
    for name, service in _services(compose).items():
        for mount in service.get("volumes", []):
            source, target = mount.split(":")[:2]
            assert target.startswith("/"), f"{name}: {mount}"
            if source.startswith((".", "/")):
                assert (DEPLOY / source).exists(), f"{name} mounts a missing file {source}"
            else:
                assert source in declared, f"{name} uses an undeclared volume {source}"
                used.add(source)
    assert used == declared, f"declared but unused: {declared - used}"
    app_data = _services(compose)["app"]["environment"]["SYNANNO_DATA_DIR"]
    assert f"synanno-data:{app_data}" in _services(compose)["app"]["volumes"]
    assert f"synanno-data:{app_data}" in _services(compose)["worker"]["volumes"]


def test_every_command_of_the_app_image_is_a_real_command_line(compose) -> None:  # type: ignore[no-untyped-def]
    parser = build_parser()
    for name, service in _services(compose).items():
        if not _uses_app_image(service):
            continue
        command = service["command"]
        assert command[0] == "synanno-dash", name
        args = parser.parse_args(command[1:])  # exits (fails the test) on an unknown command
        assert args.command == command[1]
    serve = parser.parse_args(_services(compose)["app"]["command"][1:])
    assert serve.workers > 1 and not serve.dev and serve.host == "0.0.0.0"


def test_ports_agree_between_the_app_the_proxy_and_the_dockerfile(compose) -> None:  # type: ignore[no-untyped-def]
    services = _services(compose)
    serve = build_parser().parse_args(services["app"]["command"][1:])
    assert services["app"]["expose"] == [str(serve.port)]
    assert f"EXPOSE {serve.port}" in (REPO / "Dockerfile").read_text()
    probe = " ".join(services["app"]["healthcheck"]["test"])
    assert f"127.0.0.1:{serve.port}{HEALTH_PATH}" in probe
    assert services["proxy"]["ports"] == ["80:80", "443:443"]
    caddyfile = (DEPLOY / "Caddyfile").read_text()
    upstream = re.search(r"reverse_proxy \{\$SYNANNO_UPSTREAM:([\w.-]+):(\d+)\}", caddyfile)
    assert upstream is not None and upstream.groups() == ("app", str(serve.port))
    mounted = {m.split(":")[1] for m in services["proxy"]["volumes"]}
    assert "/etc/caddy/Caddyfile" in mounted


def test_every_setting_given_to_the_app_is_one_it_reads(compose) -> None:  # type: ignore[no-untyped-def]
    sources = "\n".join(p.read_text() for p in (REPO / "synanno_dash").rglob("*.py"))
    for name in ("app", "worker"):
        for variable in _services(compose)[name]["environment"]:
            assert f'"{variable}"' in sources, f"{name}: the app never reads {variable}"
    environment = _services(compose)["app"]["environment"]
    url = environment["SYNANNO_DATABASE_URL"]
    assert url.startswith("postgresql+psycopg://synanno:")
    assert url.endswith("@postgres:5432/synanno")
    assert environment["SYNANNO_REDIS_URL"].startswith("redis://redis:")


def test_the_readme_hosting_commands_parse() -> None:
    readme = (REPO / "README.md").read_text()
    hosting = readme.split("## Hosting", 1)[1].split("\n## ", 1)[0]
    commands = [line for line in hosting.splitlines() if line.startswith(".venv/bin/synanno-dash")]
    assert commands, "README's Hosting section has no synanno-dash command"
    for line in commands:
        args = build_parser().parse_args(shlex.split(line.split("#")[0])[1:])
        assert args.command == "serve" and args.workers > 1
    assert "deploy/compose.yaml" in hosting and Path(REPO / "deploy" / "compose.yaml").is_file()
