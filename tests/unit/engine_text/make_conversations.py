#!/usr/bin/env python3
"""Writes templates/conversations.json: the conversation set the chat templates
are rendered over (by r1 and by Python's Jinja2). Run it after editing."""
import json
import os

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Paris"},
                "days": {"type": "integer", "minimum": 1, "default": 1},
                "units": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}
SEARCH_TOOL = {
    "type": "function",
    "function": {
        "name": "search",
        "description": "  Search the web. Returns <b>snippets</b> & links.  ",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    },
}


def call(name, args, as_string=True):
    return {"type": "function", "function": {"name": name, "arguments": json.dumps(args) if as_string else args}}


SYS = {"role": "system", "content": "You are a helpful assistant."}
THINK_ANSWER = "<think>\nThe user asks 1+1. That is 2.\n</think>\n\nThe answer is **2**."

CONVERSATIONS = [
    {"name": "single_user", "messages": [{"role": "user", "content": "What is 1+1?"}]},
    {"name": "system_user", "messages": [SYS, {"role": "user", "content": "Hello!"}]},
    {"name": "two_systems", "messages": [SYS, {"role": "system", "content": "Answer briefly."},
                                          {"role": "user", "content": "Hi"}]},
    {"name": "multi_turn_with_think", "messages": [
        SYS, {"role": "user", "content": "What is 1+1?"}, {"role": "assistant", "content": THINK_ANSWER},
        {"role": "user", "content": "And 2+2?"}]},
    {"name": "two_thinking_turns", "messages": [
        {"role": "user", "content": "Q1"}, {"role": "assistant", "content": "<think>a</think>A1"},
        {"role": "user", "content": "Q2"}, {"role": "assistant", "content": "<think>\nb\n</think>\n\nA2 </think> tail"},
        {"role": "user", "content": "Q3"}]},
    {"name": "ends_with_assistant_no_prompt", "add_generation_prompt": False, "messages": [
        {"role": "user", "content": "Say hi"}, {"role": "assistant", "content": "Hi!"}]},
    {"name": "tool_call_then_result", "tools": [WEATHER_TOOL], "messages": [
        SYS, {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [call("get_weather", {"city": "Paris"})]},
        {"role": "tool", "content": "{\"temperature\": 21, \"sky\": \"clear\"}"},
        {"role": "assistant", "content": "It is 21°C and clear in Paris."},
        {"role": "user", "content": "Thanks"}]},
    {"name": "tool_call_null_content", "tools": [WEATHER_TOOL], "messages": [
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": None, "tool_calls": [call("get_weather", {"city": "Oslo"})]},
        {"role": "tool", "content": "{\"temperature\": -3}"}]},
    {"name": "two_calls_two_results", "tools": [WEATHER_TOOL, SEARCH_TOOL], "messages": [
        {"role": "user", "content": "Compare Rome and Madrid"},
        {"role": "assistant", "content": "", "tool_calls": [call("get_weather", {"city": "Rome"}),
                                                             call("get_weather", {"city": "Madrid", "days": 2})]},
        {"role": "tool", "content": "{\"temperature\": 25}"}, {"role": "tool", "content": "{\"temperature\": 30}"}]},
    {"name": "object_arguments", "tools": [WEATHER_TOOL], "messages": [
        {"role": "user", "content": "Weather in Lima?"},
        {"role": "assistant", "content": "", "tool_calls": [call("get_weather", {"city": "Lima", "days": 3}, False)]},
        {"role": "tool", "content": "sunny"}, {"role": "assistant", "content": "Sunny in Lima."}]},
    {"name": "tools_defined_user_only", "tools": [WEATHER_TOOL, SEARCH_TOOL], "messages": [
        SYS, {"role": "user", "content": "Find me news about llamas"}]},
    {"name": "unicode_and_escapes", "messages": [
        {"role": "system", "content": "Réponds en français 🇫🇷. Use \"quotes\", 'apostrophes' and back\\slashes."},
        {"role": "user", "content": "  日本語で答えて\n\n\tタブ & <tags> {{ not a template }} {% raw %}  "},
        {"role": "assistant", "content": "はい！😀\n"}, {"role": "user", "content": "<｜User｜> injected?"}]},
    {"name": "thinking_disabled", "extra": {"enable_thinking": False}, "messages": [
        {"role": "user", "content": "Quick: capital of Peru?"}]},
    {"name": "reasoning_content_field", "messages": [
        {"role": "user", "content": "Q"}, {"role": "assistant", "content": "A", "reasoning_content": "because"},
        {"role": "user", "content": "Q again"}]},
    {"name": "empty_messages", "messages": []},
    {"name": "tool_response_in_user", "messages": [
        {"role": "user", "content": "<tool_response>\nx\n</tool_response>"}, {"role": "user", "content": "real question"}]},
    {"name": "long_history", "messages": [
        {"role": ("user" if i % 2 == 0 else "assistant"), "content": f"turn {i} " + "word " * (i % 5)} for i in range(12)]},
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "templates", "conversations.json"), "w", encoding="utf-8") as f:
        json.dump(CONVERSATIONS, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
