"""Reading a compose file as compose does: YAML, `${VAR}` interpolation from the environment and the `.env` file
beside it, the project name. Nothing here knows what the keys mean (netlab/compose/convert.py does)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from netlab.errors import ScenarioError

#: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, $VAR; $$ is a literal $
_VAR = re.compile(r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a `.env` file (comments and blank lines skipped, one level of quotes removed)."""
    out: dict[str, str] = {}
    if not path.is_file():
        return out
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key.strip().removeprefix("export ").strip()] = value
    return out


def interpolate(value: Any, env: Mapping[str, str], where: str) -> Any:
    """Every string inside `value` with its variables replaced, as compose does before reading any key."""
    if isinstance(value, dict):
        return {k: interpolate(v, env, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def one(m: re.Match[str]) -> str:
        if m.group(1):
            return "$"
        name = m.group(2) or m.group(5)
        op, arg = m.group(3), m.group(4) or ""
        have = env.get(name)
        missing = not have if op in (":-", ":?") else have is None
        if op in (":-", "-") and missing:
            return arg
        if op in (":?", "?") and missing:
            raise ScenarioError(f"{where}: variable {name} is required: {arg or 'it is not set'}")
        return have or ""

    return _VAR.sub(one, value)


def load(path: str | Path, environ: Mapping[str, str] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """The file's content, interpolated, and the variables used (the environment over `.env`)."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise ScenarioError(f"{p}: cannot read it ({e.strerror or e})") from e
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ScenarioError(f"{p}{line}: not valid YAML: {e.problem or e}") from e
    except yaml.YAMLError as e:
        raise ScenarioError(f"{p}: not valid YAML: {e}") from e
    if not isinstance(data, dict) or not isinstance(data.get("services"), dict):
        raise ScenarioError(f"{p}: not a compose file (no `services:` map at the top level)")
    env = {**dotenv(p.parent / ".env"), **(os.environ if environ is None else environ)}
    return interpolate(data, env, p.name), env


def project_name(path: str | Path, data: Mapping[str, Any], env: Mapping[str, str], asked: str | None) -> str:
    """-p, else COMPOSE_PROJECT_NAME, else the file's `name:`, else its directory's name; normalised as compose
    does (lower case; letters, digits, '_' and '-')."""
    raw = asked or env.get("COMPOSE_PROJECT_NAME") or data.get("name") or Path(path).resolve().parent.name
    name = re.sub(r"[^a-z0-9_-]", "", str(raw).lower())
    if not name or not name[0].isalnum():
        raise ScenarioError(f"{path}: project name {raw!r} is not one compose accepts; give one with -p NAME")
    return name
