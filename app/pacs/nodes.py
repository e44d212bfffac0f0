"""PACS node settings: where a node is and how we talk to it. No host or credential is written in code:
nodes come from the command line, the settings file or the environment.

- DIMSE: `AET@HOST:PORT` (their AE title, host, port); our own AE title is `our_aet` (default CARDIOTRACE).
- DICOMweb: the service root URL, with optional basic auth (user + password) or a bearer token, from the
  settings or the environment: CARDIOTRACE_DICOMWEB_USER, CARDIOTRACE_DICOMWEB_PASSWORD,
  CARDIOTRACE_DICOMWEB_TOKEN (the environment wins over the settings file).
- Settings file: `pacs_nodes.json` in the user config folder ($CARDIOTRACE_CONFIG_DIR, else
  $XDG_CONFIG_HOME/cardiotrace, else ~/.config/cardiotrace): {"nodes": {"name": {"dimse": "AET@HOST:PORT"} or
  {"dicomweb": "URL", "username": ..., "password": ..., "token": ...}}}; `--send NAME` may name one.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.pacs.errors import PacsError

DEFAULT_OUR_AET = "CARDIOTRACE"
TIMEOUT_S = 4.0  # each network step; a dead node answers "no" within 10 s in all
_NODE = re.compile(r"^(?P<aet>[^@\s]{1,16})@(?P<host>[^:\s]+):(?P<port>\d{1,5})$")


@dataclass(frozen=True)
class DimseNode:
    """A DICOM application entity we talk to with pynetdicom."""

    aet: str
    host: str
    port: int
    our_aet: str = DEFAULT_OUR_AET
    timeout_s: float = TIMEOUT_S

    @property
    def label(self) -> str:
        return f"{self.aet}@{self.host}:{self.port}"


@dataclass(frozen=True)
class DicomWebNode:
    """A DICOMweb service root (QIDO-RS, WADO-RS, STOW-RS) with optional basic auth or bearer token."""

    url: str
    username: str = ""
    password: str = ""
    token: str = ""
    timeout_s: float = TIMEOUT_S

    @property
    def label(self) -> str:
        return self.url

    def __repr__(self) -> str:  # never print secrets
        return f"DicomWebNode(url={self.url!r}, auth={'token' if self.token else 'basic' if self.username else 'none'})"


Node = DimseNode | DicomWebNode


def is_port(number: int) -> bool:
    """A TCP port number (1-65535)."""
    return 0 < number < 65536


def parse_dimse(text: str, our_aet: str = DEFAULT_OUR_AET) -> DimseNode:
    """`AET@HOST:PORT` -> DimseNode; PacsError saying the expected form otherwise."""
    match = _NODE.match(str(text).strip())
    if not match or not is_port(int(match["port"])):
        raise PacsError(f"node {text!r}: expected AET@HOST:PORT, e.g. ORTHANC@127.0.0.1:4242")
    if not 0 < len(our_aet) <= 16:
        raise PacsError(f"our AE title {our_aet!r}: 1 to 16 characters")
    return DimseNode(match["aet"], match["host"], int(match["port"]), our_aet=our_aet)


def dicomweb_node(url: str, settings: Mapping[str, Any] | None = None,
                  environ: Mapping[str, str] | None = None) -> DicomWebNode:
    """A DICOMweb node for `url`; credentials from `settings` (a node entry) overridden by the environment."""
    environ = os.environ if environ is None else environ
    url = str(url).strip().rstrip("/")
    if not re.match(r"^https?://[^/\s]+", url):
        raise PacsError(f"DICOMweb URL {url!r}: expected http(s)://HOST[:PORT]/PATH, e.g. http://127.0.0.1:8042/dicom-web")
    settings = settings or {}

    def pick(key: str) -> str:
        return str(environ.get(f"CARDIOTRACE_DICOMWEB_{key.upper()}") or settings.get(key) or "")

    return DicomWebNode(url, username=pick("user") or pick("username"), password=pick("password"), token=pick("token"))


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    if environ.get("CARDIOTRACE_CONFIG_DIR"):
        return Path(environ["CARDIOTRACE_CONFIG_DIR"])
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "cardiotrace"


def settings_path(environ: Mapping[str, str] | None = None) -> Path:
    return config_dir(environ) / "pacs_nodes.json"


def saved_nodes(environ: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """The named nodes of the settings file ({} when there is none); PacsError when it is unreadable."""
    path = settings_path(environ)
    if not path.is_file():
        return {}
    try:
        nodes = json.loads(path.read_text(encoding="utf-8")).get("nodes", {})
    except (OSError, ValueError, AttributeError) as exc:
        raise PacsError(f"{path}: not a readable PACS settings file ({exc})") from None
    return {str(k): dict(v) for k, v in nodes.items() if isinstance(v, dict)}


def save_node(name: str, entry: dict[str, Any], environ: Mapping[str, str] | None = None) -> Path:
    """Add or replace one named node in the settings file (written atomically)."""
    path = settings_path(environ)
    nodes = saved_nodes(environ)
    nodes[name] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps({"nodes": nodes}, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def resolve_node(text: str, our_aet: str = DEFAULT_OUR_AET, environ: Mapping[str, str] | None = None) -> Node:
    """A node from `AET@HOST:PORT`, a DICOMweb URL, or the name of a node in the settings file."""
    text = str(text).strip()
    if text.startswith(("http://", "https://")):
        return dicomweb_node(text, environ=environ)
    if "@" in text:
        return parse_dimse(text, our_aet)
    entry = saved_nodes(environ).get(text)
    if entry is None:
        raise PacsError(f"node {text!r}: not AET@HOST:PORT, not a URL, and not a node in {settings_path(environ)}")
    if entry.get("dicomweb"):
        return dicomweb_node(entry["dicomweb"], entry, environ)
    return parse_dimse(str(entry.get("dimse", "")), str(entry.get("our_aet") or our_aet))
