// libFuzzer target: Jinja parsing and rendering of arbitrary template text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "r1/engine/jinja.h"

namespace {

const nlohmann::ordered_json& conversation() {
  static const nlohmann::ordered_json vars = nlohmann::ordered_json::parse(R"({
    "messages": [
      {"role": "system", "content": "You are helpful."},
      {"role": "user", "content": "What is 1+1? <think>"},
      {"role": "assistant", "content": "<think>\nadd\n</think>\n\n2", "reasoning_content": "add"},
      {"role": "assistant", "content": null, "tool_calls": [
        {"type": "function", "function": {"name": "f", "arguments": "{\"a\": 1}"}},
        {"type": "function", "function": {"name": "g", "arguments": {"b": [1, 2.5, null, true]}}}]},
      {"role": "tool", "content": "{\"ok\": true}"},
      {"role": "user", "content": "日本語 😀"}],
    "tools": [{"type": "function", "function": {"name": "f", "description": "d",
               "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}}}}],
    "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>", "enable_thinking": false
  })");
  return vars;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  r1::engine::jinja::options opts;
  opts.max_output_bytes = 1 << 16;
  opts.max_loop_iterations = 20'000;
  opts.max_depth = 64;
  const std::string_view src(reinterpret_cast<const char*>(data), size);
  auto t = r1::engine::jinja::template_program::parse(src, opts);
  if (!t.ok()) return 0;
  auto out = t->render(conversation());
  if (out.ok() && out->size() > opts.max_output_bytes) __builtin_trap();
  return 0;
}
