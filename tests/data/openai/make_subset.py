#!/usr/bin/env python3
"""Writes openapi-subset.json: the OpenAI OpenAPI spec's components.schemas reduced to
the schemas the tests validate against and everything they reference ($ref closure).

Run from the repo root with the full spec (openai/openai-openapi, MIT; a copy is in
../shared/openai/openapi.yaml):
    python3 tests/data/openai/make_subset.py ../shared/openai/openapi.yaml
"""
import json
import os
import sys

import yaml

ROOTS = ["CreateChatCompletionResponse", "CreateChatCompletionStreamResponse", "ErrorResponse",
         "ListModelsResponse", "CreateEmbeddingResponse", "CreateChatCompletionRequest"]


def refs(node, out):
    if isinstance(node, dict):
        r = node.get("$ref")
        if isinstance(r, str) and r.startswith("#/components/schemas/"):
            out.add(r.rsplit("/", 1)[1])
        for v in node.values():
            refs(v, out)
    elif isinstance(node, list):
        for v in node:
            refs(v, out)


def main():
    spec = sys.argv[1]
    with open(spec, encoding="utf-8") as f:
        doc = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    schemas = doc["components"]["schemas"]
    keep, todo = set(), list(ROOTS)
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep.add(name)
        found = set()
        refs(schemas[name], found)
        todo.extend(found - keep)
    out = {
        "openapi": doc.get("openapi"),
        "info": {"title": doc["info"]["title"], "version": doc["info"]["version"],
                 "license": doc["info"].get("license"),
                 "x-subset": "components.schemas reachable from " + ", ".join(ROOTS)},
        "components": {"schemas": {k: schemas[k] for k in sorted(keep)}},
    }
    dst = os.path.join(os.path.dirname(os.path.abspath(__file__)), "openapi-subset.json")
    with open(dst, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, sort_keys=True, default=str)
        f.write("\n")
    print("%s: %d of %d schemas" % (dst, len(keep), len(schemas)))


if __name__ == "__main__":
    main()
