"""Reads tenants.yaml into a validated TenantsFile; errors name the file, line and field.

Pydantic reports where an error is as a path (`tenants.2.budgets.0.limit_usd`); the YAML
node tree keeps the line every value came from, so we walk the one along the other. Messages
use pydantic's text only, never the offending input: a raw key pasted in by mistake must not
end up in a log.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from gateway.tenants.config import TenantsFile

TENANTS_ENV = "COSTROUTE_TENANTS_FILE"
# What `costroute tenants` read before the gateway's name was made the one name; still read.
LEGACY_TENANTS_ENV = "COSTROUTE_TENANTS"
_MAX_REPORTED = 10


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the file: where (1-based line, dotted field) and what."""

    line: int
    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class Finding:
    """What a check beyond the schema found (gateway/learning/checks.py): where, as a pydantic
    loc (`("tenants", 0, "learning", "judge", "model")`), and what. An error refuses the
    file, as a schema error does; a warning is logged and the file applies."""

    loc: tuple[int | str, ...]
    reason: str
    warning: bool = False


# A check of a schema-valid file against what only the running gateway knows (its models).
TenantsCheck = Callable[[TenantsFile], Sequence[Finding]]


@dataclass(frozen=True, slots=True)
class LoadedTenants:
    """A valid, checked file and its warnings (`file:line: field: reason`, as errors read)."""

    tenants: TenantsFile
    warnings: tuple[str, ...] = ()


class TenantConfigError(ValueError):
    """tenants.yaml is unreadable or invalid; `str()` lists `file:line: field: reason`."""

    def __init__(self, source: str, problems: Sequence[Problem]):
        self.source = source
        self.problems = list(problems)
        shown = [_format(source, p) for p in problems[:_MAX_REPORTED]]
        if len(problems) > _MAX_REPORTED:
            shown.append(f"... and {len(problems) - _MAX_REPORTED} more")
        super().__init__("\n".join(shown))

    @property
    def line(self) -> int:
        return self.problems[0].line

    @property
    def field(self) -> str:
        return self.problems[0].field


def tenants_path_from_env() -> str | None:
    """$COSTROUTE_TENANTS_FILE (else the older $COSTROUTE_TENANTS), if set."""
    return os.environ.get(TENANTS_ENV) or os.environ.get(LEGACY_TENANTS_ENV) or None


def default_tenants_path() -> Path:
    """The file the environment names (as `costroute serve` reads it), or tenants.yaml in the
    working directory."""
    return Path(tenants_path_from_env() or "tenants.yaml")


def load_tenants(path: str | Path, check: TenantsCheck | None = None) -> TenantsFile:
    """The validated contents of `path`, or TenantConfigError."""
    return read_tenants(path, check).tenants


def read_tenants(path: str | Path, check: TenantsCheck | None = None) -> LoadedTenants:
    """The validated contents of `path`, checked by `check`, with its warnings; or
    TenantConfigError naming every schema error, or else every error `check` found."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TenantConfigError(str(path), [Problem(0, "(file)", f"cannot read: {exc.strerror}")])
    return parse_checked(text, source=str(path), check=check)


def parse_tenants(text: str, source: str = "tenants.yaml",
                  check: TenantsCheck | None = None) -> TenantsFile:
    """The validated contents of the YAML `text`, or TenantConfigError."""
    return parse_checked(text, source, check).tenants


def parse_checked(text: str, source: str = "tenants.yaml",
                  check: TenantsCheck | None = None) -> LoadedTenants:
    """`parse_tenants`, then `check`: its errors raise TenantConfigError located like schema
    errors (file, line, field), its warnings come back formatted the same way."""
    loaded, root = _parse(text, source)
    findings = list(check(loaded)) if check is not None else []
    errors = [_locate(root, f.loc, f.reason) for f in findings if not f.warning]
    if errors:
        raise TenantConfigError(source, errors)
    warnings = tuple(_format(source, _locate(root, f.loc, f.reason))
                     for f in findings if f.warning)
    return LoadedTenants(loaded, warnings)


def _format(source: str, problem: Problem) -> str:
    return f"{source}:{problem.line}: {problem.field}: {problem.reason}"


def _parse(text: str, source: str) -> tuple[TenantsFile, yaml.Node]:
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise TenantConfigError(source, [Problem(1, "(top)", "the file is empty; expected "
                                                                 "a mapping with `tenants:`")])
        duplicates = _duplicate_keys(root)
        if duplicates:
            raise TenantConfigError(source, duplicates)
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise TenantConfigError(source, [Problem(line, "(syntax)", str(exc.problem))]) from None
    except yaml.YAMLError as exc:
        raise TenantConfigError(source, [Problem(1, "(syntax)", str(exc))]) from None
    finally:
        loader.dispose()
    try:
        return TenantsFile.model_validate(data), root
    except ValidationError as exc:
        problems = [_locate(root, error["loc"], error["msg"]) for error in exc.errors()]
        raise TenantConfigError(source, problems) from None


def _locate(root: yaml.Node, loc: Sequence[int | str], reason: str) -> Problem:
    node = root
    line = root.start_mark.line + 1
    for step in loc:
        child = _child(node, step)
        if child is None:
            break  # e.g. a missing field: point at the mapping that lacks it
        key_node, node = child
        # A scalar sits on its own line; a block value starts below its key, so use the key.
        anchor = node if key_node is None or isinstance(node, yaml.ScalarNode) else key_node
        line = anchor.start_mark.line + 1
    return Problem(line, _dotted(loc, root), reason)


def _child(node: yaml.Node, step: int | str) -> tuple[yaml.Node | None, yaml.Node] | None:
    """(key node, value node) under `node` for a pydantic loc step, or None if absent."""
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int):
        items: list[yaml.Node] = node.value
        return (None, items[step]) if 0 <= step < len(items) else None
    if isinstance(node, yaml.MappingNode):
        pairs: list[tuple[yaml.Node, yaml.Node]] = node.value
        for key_node, value_node in pairs:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(step):
                return key_node, value_node
    return None


def _dotted(loc: Sequence[int | str], root: yaml.Node) -> str:
    text = ""
    for step in loc:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    name = _tenant_name(root, loc)
    if name:
        text += f" (tenant {name!r})"
    return text or "(top)"


def _tenant_name(root: yaml.Node, loc: Sequence[int | str]) -> str | None:
    if len(loc) < 2 or loc[0] != "tenants" or not isinstance(loc[1], int):
        return None
    tenants = _child(root, "tenants")
    tenant = _child(tenants[1], loc[1]) if tenants else None
    name = _child(tenant[1], "name") if tenant else None
    if name is not None and isinstance(name[1], yaml.ScalarNode):
        return str(name[1].value)
    return None


def _duplicate_keys(node: yaml.Node) -> list[Problem]:
    """A key given twice in one mapping: YAML would silently keep the last, we refuse."""
    problems: list[Problem] = []
    children: list[Any] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    problems.append(Problem(key_node.start_mark.line + 1, str(key_node.value),
                                            "this key is given twice in the same mapping"))
                seen.add(key_node.value)
            children.append(value_node)
    elif isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    for child in children:
        problems += _duplicate_keys(child)
    return problems
