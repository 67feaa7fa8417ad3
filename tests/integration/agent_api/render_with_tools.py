#!/usr/bin/env python3
"""Renders one conversation with tools through a chat template with Python's Jinja2 (configured
as Hugging Face transformers configures it), applying the documented preparation r1 applies
before its own render (docs/api.md, "Tools"):

  - messages carry role, content and, when set, tool_calls / tool_call_id / name; JSON object
    keys arrive sorted (the wire JSON of the daemon-runner protocol);
  - tool_calls get type "function"; arguments become a compact JSON string for DeepSeek
    templates and an object for Llama 3.1;
  - templates that never read `tools` get the tool description in the last system message;
  - think=false on a thinking template pre-fills an empty <think></think> block.

usage: render_with_tools.py CASE_JSON  (prints the rendered prompt to stdout)
CASE_JSON: {"template_file", "bos_token", "eos_token", "messages", "tools", "think", "format"}
"""
import json
import re
import sys

from jinja2.exceptions import TemplateError
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

BAR = "\uff5c"
SEP = "\u2581"
ASSISTANT = "<" + BAR + "Assistant" + BAR + ">"


def marker(*words):
    return "<" + BAR + SEP.join(words) + BAR + ">"


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def sorted_keys(x):
    if isinstance(x, dict):
        return {k: sorted_keys(x[k]) for k in sorted(x)}
    if isinstance(x, list):
        return [sorted_keys(v) for v in x]
    return x


def compact(x):
    return json.dumps(x, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def reads_tools(source):
    return re.search(r"(?<![A-Za-z0-9_])tools(?![A-Za-z0-9_])", source) is not None


def tools_text(tools):
    out = "## Tools\n\nYou have access to the following functions:\n"
    for t in tools:
        fn = t.get("function", t)
        out += "\n### " + fn.get("name", "") + "\n"
        if isinstance(fn.get("description"), str):
            out += "Description: " + fn["description"] + "\n"
        out += "Parameters: " + (compact(fn["parameters"]) if "parameters" in fn else "{}") + "\n"
    prefix = (marker("tool", "calls", "begin") + marker("tool", "call", "begin") + "function" + marker("tool", "sep") +
              "FUNCTION_NAME\n```json\n")
    suffix = "\n```" + marker("tool", "call", "end") + marker("tool", "calls", "end")
    out += ("\nTo call functions, answer with exactly this format (one call block per function call):\n" + prefix +
            '{"argument": "value"}' + suffix + "\n")
    return out


def prepare(case, source):
    fmt = case["format"]
    msgs = []
    for m in case["messages"]:
        x = {"role": m["role"], "content": m.get("content", "")}
        if m.get("tool_calls") is not None:
            x["tool_calls"] = m["tool_calls"]
        if m.get("tool_call_id"):
            x["tool_call_id"] = m["tool_call_id"]
        if m.get("tool_name"):
            x["name"] = m["tool_name"]
        x = sorted_keys(x)
        for call in x.get("tool_calls", []):
            call.setdefault("type", "function")
            fn = call.get("function", {})
            args = fn.get("arguments", {})
            if fmt == "deepseek" and not isinstance(args, str):
                fn["arguments"] = compact(args)
            elif fmt == "llama3" and isinstance(args, str):
                fn["arguments"] = json.loads(args)
        msgs.append(x)
    tools = sorted_keys(case.get("tools")) if case.get("tools") else None
    if tools and not reads_tools(source):
        text = tools_text(tools)
        for m in reversed(msgs):
            if m["role"] == "system":
                m["content"] = m["content"] + "\n\n" + text if m["content"] else text
                break
        else:
            msgs.insert(0, {"role": "system", "content": text})
    return msgs, tools


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        case = json.load(f)
    with open(case["template_file"], encoding="utf-8") as f:
        source = f.read()
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    msgs, tools = prepare(case, source)
    variables = {"messages": msgs, "tools": tools, "add_generation_prompt": True,
                 "bos_token": case["bos_token"], "eos_token": case["eos_token"]}
    if case.get("think") is not None:
        variables["enable_thinking"] = case["think"]
    text = env.from_string(source).render(**variables)
    if case.get("think") is False and "</think>" in source and not text.endswith("</think>\n\n"):
        stripped = text.rstrip()
        if text.rfind("<think>") > text.rfind("</think>") and stripped.endswith("<think>"):
            text += "\n</think>\n\n" if text.endswith("\n") else "\n\n</think>\n\n"
        elif text.endswith(ASSISTANT):
            text += "<think>\n\n</think>\n\n"
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
