#!/usr/bin/env python3
"""render.py IN OUT [--merge SNIPPET.yaml] KEY=VALUE...

Copy a Fabric YAML config (sampleconfig core.yaml / orderer.yaml) to OUT. --merge deep-merges
a YAML snippet first (e.g. core-externalbuilder.yaml); then each dotted KEY is set to VALUE,
parsed as JSON when it parses (lists, booleans, numbers), else kept as a string.
The string @CCAAS_BUILDER@ in a merged snippet is replaced by $CCAAS_BUILDER.
"""
import json
import os
import sys

import yaml


def merge(dst, src):
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            merge(dst[k], v)
        else:
            dst[k] = v


def main():
    src, dst, *rest = sys.argv[1:]
    with open(src) as f:
        doc = yaml.safe_load(f)
    while rest and rest[0] == "--merge":
        with open(rest[1]) as f:
            text = f.read().replace("@CCAAS_BUILDER@", os.environ.get("CCAAS_BUILDER", ""))
        merge(doc, yaml.safe_load(text))
        rest = rest[2:]
    for pair in rest:
        key, _, raw = pair.partition("=")
        try:
            val = json.loads(raw)
        except ValueError:
            val = raw
        node = doc
        parts = key.split(".")
        for p in parts[:-1]:
            if not isinstance(node.get(p), dict):
                node[p] = {}
            node = node[p]
        node[parts[-1]] = val
    with open(dst, "w") as f:
        yaml.safe_dump(doc, f, default_flow_style=False, sort_keys=False)


if __name__ == "__main__":
    main()
