#!/usr/bin/env python3
"""openapi_check.py - validate a JSON response against a schema of an OpenAPI spec.

usage: openapi_check.py [--sse] [--sse-errors] [--require-done] SPEC SCHEMA_NAME [FILE|-]

Checks a JSON document (or, with --sse, the JSON of every `data:` event of a
server-sent-events stream except [DONE]) against components.schemas.SCHEMA_NAME
of the OpenAPI spec (YAML or JSON; OpenAI's openapi.yaml is ~3 MB). Prints one
line per violation, `PATH: message` (`event N: PATH: message` for streams), and
exits 0 when valid, 1 on violations, 2 on a usage or spec error.

Supported: $ref (within components.schemas, siblings allowed), allOf, anyOf,
oneOf (discriminator.propertyName honoured), type (string or list, "null",
OpenAPI 3.0 nullable), enum, const, required, properties, additionalProperties
(false or a schema), items, prefixItems, min/maxItems, min/maxLength,
minimum/maximum and their exclusive forms. Also reported: duplicate object keys
and NaN/Infinity, which are not JSON. Not checked: format, pattern (ECMA regex).

  --sse           input is an SSE stream; every data event is one document
  --sse-errors    in a stream, an event whose JSON has a top-level "error" key is
                  checked against ErrorResponse instead (a stream cut by an error)
  --require-done  a stream must end with `data: [DONE]`, with nothing after it

Parsing the YAML takes about a second, so components.schemas is cached as JSON in
build/openapi-cache/ (or $OPENAPI_CHECK_CACHE), keyed by the spec's path, size and
mtime. Needs python3-yaml (Debian) the first time a spec is read.
"""
import hashlib
import json
import os
import sys

REF_PREFIX = "#/components/schemas/"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class SpecError(Exception):
    """The spec cannot be read or a schema in it cannot be followed."""


# ---- loading the spec -------------------------------------------------------


def _cache_path(spec_path):
    st = os.stat(spec_path)
    key = "%s|%d|%d" % (os.path.realpath(spec_path), st.st_size, st.st_mtime_ns)
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    cache_dir = os.environ.get("OPENAPI_CHECK_CACHE") or os.path.join(
        REPO_ROOT, "build", "openapi-cache")
    return os.path.join(cache_dir, "schemas-%s.json" % digest)


def _import_yaml():
    try:
        import yaml  # noqa: F401
        return yaml
    except ImportError:
        pass
    # python3 on PATH may not be Debian's; the Debian one has python3-yaml.
    debian = "/usr/bin/python3"
    if os.path.exists(debian) and os.path.realpath(sys.executable) != os.path.realpath(debian) \
            and not os.environ.get("OPENAPI_CHECK_REEXEC"):
        os.environ["OPENAPI_CHECK_REEXEC"] = "1"
        sys.stdout.flush()
        os.execv(debian, [debian, os.path.abspath(__file__)] + sys.argv[1:])
    raise SpecError("PyYAML is not installed (Debian package python3-yaml; "
                    "scripts/deps.sh --test installs it)")


