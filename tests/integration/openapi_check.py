#!/usr/bin/env python3
"""Checks one JSON document (stdin) against docs/openapi.yaml.

usage: openapi_check.py SPEC.yaml SCHEMA_NAME
       openapi_check.py SPEC.yaml "METHOD /path/template STATUS"

Supports the subset the document uses: $ref, allOf, oneOf, type (with
nullable), required, properties, items, enum, minimum/maximum. Objects may
not carry keys the document does not list (so the document stays complete).
Exit 0 when valid; otherwise prints every problem and exits 1.
"""
import json
import sys

import yaml

TYPES = {
    "object": dict, "array": list, "string": str, "boolean": bool,
    "integer": int, "number": (int, float),
}


def resolve(spec, s):
    while "$ref" in s:
        path = s["$ref"].lstrip("#/").split("/")
        s = spec
        for p in path:
            s = s[p]
    return s


def props_of(spec, s):
    """All properties an object schema (maybe allOf) lists."""
    s = resolve(spec, s)
    out = dict(s.get("properties", {}))
    for part in s.get("allOf", []):
        out.update(props_of(spec, part))
    return out


def check(spec, s, v, where, errs, allow_extra=False):
    s = resolve(spec, s)
    if "allOf" in s:
        names = set(props_of(spec, s))
        for part in s["allOf"]:
            check(spec, part, v, where, errs, allow_extra=True)
        if isinstance(v, dict):
            for k in v:
                if k not in names:
                    errs.append(f"{where}: key {k!r} is not in the document")
        return
    if "oneOf" in s:
        for part in s["oneOf"]:
            e = []
            check(spec, part, v, where, e)
            if not e:
                return
        errs.append(f"{where}: matches none of oneOf")
        return
    if v is None:
        if not s.get("nullable"):
            errs.append(f"{where}: null but not nullable")
        return
    t = s.get("type")
    if t:
        ok = isinstance(v, TYPES[t]) and not (t in ("integer", "number") and isinstance(v, bool))
        if not ok:
            errs.append(f"{where}: {type(v).__name__} where {t} expected")
            return
    if "enum" in s and v not in s["enum"]:
        errs.append(f"{where}: {v!r} not in {s['enum']}")
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if "minimum" in s and v < s["minimum"]:
            errs.append(f"{where}: {v} below {s['minimum']}")
        if "maximum" in s and v > s["maximum"]:
            errs.append(f"{where}: {v} above {s['maximum']}")
    if isinstance(v, dict):
        props = s.get("properties", {})
        for k in s.get("required", []):
            if k not in v:
                errs.append(f"{where}: missing required key {k!r}")
        for k, sub in v.items():
            if k in props:
                check(spec, props[k], sub, f"{where}.{k}", errs)
            elif isinstance(s.get("additionalProperties"), dict):
                check(spec, s["additionalProperties"], sub, f"{where}.{k}", errs)
            elif props and not allow_extra:
                errs.append(f"{where}: key {k!r} is not in the document")
    if isinstance(v, list) and "items" in s:
        for i, item in enumerate(v):
            check(spec, s["items"], item, f"{where}[{i}]", errs)


def main():
    spec = yaml.safe_load(open(sys.argv[1]))
    what = sys.argv[2]
    parts = what.split()
    if len(parts) == 3:
        method, path, status = parts
        op = spec["paths"][path][method.lower()]
        resp = resolve(spec, op["responses"][status])
        schema = resp["content"]["application/json"]["schema"]
    else:
        schema = spec["components"]["schemas"][what]
    doc = json.load(sys.stdin)
    errs = []
    check(spec, schema, doc, "$", errs)
    for e in errs:
        print(f"openapi_check {what}: {e}", file=sys.stderr)
    sys.exit(1 if errs else 0)


if __name__ == "__main__":
    main()
