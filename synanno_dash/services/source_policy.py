"""Which data sources the server may read, and where it may send requests (hosted mode).

With ``Settings.hosted`` (``SYNANNO_HOSTED=1``) a volume, table or credentials address is
accepted only when it lies under an entry of ``Settings.allowed_sources``
(``SYNANNO_ALLOWED_SOURCES``: URL prefixes such as ``gs://bucket/dataset`` or
``https://data.example.org/em``, and local roots such as ``/srv/data``); the demo's own folder
and the datasets Open Data's *Import predictions* wrote (``Settings.imports_dir``) are always
allowed. The check runs before anything is read, and the refusal says the address
is not on the allow-list.

An ``http(s)://`` address must also not reach loopback, link-local, private or other
non-public addresses (unless ``SYNANNO_ALLOW_PRIVATE_ADDRESSES=1``): the host name is
resolved and *every* address it resolves to is checked, so a name that answers with one
public and one private address (DNS rebinding) is refused too. ``gs://`` and ``s3://``
addresses go to the cloud providers' own endpoints and need no resolution.

Outside hosted mode every address is accepted (one machine, one user: the user's own data).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import urlsplit

from synanno_dash.settings import Settings

# host -> every address it resolves to (``socket.getaddrinfo`` by default; tests pass their
# own to play a rebinding DNS server).
Resolver = Callable[[str], list[str]]


class SourceRefused(ValueError):
    """An address the server will not read; the message is for the user."""


def resolve_host(host: str) -> list[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6)."""
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return sorted({str(info[4][0]) for info in infos})


def _local_path(address: str) -> Path | None:
    """The file path of a local address (``/x``, ``~/x``, ``file:///x``), else None."""
    text = address.strip()
    if text.startswith("precomputed://"):
        text = text[len("precomputed://") :]
    if text.startswith("file://"):
        return Path(text[len("file://") :]).expanduser().resolve()
    if "://" in text:
        return None
    return Path(text).expanduser().resolve()


def _remote(address: str) -> str:
    text = address.strip()
    if text.startswith("precomputed://"):
        text = text[len("precomputed://") :]
    return text.rstrip("/")


def _allowed(address: str, entries: Iterable[str]) -> bool:
    local = _local_path(address)
    for entry in entries:
        root = _local_path(entry)
        if local is not None and root is not None:
            if local == root or local.is_relative_to(root):
                return True
        elif local is None and root is None:
            prefix, remote = _remote(entry), _remote(address)
            if remote == prefix or remote.startswith(prefix + "/"):
                return True
    return False


def _public(ip_text: str) -> bool:
    ip = ipaddress.ip_address(ip_text.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_host(address: str, resolver: Resolver = resolve_host) -> None:
    """``SourceRefused`` when an http(s) address's host resolves to any non-public address."""
    parts = urlsplit(_remote(address))
    if parts.scheme not in ("http", "https"):
        return
    host = parts.hostname or ""
    try:
        addresses = resolver(host)
    except (OSError, UnicodeError):
        raise SourceRefused(
            f"the host {host!r} of {address[:200]} cannot be resolved; check the address."
        ) from None
    private = [a for a in addresses if not _public(a)]
    if private or not addresses:
        raise SourceRefused(
            f"{address[:200]} resolves to {', '.join(private) or 'no address'}: this server "
            "does not send requests to loopback, link-local or private addresses. Use a public "
            "address, or ask the people who host it to set SYNANNO_ALLOW_PRIVATE_ADDRESSES=1."
        )


def check_source(
    address: str, settings: Settings, what: str, resolver: Resolver = resolve_host
) -> None:
    """Refuse ``address`` (a volume, table or credentials file) before anything is read
    from it, in hosted mode only; ``what`` names the field in the message."""
    if not settings.hosted or not address.strip():
        return
    entries = (*settings.allowed_sources, str(settings.demo_dir), str(settings.imports_dir))
    if not _allowed(address, entries):
        shown = address.strip()[:200]
        raise SourceRefused(
            f"the {what} {shown} is not on this server's allow-list of data sources, so it "
            "was not read. Use data under an allowed location (ask the people who host this "
            "instance; SYNANNO_ALLOWED_SOURCES lists them)."
        )
    if not settings.allow_private_addresses:
        check_host(address, resolver)


def source_errors(
    addresses: dict[str, str], settings: Settings, resolver: Resolver = resolve_host
) -> dict[str, str]:
    """Messages by field name for the addresses (field name -> address) that are refused."""
    what = {"source": "source", "target": "target", "neuropil": "neuropil",
            "table": "synapse table", "secrets": "credentials file"}  # fmt: skip
    errors: dict[str, str] = {}
    for name, address in addresses.items():
        try:
            check_source(address, settings, what.get(name, name), resolver)
        except SourceRefused as exc:
            errors[name] = str(exc)
    return errors
