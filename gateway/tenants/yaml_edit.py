"""Adds one key hash to a tenant in tenants.yaml by editing text, so comments stay intact.

PyYAML cannot write a file back with its comments and layout, so we use the node marks of a
parse to find where the tenant's `key_sha256` list ends and insert one line (block list) or
one item (flow list) there; a tenant without the field gets it as a new line under `name:`.
"""

from __future__ import annotations

import yaml


class EditError(ValueError):
    """The file cannot be edited safely this way (the message says what to do instead)."""


class UnknownTenant(EditError):
    """No tenant of that name in the file (`add_tenant` can add one)."""


def add_key_hash(text: str, tenant: str, digest: str) -> str:
    """`text` with `digest` appended to `tenant`'s key_sha256; EditError if not possible."""
    tenant_node = _tenant_node(yaml.compose(text, Loader=yaml.SafeLoader), tenant)
    if tenant_node.flow_style:
        raise EditError(f"tenant {tenant!r} is written in flow style {{...}}; "
                        "add the hash by hand")
    name_key, keys_value = _fields(tenant_node)
    if keys_value is None:
        return _insert_field(text, name_key, digest)
    if not isinstance(keys_value, yaml.SequenceNode):
        raise EditError(f"tenant {tenant!r}: key_sha256 is not a list")
    if keys_value.flow_style or not keys_value.value:
        return _append_flow_item(text, keys_value, digest)
    return _append_block_item(text, keys_value, digest)


def add_tenant(text: str, tenant: str, digest: str) -> str:
    """`text` with a new tenant holding only `digest`, as the last item of `tenants:` (a
    file without that list, an empty one included, gets it at its end)."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    tenants = _value(root, "tenants") if isinstance(root, yaml.MappingNode) else None
    if tenants is None:
        if root is not None and not isinstance(root, yaml.MappingNode):
            raise EditError("the file is not a mapping with a `tenants:` list; fix it by hand")
        lead = "" if not text or text.endswith("\n") else "\n"
        return f"{text}{lead}tenants:\n  - name: {tenant}\n    key_sha256: [{digest}]\n"
    if not isinstance(tenants, yaml.SequenceNode) or tenants.flow_style or not tenants.value:
        raise EditError("`tenants:` is not a block list of tenants; add the tenant by hand")
    lines = text.splitlines(keepends=True)
    first, last = tenants.value[0], tenants.value[-1]
    line = lines[first.start_mark.line]
    dash, key_column = line.find("-"), first.start_mark.column
    if dash < 0 or dash >= key_column or line[:dash].strip():
        raise EditError("tenants are not written as `- name: ...` items; add the tenant by hand")
    row = last.end_mark.line if last.end_mark.column > 0 else last.end_mark.line - 1
    newline = _newline_of(lines[row])
    if not lines[row].endswith(("\n", "\r")):
        lines[row] += newline
    item = (f"{' ' * dash}-{' ' * (key_column - dash - 1)}name: {tenant}{newline}"
            f"{' ' * key_column}key_sha256: [{digest}]{newline}")
    lines.insert(row + 1, item)
    return "".join(lines)


def _tenant_node(root: yaml.Node | None, tenant: str) -> yaml.MappingNode:
    tenants = _value(root, "tenants") if isinstance(root, yaml.MappingNode) else None
    if tenants is None:
        raise UnknownTenant("the file has no `tenants:` list")
    if not isinstance(tenants, yaml.SequenceNode):
        raise EditError("`tenants:` is not a list")
    for node in tenants.value:
        name = _value(node, "name") if isinstance(node, yaml.MappingNode) else None
        if isinstance(name, yaml.ScalarNode) and name.value == tenant:
            return node
    raise UnknownTenant(f"no tenant named {tenant!r}")


def _fields(tenant_node: yaml.MappingNode) -> tuple[yaml.Node, yaml.Node | None]:
    name_key: yaml.Node | None = None
    keys_value: yaml.Node | None = None
    for key_node, value_node in tenant_node.value:
        if key_node.value == "name":
            name_key = key_node
        elif key_node.value == "key_sha256":
            keys_value = value_node
    assert name_key is not None  # _tenant_node found the tenant by its name
    return name_key, keys_value


def _value(mapping: yaml.MappingNode, key: str) -> yaml.Node | None:
    for key_node, value_node in mapping.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value_node
    return None


def _insert_field(text: str, name_key: yaml.Node, digest: str) -> str:
    lines = text.splitlines(keepends=True)
    row = name_key.start_mark.line
    indent = " " * name_key.start_mark.column
    newline = _newline_of(lines[row])
    if not lines[row].endswith(("\n", "\r")):
        lines[row] += newline
    lines.insert(row + 1, f"{indent}key_sha256:{newline}{indent}  - {digest}{newline}")
    return "".join(lines)


def _append_flow_item(text: str, sequence: yaml.SequenceNode, digest: str) -> str:
    end = sequence.end_mark.index  # just past the closing bracket
    close = text.rindex("]", sequence.start_mark.index, end)
    item = f"{digest}" if not sequence.value else f", {digest}"
    if not sequence.value and text[sequence.start_mark.index] != "[":
        raise EditError("key_sha256 is empty but not written as []; add the hash by hand")
    return text[:close] + item + text[close:]


def _append_block_item(text: str, sequence: yaml.SequenceNode, digest: str) -> str:
    lines = text.splitlines(keepends=True)
    first, last = sequence.value[0], sequence.value[-1]
    prefix = lines[first.start_mark.line][: first.start_mark.column]
    if prefix.strip() != "-":
        raise EditError("key_sha256 items are not one `- hash` per line; add the hash by hand")
    row = last.end_mark.line if last.end_mark.column > 0 else last.end_mark.line - 1
    newline = _newline_of(lines[row])
    if not lines[row].endswith(("\n", "\r")):
        lines[row] += newline
    lines.insert(row + 1, f"{prefix}{digest}{newline}")
    return "".join(lines)


def _newline_of(line: str) -> str:
    return "\r\n" if line.endswith("\r\n") else "\n"
