#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "r1/constrain/grammar.h"
#include "r1/constrain/matcher.h"

namespace {

using json = nlohmann::json;
using namespace r1::constrain;

const std::shared_ptr<const vocab_index>& tiny_vocab() {
  static const std::shared_ptr<const vocab_index> v = [] {
    std::vector<std::string> pieces;
    for (int c = 0; c < 256; ++c) pieces.push_back(std::string(1, static_cast<char>(c)));
    for (const char* s : {"{\"", "\":", "\",", "\"}", "true", "null", "12", "-0.", "e+", "\\u00", "ab", "\xc3\xa9", "[{", "}]"}) {
      pieces.push_back(s);
    }
    pieces.push_back("");  // end of generation
    return vocab_index::build(pieces, {static_cast<int32_t>(pieces.size()) - 1});
  }();
  return v;
}

void check(const std::shared_ptr<const grammar>& g, std::string_view steer) {
  matcher m(g, tiny_vocab());
  std::vector<uint64_t> bits;
  std::string text;
  for (size_t step = 0; step < 48 && !m.is_finished(); ++step) {
    m.fill_mask(bits);
    std::vector<int32_t> allowed;
    for (size_t id = 0; id < tiny_vocab()->size(); ++id) {
      if ((bits[id >> 6] >> (id & 63)) & 1u) allowed.push_back(static_cast<int32_t>(id));
    }
    if (allowed.empty()) abort();  // a live state always allows something
    const uint8_t pick = step < steer.size() ? static_cast<uint8_t>(steer[step]) : 0;
    const int32_t t = allowed[pick % allowed.size()];
    if (!m.accept(t).ok()) abort();
    if (!m.is_finished()) text += tiny_vocab()->piece(t);
  }
  if (!g->accepts_prefix(text)) abort();
  if (m.is_complete() != g->accepts(text) && !m.is_finished()) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // "<schema json>\n<steering bytes>": the bytes after the first newline choose tokens.
  const size_t nl = in.find('\n');
  const std::string_view schema_text = in.substr(0, nl);
  const std::string_view steer = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  json j = json::parse(schema_text, nullptr, false);
  if (j.is_discarded()) return 0;
  (void)spec_from_openai_response_format(j);
  (void)spec_from_json(j);
  auto s = spec_from_ollama_format(j);
  if (!s.ok() || !s->has_value()) return 0;
  compile_options o;
  o.max_nodes = 20000;
  auto g = grammar::compile(**s, o);
  if (!g.ok()) return 0;
  check(*g, steer);
  return 0;
}
