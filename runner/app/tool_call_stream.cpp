#include "tool_call_stream.h"

#include <cstdio>
#include <mutex>
#include <random>

namespace r1::runner {

namespace rp = runner_protocol;

std::string new_call_id() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  uint64_t a = 0, b = 0;
  {
    std::lock_guard<std::mutex> lock(mu);
    a = rng();
    b = rng();
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "call_%016llx%08llx", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b & 0xffffffffULL));
  return buf;
}

tool_call_stream::tool_call_stream(engine::tool_call_format format) : format_(format) {}

void tool_call_stream::release_plain(rp::completion_chunk& c) {
  const size_t start = engine::find_tool_calls(held_, format_);
  if (start != std::string::npos) {
    c.content += held_.substr(0, start);
    held_.erase(0, start);
    in_block_ = true;
    return;
  }
  size_t keep_from = held_.size();
  if (!c.done && engine::may_begin_tool_calls(held_, format_)) {
    const size_t lt = held_.rfind('<');
    keep_from = lt == std::string::npos ? 0 : lt;
  }
  c.content += held_.substr(0, keep_from);
  held_.erase(0, keep_from);
}

void tool_call_stream::emit_calls(rp::completion_chunk& c) {
  const size_t end = c.done ? held_.size() : engine::complete_tool_calls_end(held_, format_);
  if (end == std::string::npos || end <= parsed_end_) {
    if (c.done && parsed_end_ < held_.size()) c.content += held_.substr(parsed_end_);
    return;
  }
  auto r = engine::parse_tool_calls(std::string_view(held_).substr(0, end), format_);
  if (!r.ok() || r->calls.size() < emitted_) {
    // Not calls after all (or a broken later call): at the end, the rest is answer text.
    if (c.done) c.content += held_.substr(parsed_end_);
    return;
  }
  for (size_t i = emitted_; i < r->calls.size(); ++i) {
    if (c.tool_calls.is_null()) c.tool_calls = rp::json::array();
    c.tool_calls.push_back({{"id", new_call_id()}, {"name", r->calls[i].name}, {"arguments", r->calls[i].arguments}});
  }
  emitted_ = r->calls.size();
  parsed_end_ = end;
  // At the end the whole block was parsed: text the model wrote around its calls stays answer text.
  if (c.done && !r->content.empty()) c.content += (c.content.empty() ? "" : "\n") + r->content;
}

void tool_call_stream::filter(rp::completion_chunk& c) {
  held_ += c.content;
  c.content.clear();
  c.tool_calls = nullptr;
  if (!in_block_) release_plain(c);
  if (in_block_) emit_calls(c);
}

}  // namespace r1::runner
