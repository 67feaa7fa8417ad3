#include "automaton.h"

#include <algorithm>
#include <cstring>

namespace r1::constrain::detail {

bool config::complete() const {
  for (size_t i = 0; i < ends.size(); ++i) {
    if (begin(i) == ends[i]) return true;
  }
  return false;
}

void config::key(std::string& out) const {
  out.resize(frames.size() * sizeof(frame) + ends.size() * sizeof(uint32_t));
  if (!frames.empty()) std::memcpy(out.data(), frames.data(), frames.size() * sizeof(frame));
  if (!ends.empty()) std::memcpy(out.data() + frames.size() * sizeof(frame), ends.data(), ends.size() * sizeof(uint32_t));
}

namespace {
bool is_cont(uint8_t b) { return b >= 0x80 && b <= 0xbf; }
bool is_hex(uint8_t b) { return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F'); }
}  // namespace

// Sub-states: 0 boundary; 1 after '\'; 2..5 the four hex digits of \u (the first may not be
// d/D: no surrogates); 6/7/8 need 1/2/3 continuation bytes; 9 after E0, 10 after ED, 11 after
// F0, 12 after F4 (the restricted second bytes of well-formed UTF-8).
int str_step(uint32_t sub, uint8_t b, bool& starts) {
  starts = false;
  switch (sub) {
    case 0:
      starts = true;
      if (b == '"' || b < 0x20) return -1;
      if (b == '\\') return 1;
      if (b < 0x80) return 0;
      if (b >= 0xc2 && b <= 0xdf) return 6;
      if (b == 0xe0) return 9;
      if (b == 0xed) return 10;
      if (b >= 0xe1 && b <= 0xef) return 7;
      if (b == 0xf0) return 11;
      if (b >= 0xf1 && b <= 0xf3) return 8;
      if (b == 0xf4) return 12;
      starts = false;
      return -1;
    case 1:
      if (b == 'u') return 2;
      return std::strchr("\"\\/bfnrt", b) != nullptr && b != 0 ? 0 : -1;
    case 2: return is_hex(b) && b != 'd' && b != 'D' ? 3 : -1;
    case 3: return is_hex(b) ? 4 : -1;
    case 4: return is_hex(b) ? 5 : -1;
    case 5: return is_hex(b) ? 0 : -1;
    case 6: return is_cont(b) ? 0 : -1;
    case 7: return is_cont(b) ? 6 : -1;
    case 8: return is_cont(b) ? 7 : -1;
    case 9: return b >= 0xa0 && b <= 0xbf ? 6 : -1;
    case 10: return b >= 0x80 && b <= 0x9f ? 6 : -1;
    case 11: return b >= 0x90 && b <= 0xbf ? 7 : -1;
    case 12: return b >= 0x80 && b <= 0x8f ? 7 : -1;
    default: return -1;
  }
}

void automaton::initial(config& out) const {
  out.clear();
  std::vector<frame>& st = scratch_;
  st.clear();
  st.push_back({root_, 0});
  int budget = expand_budget;
  expand(st, out, budget);
}

void automaton::emit(const std::vector<frame>& st, config& out) const {
  if (out.stacks() >= max_stacks) return;
  const uint32_t n = static_cast<uint32_t>(st.size());
  for (size_t i = 0; i < out.stacks(); ++i) {
    const uint32_t b = out.begin(i);
    if (out.ends[i] - b == n && std::equal(st.begin(), st.end(), out.frames.begin() + b)) return;
  }
  out.frames.insert(out.frames.end(), st.begin(), st.end());
  out.ends.push_back(static_cast<uint32_t>(out.frames.size()));
}

// Brings the stack to a state waiting for a byte (or empty), forking at alternatives. The stack
// is restored before returning, so callers can keep using it.
void automaton::expand(std::vector<frame>& st, config& out, int& budget) const {
  // Nested calls are bounded too (not only visits): an alternative that leads back to itself
  // without consuming would otherwise recurse until the budget runs out.
  if (--budget < 0 || st.size() > max_depth || nesting_ >= max_nesting) return;
  struct nest {
    int& n;
    explicit nest(int& v) : n(++v) {}
    ~nest() { --n; }
  } guard(nesting_);
  if (st.empty()) {
    emit(st, out);
    return;
  }
  const frame f = st.back();
  const node& n = nodes_[f.node];
  auto finish_top = [&] {
    st.pop_back();
    expand(st, out, budget);
    st.push_back(f);
  };
  switch (n.kind) {
    case node_kind::bytes: emit(st, out); return;
    case node_kind::literal:
      if (f.pos < n.text.size()) {
        emit(st, out);
      } else {
        finish_top();
      }
      return;
    case node_kind::seq:
      if (f.pos < n.kids.size()) {
        st.back().pos = f.pos + 1;
        st.push_back({n.kids[f.pos], 0});
        expand(st, out, budget);
        st.pop_back();
        st.back().pos = f.pos;
      } else {
        finish_top();
      }
      return;
    case node_kind::alt:
      st.pop_back();
      for (uint32_t kid : n.kids) {
        st.push_back({kid, 0});
        expand(st, out, budget);
        st.pop_back();
      }
      st.push_back(f);
      return;
    case node_kind::repeat: {
      const uint32_t count = f.pos;
      if (count >= n.min) finish_top();
      if (n.max == unbounded || count < n.max) {
        // Without a maximum only "reached min" and "not the first" matter: saturating the
        // count keeps configurations (and the mask cache) from growing with the array.
        st.back().pos = n.max == unbounded ? std::min(count + 1, std::max(n.min, 1u)) : count + 1;
        st.push_back({n.kids[0], 0});
        const bool sep = count > 0 && n.kids.size() > 1 && n.kids[1] != no_node;
        if (sep) st.push_back({n.kids[1], 0});
        expand(st, out, budget);
        if (sep) st.pop_back();
        st.pop_back();
        st.back().pos = count;
      }
      return;
    }
    case node_kind::str_chars: {
      const uint32_t sub = f.pos & 15u, count = f.pos >> 4;
      if (sub == 0 && count >= n.min) finish_top();
      if (sub != 0 || n.max == unbounded || count < n.max) emit(st, out);
      return;
    }
  }
}

void automaton::advance(const config& in, uint8_t b, config& out) const {
  out.clear();
  int budget = expand_budget;
  std::vector<frame>& st = scratch_;
  for (size_t i = 0; i < in.stacks(); ++i) {
    const uint32_t begin = in.begin(i), end = in.ends[i];
    if (begin == end) continue;  // complete: nothing more may follow
    st.assign(in.frames.begin() + begin, in.frames.begin() + end);
    frame& top = st.back();
    const node& n = nodes_[top.node];
    switch (n.kind) {
      case node_kind::bytes:
        if (!has_byte(n.set, b)) continue;
        st.pop_back();
        break;
      case node_kind::literal:
        if (static_cast<uint8_t>(n.text[top.pos]) != b) continue;
        ++top.pos;
        break;
      case node_kind::str_chars: {
        bool starts = false;
        const int next = str_step(top.pos & 15u, b, starts);
        if (next < 0) continue;
        uint32_t count = top.pos >> 4;
        // Counted only while it matters (below min, or up to a max), so long free strings
        // keep one configuration and hit the mask cache.
        if (starts && (n.max != unbounded || count < n.min)) ++count;
        top.pos = (count << 4) | static_cast<uint32_t>(next);
        break;
      }
      default: continue;  // expand() never leaves other kinds on top
    }
    expand(st, out, budget);
  }
}

}  // namespace r1::constrain::detail
