"""Turn a pydantic JSON schema into a structural OpenAPI v3 schema that a Kubernetes CRD accepts.

Kubernetes wants every node typed, no ``$ref``, no ``nullable``-by-``anyOf``, no types or descriptions inside
``oneOf``, and ``properties`` never beside ``additionalProperties``. So: references are inlined, ``X | None``
becomes ``X`` (an unset field is simply absent), a discriminated union becomes one object with every variant's
properties plus a ``oneOf`` that only says which fields each tag requires, and defaults move into the
description (pydantic applies them; the API server must not, or a default of one variant would leak into
another).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["SchemaConversionError", "strict_copy", "to_structural"]

JSON = dict[str, Any]

# Keys copied through as they are (value validations Kubernetes understands).
_KEPT = ("type", "enum", "pattern", "minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems", "format")
_FORMATS = frozenset({"date-time"})


class SchemaConversionError(ValueError):
    """The model uses a construct that has no structural equivalent."""


def to_structural(schema: Mapping[str, Any]) -> JSON:
    """The structural form of a pydantic ``model_json_schema()`` (with its ``$defs``)."""
    defs = schema.get("$defs", {})
    root = {k: v for k, v in schema.items() if k != "$defs"}
    return _convert(root, defs, where="")


def _resolve(node: Mapping[str, Any], defs: Mapping[str, Any]) -> JSON:
    """Inline ``$ref`` (sibling keys such as description win over the target's)."""
    merged = dict(node)
    while "$ref" in merged:
        ref = merged.pop("$ref")
        name = ref.rsplit("/", 1)[-1]
        if name not in defs:
            raise SchemaConversionError(f"unknown reference {ref}")
        merged = {**defs[name], **merged}
    return merged


def _convert(node: Mapping[str, Any], defs: Mapping[str, Any], *, where: str) -> JSON:
    node = _resolve(node, defs)
    if "anyOf" in node:
        node = _drop_null(node, defs, where=where)
    if "oneOf" in node:
        return _union(node, defs, where=where)
    if "const" in node:
        node = {**node, "enum": [node["const"]], "type": node.get("type", "string")}
    out: JSON = {}
    description = _description(node)
    if description:
        out["description"] = description
    for key in _KEPT:
        if key in node and not (key == "format" and node[key] not in _FORMATS):
            out[key] = node[key]
    if "exclusiveMinimum" in node:  # draft 2020 number -> OpenAPI 3.0 boolean
        out["minimum"], out["exclusiveMinimum"] = node["exclusiveMinimum"], True
    if "exclusiveMaximum" in node:
        out["maximum"], out["exclusiveMaximum"] = node["exclusiveMaximum"], True
    if "type" not in out:
        raise SchemaConversionError(f"{where or '(root)'}: no type in {json.dumps(node, sort_keys=True)[:200]}")
    if out["type"] == "array":
        out["items"] = _convert(node.get("items", {}), defs, where=f"{where}[]")
    if out["type"] == "object":
        _object(node, out, defs, where=where)
    return out


def _object(node: Mapping[str, Any], out: JSON, defs: Mapping[str, Any], *, where: str) -> None:
    properties = node.get("properties")
    if properties:
        out["properties"] = {
            name: _convert(prop, defs, where=f"{where}.{name}" if where else name) for name, prop in properties.items()
        }
        if node.get("required"):
            out["required"] = list(node["required"])
    elif isinstance(node.get("additionalProperties"), Mapping):  # a map such as labels: dict[str, str]
        out["additionalProperties"] = _convert(node["additionalProperties"], defs, where=f"{where}{{}}")
    else:
        out["x-kubernetes-preserve-unknown-fields"] = True


def _description(node: Mapping[str, Any]) -> str:
    text = str(node.get("description", "")).strip()
    if "default" in node and node["default"] not in (None, [], {}, ""):
        text = f"{text} Default: `{json.dumps(node['default'])}`.".strip()
    return text


def _drop_null(node: Mapping[str, Any], defs: Mapping[str, Any], *, where: str) -> JSON:
    options = [o for o in node["anyOf"] if o.get("type") != "null"]
    if len(options) != 1:
        raise SchemaConversionError(f"{where}: a union of several types is not structural; use a tagged union")
    rest = {k: v for k, v in node.items() if k != "anyOf"}
    return {**_resolve(options[0], defs), **{k: v for k, v in rest.items() if k in ("description", "default")}}


def _union(node: Mapping[str, Any], defs: Mapping[str, Any], *, where: str) -> JSON:
    """A tagged union as one object: all properties, the tag as an enum, ``oneOf`` with each tag's required fields."""
    tag = node.get("discriminator", {}).get("propertyName")
    if not tag:
        raise SchemaConversionError(f"{where}: oneOf without a discriminator cannot be made structural")
    properties: JSON = {}
    tags: list[str] = []
    branches: list[JSON] = []
    for option in node["oneOf"]:
        variant = _convert(option, defs, where=where)
        values = list(variant["properties"][tag]["enum"])  # a variant may take several tags
        value = values[0]
        tags.extend(values)
        for name, prop in variant["properties"].items():
            if name == tag:
                continue
            if name not in properties:
                properties[name] = prop
                continue
            if _shape(properties[name]) != _shape(prop):
                raise SchemaConversionError(f"{where}.{name}: variants disagree on this field's schema")
            if prop.get("description") != properties[name].get("description"):
                first = properties[name].get("description", "")
                properties[name]["description"] = f"{first} With `{value}`: {prop.get('description', '')}"
        required = [r for r in variant.get("required", []) if r != tag]
        branch: JSON = {"properties": {tag: {"enum": values}}}
        if required:
            branch["required"] = required
        branches.append(branch)
    kinds = ", ".join(f"`{t}`" for t in tags)
    out: JSON = {"type": "object"}
    description = str(node.get("description", "")).strip()
    if description:
        out["description"] = description
    out["properties"] = {tag: {"description": f"Kind: one of {kinds}.", "type": "string", "enum": tags}, **properties}
    out["required"] = [tag]
    out["oneOf"] = branches
    return out


def _shape(schema: Mapping[str, Any]) -> Any:
    """A schema without its descriptions, to compare two variants' fields."""
    if isinstance(schema, Mapping):
        return {k: _shape(v) for k, v in schema.items() if k != "description"}
    if isinstance(schema, list):
        return [_shape(v) for v in schema]
    return schema


def strict_copy(schema: Any) -> Any:
    """A copy that rejects unknown fields where the API server would prune them (``additionalProperties: false``
    beside ``properties``), for validating examples with ``jsonschema`` the way ``kubectl --validate=strict`` does.
    The ``oneOf`` branches of a tagged union only pick required fields and are left as they are."""
    if isinstance(schema, Mapping):
        out = {k: (v if k == "oneOf" else strict_copy(v)) for k, v in schema.items()}
        if "properties" in out and not schema.get("x-kubernetes-preserve-unknown-fields"):
            out.setdefault("additionalProperties", False)
        return out
    if isinstance(schema, list):
        return [strict_copy(v) for v in schema]
    return schema
