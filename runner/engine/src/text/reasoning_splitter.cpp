#include "r1/engine/reasoning_splitter.h"

#include <algorithm>

namespace r1::engine {
namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::size_t leading_ws(std::string_view s) {
  std::size_t n = 0;
  while (n < s.size() && is_ws(s[n])) ++n;
  return n;
}

// Length of the longest suffix of s that is a proper prefix of tag.
std::size_t partial_tag_suffix(std::string_view s, std::string_view tag) {
  const std::size_t max = std::min(s.size(), tag.size() - 1);
  for (std::size_t n = max; n > 0; --n) {
    if (s.substr(s.size() - n) == tag.substr(0, n)) return n;
  }
  return 0;
}

}  // namespace

reasoning_splitter::reasoning_splitter(bool primed, std::string open_tag, std::string close_tag)
    : open_(std::move(open_tag)), close_(std::move(close_tag)),
      state_(primed ? state::thinking_start : state::looking_for_open) {}

reasoning_chunk reasoning_splitter::push(std::string_view text) {
  reasoning_chunk out;
  buf_.append(text);
  step(out, false);
  return out;
}

reasoning_chunk reasoning_splitter::finish() {
  reasoning_chunk out;
  step(out, true);
  buf_.clear();
  return out;
}

void reasoning_splitter::step(reasoning_chunk& out, bool final) {
  while (true) {
    switch (state_) {
      case state::looking_for_open:
      case state::thinking_start: {
        // Decide whether the output opens with the tag (after whitespace).
        const std::size_t ws = leading_ws(buf_);
        const std::string_view rest = std::string_view(buf_).substr(ws);
        if (rest.size() >= open_.size() && rest.substr(0, open_.size()) == open_) {
          buf_.erase(0, ws + open_.size());
          state_ = state::thinking;
          skip_ws_ = true;
          continue;
        }
        const bool could_be_tag = std::string_view(open_).substr(0, rest.size()) == rest;
        if (could_be_tag && !final) return;  // wait for more (whitespace or a partial tag)
        if (state_ == state::thinking_start) {
          state_ = state::thinking;
          skip_ws_ = true;
        } else {
          state_ = state::answer;  // no reasoning block: all of it is answer, as written
        }
        continue;
      }
      case state::thinking: {
        if (skip_ws_) {
          buf_.erase(0, leading_ws(buf_));
          if (buf_.empty() && !final) return;
          skip_ws_ = false;
        }
        const std::size_t at = buf_.find(close_);
        if (at != std::string::npos) {
          std::string_view r = std::string_view(buf_).substr(0, at);
          while (!r.empty() && is_ws(r.back())) r.remove_suffix(1);
          out.reasoning.append(r);
          buf_.erase(0, at + close_.size());
          state_ = state::answer_start;
          continue;
        }
        std::size_t keep = final ? 0 : partial_tag_suffix(buf_, close_);
        // Hold back trailing whitespace too: it is dropped if the close tag follows.
        std::size_t end = buf_.size() - keep;
        while (end > 0 && is_ws(buf_[end - 1])) --end;
        out.reasoning.append(buf_, 0, end);
        if (final) {
          buf_.clear();
        } else {
          buf_.erase(0, end);
        }
        return;
      }
      case state::answer_start: {
        const std::size_t ws = leading_ws(buf_);
        buf_.erase(0, ws);
        if (buf_.empty()) return;
        state_ = state::answer;
        continue;
      }
      case state::answer:
        out.content.append(buf_);
        buf_.clear();
        return;
    }
  }
}

bool prompt_opens_reasoning(std::string_view rendered, std::string_view open_tag, std::string_view close_tag) {
  const std::size_t open = rendered.rfind(open_tag);
  if (open == std::string_view::npos) return false;
  const std::size_t close = rendered.rfind(close_tag);
  if (close != std::string_view::npos && close > open) return false;
  const std::string_view tail = rendered.substr(open + open_tag.size());
  return std::all_of(tail.begin(), tail.end(), is_ws);
}

}  // namespace r1::engine