def load_schemas(spec_path):
    """components.schemas of the spec as plain JSON values (cached)."""
    try:
        cache = _cache_path(spec_path)
    except OSError as e:
        raise SpecError("cannot read spec %s: %s" % (spec_path, e.strerror))
    try:
        with open(cache, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        pass
    try:
        with open(spec_path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError("cannot read spec %s: %s" % (spec_path, e))
    if spec_path.endswith(".json"):
        try:
            doc = json.loads(text)
        except ValueError as e:
            raise SpecError("%s is not valid JSON: %s" % (spec_path, e))
    else:
        yaml = _import_yaml()
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        try:
            doc = yaml.load(text, Loader=loader)
        except yaml.YAMLError as e:
            raise SpecError("%s is not valid YAML: %s" % (spec_path, e))
    try:
        schemas = doc["components"]["schemas"]
    except (KeyError, TypeError):
        raise SpecError("%s has no components.schemas" % spec_path)
    # A JSON round trip turns YAML dates and the like into strings, as JSON tools see them.
    encoded = json.dumps(schemas, default=str)
    try:
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        tmp = "%s.%d.tmp" % (cache, os.getpid())
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(encoded)
        os.replace(tmp, cache)  # atomic: parallel tests never read half a file
    except OSError:
        pass  # a read-only tree only costs the parse next time
    return json.loads(encoded)


# ---- JSON input -------------------------------------------------------------


class JsonObject(dict):
    """A parsed object that remembers keys that appeared more than once."""
    duplicates = ()


def _pairs(pairs):
    obj = JsonObject()
    dups = []
    for k, v in pairs:
        if k in obj:
            dups.append(k)
        obj[k] = v
    if dups:
        obj.duplicates = dups
    return obj


def _no_constant(name):
    raise ValueError("%s is not valid JSON" % name)


def parse_json(text):
    """Strict JSON: NaN/Infinity rejected, duplicate keys remembered."""
    return json.loads(text, object_pairs_hook=_pairs, parse_constant=_no_constant)


# ---- validation -------------------------------------------------------------


def json_type(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def type_matches(v, t):
    if t == "null":
        return v is None
    if t == "boolean":
        return isinstance(v, bool)
    if t == "integer":  # JSON Schema: any number with a zero fractional part
        return (isinstance(v, int) and not isinstance(v, bool)) or \
            (isinstance(v, float) and v.is_integer())
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t == "string":
        return isinstance(v, str)
    if t == "array":
        return isinstance(v, list)
    if t == "object":
        return isinstance(v, dict)
    return True  # unknown type names constrain nothing


def json_equal(a, b):
    """Equality as JSON sees it: 1 == 1.0, but true != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def child_path(path, key):
    if isinstance(key, int):
        return "%s[%d]" % (path, key)
    if key and (key[0].isalpha() or key[0] == "_") and all(c.isalnum() or c == "_" for c in key):
        return "%s.%s" % (path, key)
    return "%s[%s]" % (path, json.dumps(key))


def short(v, limit=60):
    s = json.dumps(v, ensure_ascii=False)
    return s if len(s) <= limit else s[:limit - 3] + "..."


class Violation:
    """One reason an instance fails; kind "type" marks a plain type mismatch at
    path (so anyOf can merge "expected object" + "expected null")."""

    def __init__(self, path, message, kind=None, expected=None):
        self.path, self.message, self.kind, self.expected = path, message, kind, expected

    def __str__(self):
        return "%s: %s" % (self.path, self.message)


class Validator:
    MAX_DEPTH = 100

    def __init__(self, schemas):
        self.schemas = schemas

    def resolve(self, ref):
        if not isinstance(ref, str) or not ref.startswith(REF_PREFIX):
            raise SpecError("unsupported $ref %r (only %s...)" % (ref, REF_PREFIX))
        parts = [p.replace("~1", "/").replace("~0", "~") for p in ref[len(REF_PREFIX):].split("/")]
        node = self.schemas
        try:
            for p in parts:
                node = node[int(p)] if isinstance(node, list) else node[p]
        except (KeyError, IndexError, ValueError, TypeError):
            raise SpecError("$ref %s points to nothing" % ref)
        return node

    def schema(self, name):
        if name not in self.schemas:
            raise SpecError("no schema named %s in components.schemas" % name)
        return self.schemas[name]

    def validate(self, inst, schema, path="$", depth=0):
        """List of Violations of inst against schema (empty = valid)."""
        if depth > self.MAX_DEPTH:
            raise SpecError("schema nesting deeper than %d at %s (a $ref cycle?)"
                            % (self.MAX_DEPTH, path))
        if schema is True or schema == {}:
            return []
        if schema is False:
            return [Violation(path, "no value is allowed here")]
        if not isinstance(schema, dict):
            raise SpecError("schema at %s is not an object" % path)
        if inst is None and schema.get("nullable") is True:
            return []  # OpenAPI 3.0: nullable admits null whatever else the schema says
        out = []
        if "$ref" in schema:
            out += self.validate(inst, self.resolve(schema["$ref"]), path, depth + 1)

        types = schema.get("type")
        if types is not None:
            types = [types] if isinstance(types, str) else list(types)
            if not any(type_matches(inst, t) for t in types):
                out.append(Violation(path, "expected %s, got %s %s" % (
                    " or ".join(types), json_type(inst), short(inst)), "type", types))
                return out  # the other keywords would only repeat the mismatch

        if "enum" in schema and not any(json_equal(inst, e) for e in schema["enum"]):
            out.append(Violation(path, "%s is not one of %s" % (
                short(inst), short(schema["enum"], 120))))
        if "const" in schema and not json_equal(inst, schema["const"]):
            out.append(Violation(path, "%s is not %s" % (short(inst), short(schema["const"]))))

        for sub in schema.get("allOf", ()):
            out += self.validate(inst, sub, path, depth + 1)
        if "anyOf" in schema:
            out += self._any_of(inst, schema["anyOf"], path, depth)
        if "oneOf" in schema:
            out += self._one_of(inst, schema, path, depth)

        if isinstance(inst, dict):
            out += self._object(inst, schema, path, depth)
        elif isinstance(inst, list):
            out += self._array(inst, schema, path, depth)
        elif isinstance(inst, str):
            n = len(inst)
            if "minLength" in schema and n < schema["minLength"]:
                out.append(Violation(path, "string shorter than %d" % schema["minLength"]))
            if "maxLength" in schema and n > schema["maxLength"]:
                out.append(Violation(path, "string longer than %d" % schema["maxLength"]))
        elif isinstance(inst, (int, float)) and not isinstance(inst, bool):
            out += self._number(inst, schema, path)
        return out

    def _object(self, inst, schema, path, depth):
        out = []
        for k in schema.get("required", ()):
            if k not in inst:
                out.append(Violation(path, "missing required property %s" % json.dumps(k)))
        props = schema.get("properties", {})
        for k, v in inst.items():
            if k in props:
                out += self.validate(v, props[k], child_path(path, k), depth + 1)
        extra = schema.get("additionalProperties")
        if extra is not None and extra is not True:
            for k, v in inst.items():
                if k in props:
                    continue
                if extra is False:
                    out.append(Violation(child_path(path, k), "property not allowed here"))
                else:
                    out += self.validate(v, extra, child_path(path, k), depth + 1)
        return out

    def _array(self, inst, schema, path, depth):
        out = []
        prefix = schema.get("prefixItems", [])
        for i, sub in enumerate(prefix[:len(inst)]):
            out += self.validate(inst[i], sub, child_path(path, i), depth + 1)
        items = schema.get("items")
        if isinstance(items, dict):
            for i in range(len(prefix), len(inst)):
                out += self.validate(inst[i], items, child_path(path, i), depth + 1)
        if "minItems" in schema and len(inst) < schema["minItems"]:
            out.append(Violation(path, "fewer than %d items" % schema["minItems"]))
        if "maxItems" in schema and len(inst) > schema["maxItems"]:
            out.append(Violation(path, "more than %d items" % schema["maxItems"]))
        return out

    @staticmethod
    def _number(inst, schema, path):
        out = []
        checks = (("minimum", lambda v, m: v >= m, "<"), ("maximum", lambda v, m: v <= m, ">"),
                  ("exclusiveMinimum", lambda v, m: v > m, "<="),
                  ("exclusiveMaximum", lambda v, m: v < m, ">="))
        for key, ok, op in checks:
            m = schema.get(key)
            if isinstance(m, (int, float)) and not isinstance(m, bool) and not ok(inst, m):
                out.append(Violation(path, "%s %s %s %s" % (short(inst), op, key, m)))
        return out

    def _explain_no_match(self, inst, branches, results, path, word):
        """One message for an anyOf/oneOf that nothing matched."""
        if all(len(r) == 1 and r[0].kind == "type" and r[0].path == path for r in results):
            types = []
            for r in results:
                types += [t for t in r[0].expected if t not in types]
            return [Violation(path, "expected %s, got %s %s" % (
                " or ".join(types), json_type(inst), short(inst)), "type", types)]
        # Report the closest alternative: one whose type fit, with the fewest violations.
        candidates = [(i, r) for i, r in enumerate(results)
                      if not (len(r) == 1 and r[0].kind == "type" and r[0].path == path)]
        i, best = min(candidates, key=lambda c: len(c[1]))
        name = branches[i].get("$ref", "").replace(REF_PREFIX, "") if isinstance(
            branches[i], dict) else ""
        label = "%s alternative %d%s" % (word, i + 1, " (%s)" % name if name else "")
        return [Violation(v.path, "%s [closest %s]" % (v.message, label)) for v in best]

    def _any_of(self, inst, branches, path, depth):
        results = []
        for sub in branches:
            r = self.validate(inst, sub, path, depth + 1)
            if not r:
                return []
            results.append(r)
        return self._explain_no_match(inst, branches, results, path, "anyOf")

    def _discriminated(self, inst, schema):
        """The oneOf branch that the discriminator selects, or None."""
        disc = schema.get("discriminator")
        if not isinstance(disc, dict) or not isinstance(inst, dict):
            return None
        prop = disc.get("propertyName")
        if prop not in inst:
            return None
        value = inst[prop]
        mapping = disc.get("mapping") or {}
        if value in mapping:
            return {"$ref": mapping[value]}
        for sub in schema["oneOf"]:
            target = self.resolve(sub["$ref"]) if "$ref" in sub else sub
            p = target.get("properties", {}).get(prop, {}) if isinstance(target, dict) else {}
            if "$ref" in p:
                p = self.resolve(p["$ref"])
            allowed = p.get("enum", []) + ([p["const"]] if "const" in p else [])
            if any(json_equal(value, a) for a in allowed):
                return sub
        return None

    def _one_of(self, inst, schema, path, depth):
        branches = schema["oneOf"]
        chosen = self._discriminated(inst, schema)
        if chosen is not None:
            return self.validate(inst, chosen, path, depth + 1)
        results = [self.validate(inst, sub, path, depth + 1) for sub in branches]
        matched = [i + 1 for i, r in enumerate(results) if not r]
        if len(matched) == 1:
            return []
        if matched:
            return [Violation(path, "matches oneOf alternatives %s; exactly one must match"
                              % ", ".join(map(str, matched)))]
        return self._explain_no_match(inst, branches, results, path, "oneOf")


def check_duplicates(inst, path="$"):
    out = []
    if isinstance(inst, JsonObject) and inst.duplicates:
        out += [Violation(path, "duplicate key %s" % json.dumps(k)) for k in inst.duplicates]
    if isinstance(inst, dict):
        for k, v in inst.items():
            out += check_duplicates(v, child_path(path, k))
    elif isinstance(inst, list):
        for i, v in enumerate(inst):
            out += check_duplicates(v, child_path(path, i))
    return out


def validate_text(validator, schema, text):
    """Violations of one JSON text (parse errors included)."""
    try:
        inst = parse_json(text)
    except ValueError as e:
        return [Violation("$", "not valid JSON: %s" % e)]
    return check_duplicates(inst) + validator.validate(inst, schema)


def sse_events(text):
    """(event number, data) of each SSE event with data, in order."""
    events, data, n = [], [], 0
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n") + [""]:
        if line == "":
            if data:
                n += 1
                events.append((n, "\n".join(data)))
                data = []
        elif line.startswith("data:"):
            data.append(line[6:] if line.startswith("data: ") else line[5:])
        # comments (":") and event:/id:/retry: fields carry no JSON
    return events


def main(argv):
    flags = {a for a in argv if a.startswith("--")}
    args = [a for a in argv if not a.startswith("--") or a == "-"]
    known = {"--sse", "--sse-errors", "--require-done", "--help"}
    if "--help" in flags:
        print(__doc__.strip())
        return 0
    if flags - known or not 2 <= len(args) <= 3:
        print("usage: openapi_check.py [--sse] [--sse-errors] [--require-done] "
              "SPEC SCHEMA_NAME [FILE|-]", file=sys.stderr)
        return 2
    spec, name = args[0], args[1]
    source = args[2] if len(args) == 3 else "-"
    try:
        validator = Validator(load_schemas(spec))
        schema = validator.schema(name)
        error_schema = validator.schema("ErrorResponse") if "--sse-errors" in flags else None
        if source == "-":
            text = sys.stdin.buffer.read().decode("utf-8")
        else:
            with open(source, "rb") as f:
                text = f.read().decode("utf-8")
    except SpecError as e:
        print("openapi_check: %s" % e, file=sys.stderr)
        return 2
    except OSError as e:
        print("openapi_check: cannot read %s: %s" % (source, e.strerror), file=sys.stderr)
        return 2
    except UnicodeDecodeError as e:
        print("$: input is not UTF-8: %s" % e)
        return 1

    problems = []
    try:
        if "--sse" not in flags:
            problems = [str(v) for v in validate_text(validator, schema, text)]
        else:
            events = sse_events(text)
            if not events:
                problems.append("stream: no data events")
            done_at = None
            for n, data in events:
                if done_at is not None:
                    problems.append("event %d: data after [DONE]" % n)
                    continue
                if data.strip() == "[DONE]":
                    done_at = n
                    continue
                target = schema
                if error_schema is not None:
                    try:
                        obj = json.loads(data)
                        if isinstance(obj, dict) and "error" in obj:
                            target = error_schema
                    except ValueError:
                        pass
                problems += ["event %d: %s" % (n, v)
                             for v in validate_text(validator, target, data)]
            if "--require-done" in flags and events and done_at is None:
                problems.append("stream: does not end with data: [DONE]")
    except SpecError as e:
        print("openapi_check: %s" % e, file=sys.stderr)
        return 2
    for p in problems:
        print(p)
    if problems:
        print("%d violation%s of %s" % (len(problems), "" if len(problems) == 1 else "s", name))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
