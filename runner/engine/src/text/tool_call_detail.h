// Shared between tool_calls.cpp (DeepSeek markers) and tool_call_formats.cpp.
#pragma once

#include <cstddef>
#include <string_view>

namespace r1::engine::detail {

// Offset just after the last closed DeepSeek call (and the calls-end marker right after it), or npos.
size_t deepseek_complete_end(std::string_view text);

}  // namespace r1::engine::detail
