// The byte-level pushdown automaton behind grammar and matcher (private).
//
// The grammar is a graph of nodes; a running position is a set of stacks of frames (node,
// pos). A stack whose top is a terminal (bytes, an unfinished literal, string characters) is
// waiting for a byte; an empty stack means the input so far is a complete match. Alternatives
// fork stacks, so a configuration may hold several; identical stacks are merged.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace r1::constrain::detail {

enum class node_kind : uint8_t { bytes, literal, seq, alt, repeat, str_chars };

inline constexpr uint32_t unbounded = 0xffffffffu;
inline constexpr uint32_t no_node = 0xffffffffu;

using byte_set = std::array<uint64_t, 4>;
inline bool has_byte(const byte_set& s, uint8_t b) { return (s[b >> 6] >> (b & 63)) & 1u; }
inline void add_byte(byte_set& s, uint8_t b) { s[b >> 6] |= uint64_t{1} << (b & 63); }

struct node {
  node_kind kind = node_kind::seq;
  byte_set set{};              // bytes
  std::string text;            // literal
  std::vector<uint32_t> kids;  // seq, alt; repeat: {item, separator or no_node}
  uint32_t min = 0, max = 0;   // repeat: item count; str_chars: code points
};

struct frame {
  uint32_t node;
  uint32_t pos;  // seq: next kid; literal: next byte; repeat: items so far;
                 // str_chars: (code points << 4) | sub-state (0 = at a character boundary)
  bool operator==(const frame& o) const { return node == o.node && pos == o.pos; }
};

// Stacks stored back to back: stack i is frames[begin(i), ends[i]).
struct config {
  std::vector<frame> frames;
  std::vector<uint32_t> ends;
  size_t stacks() const { return ends.size(); }
  uint32_t begin(size_t i) const { return i == 0 ? 0 : ends[i - 1]; }
  bool empty() const { return ends.empty(); }
  bool complete() const;
  void clear() { frames.clear(); ends.clear(); }
  // Bytes that identify the configuration (mask cache key).
  void key(std::string& out) const;
};

// One step of the string-character machine: the sub-state after byte b, or -1 when b cannot
// come next. `starts` is set when b begins a new code point (or escape).
int str_step(uint32_t sub, uint8_t b, bool& starts);

class automaton {
 public:
  automaton(const std::vector<node>& nodes, uint32_t root) : nodes_(nodes), root_(root) {}

  void initial(config& out) const;
  // Feeds one byte to every stack of `in`; `out` gets the surviving stacks (may be empty).
  void advance(const config& in, uint8_t b, config& out) const;
  const std::vector<node>& nodes() const { return nodes_; }

  static constexpr size_t max_depth = 256;     // frames per stack
  static constexpr size_t max_stacks = 256;    // stacks per configuration
  static constexpr int expand_budget = 20000;  // node visits per advance
  static constexpr int max_nesting = 1024;     // nested expansion calls

 private:
  void expand(std::vector<frame>& st, config& out, int& budget) const;
  void emit(const std::vector<frame>& st, config& out) const;
  const std::vector<node>& nodes_;
  uint32_t root_;
  mutable std::vector<frame> scratch_;
  mutable int nesting_ = 0;
};

}  // namespace r1::constrain::detail
