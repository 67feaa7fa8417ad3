#!/usr/bin/python3
"""Reads a /metrics page on stdin, parses it with the Prometheus client
library's text-format parser, and prints every sample as one JSON object:
{"name{label=value,...}": value, ...} with labels sorted by name. A page the
parser rejects exits with status 1 and the parser's message."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    text = sys.stdin.read()
    out = {}
    types = {}
    try:
        for family in text_string_to_metric_families(text):
            types[family.name] = family.type
            for s in family.samples:
                labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
                out[f"{s.name}{{{labels}}}"] = s.value
    except Exception as e:  # the parser raises ValueError and friends on malformed input
        print(f"parse error: {e}", file=sys.stderr)
        return 1
    json.dump({"samples": out, "types": types}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
