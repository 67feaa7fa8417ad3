#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "r1/engine/tool_calls.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)r1::engine::may_begin_tool_calls(text);
  const size_t at = r1::engine::find_tool_calls(text);
  if (at != std::string_view::npos && at >= size) std::abort();
  auto r = r1::engine::parse_tool_calls(text);
  if (r.ok()) {
    for (const auto& c : r->calls) {
      if (c.name.empty() || c.arguments.empty() || c.arguments.front() != '{') std::abort();
    }
  }
  return 0;
}
