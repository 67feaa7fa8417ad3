#!/usr/bin/env python3
"""Renders every template of templates/templates.json over every conversation
of templates/conversations.json with Python's Jinja2, configured the way
Hugging Face transformers configures it for chat templates (trim_blocks,
lstrip_blocks, loopcontrols, its tojson filter, raise_exception).

usage: render_templates.py TEMPLATES_DIR OUT_JSON
Writes {"<template>": {"<conversation>": {"text": ...} | {"error": ...}}}.
"""
import json
import os
import sys

from jinja2.exceptions import TemplateError
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def make_env():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env


def main():
    tdir, out_path = sys.argv[1], sys.argv[2]
    with open(os.path.join(tdir, "templates.json"), encoding="utf-8") as f:
        templates = json.load(f)
    with open(os.path.join(tdir, "conversations.json"), encoding="utf-8") as f:
        conversations = json.load(f)
    env = make_env()
    out = {}
    for name, spec in templates.items():
        with open(os.path.join(tdir, spec["file"]), encoding="utf-8") as f:
            source = f.read()
        results = {}
        try:
            template = env.from_string(source)
        except TemplateError as e:
            out[name] = {"__parse_error__": str(e)}
            continue
        for conv in conversations:
            variables = dict(conv.get("extra", {}))
            variables.update(messages=conv["messages"], tools=conv.get("tools"),
                             add_generation_prompt=conv.get("add_generation_prompt", True),
                             bos_token=spec["bos_token"], eos_token=spec["eos_token"])
            try:
                results[conv["name"]] = {"text": template.render(**variables)}
            except Exception as e:  # any failure: r1 must fail too
                results[conv["name"]] = {"error": f"{type(e).__name__}: {e}"}
        out[name] = results
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
