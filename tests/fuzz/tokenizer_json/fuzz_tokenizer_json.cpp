// libFuzzer target: the Hugging Face tokenizer.json adapter.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "r1/engine/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // The first line (if any) is a tokenizer_config.json, the rest the tokenizer.json.
  const std::size_t nl = text.find('\n');
  const std::string_view config = nl == std::string_view::npos ? std::string_view() : text.substr(0, nl);
  const std::string_view body = nl == std::string_view::npos ? text : text.substr(nl + 1);
  auto v = r1::engine::vocab_from_tokenizer_json(body, config);
  if (!v.ok()) return 0;
  if (v->tokens.size() > 4096) return 0;  // keep each run fast
  auto tok = r1::engine::tokenizer::create(std::move(v).value());
  if (!tok.ok()) return 0;
  (void)(*tok)->encode("Hello, world! 123 <think>x</think> 日本語 \xFF", {.add_special = true, .parse_special = true});
  return 0;
}
