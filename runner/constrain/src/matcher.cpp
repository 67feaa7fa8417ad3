#include "r1/constrain/matcher.h"

#include <algorithm>

#include "automaton.h"
#include "grammar_impl.h"

namespace r1::constrain {

using detail::config;
using detail::frame;
using detail::node;
using detail::node_kind;

namespace {
constexpr size_t max_cached_masks = 256;

void set_bit(std::vector<uint64_t>& bits, int32_t id) {
  bits[static_cast<size_t>(id) >> 6] |= uint64_t{1} << (static_cast<uint32_t>(id) & 63);
}
}  // namespace

matcher::matcher(std::shared_ptr<const grammar> g, std::shared_ptr<const vocab_index> v)
    : g_(std::move(g)), v_(std::move(v)),
      a_(std::make_unique<detail::automaton>(g_->internals().nodes, g_->internals().root)),
      cur_(std::make_unique<config>()), next_(std::make_unique<config>()) {
  a_->initial(*cur_);
}

matcher::~matcher() = default;

bool matcher::is_complete() const { return finished_ || cur_->complete(); }

bool matcher::accept_bytes(std::string_view bytes) {
  if (finished_) return bytes.empty();
  config trial = *cur_;
  for (char c : bytes) {
    a_->advance(trial, static_cast<uint8_t>(c), *next_);
    if (next_->empty()) return false;
    std::swap(trial, *next_);
  }
  std::swap(*cur_, trial);
  bytes_ += bytes.size();
  return true;
}

status matcher::accept(int32_t token) {
  if (token < 0 || static_cast<size_t>(token) >= v_->size()) {
    return invalid_argument("token " + std::to_string(token) + " is outside the vocabulary");
  }
  if (finished_) return invalid_argument("the constraint is finished; token " + std::to_string(token) + " cannot follow");
  const auto& eog = v_->eog();
  if (std::binary_search(eog.begin(), eog.end(), token)) {
    if (!cur_->complete()) return invalid_argument("end of generation before the constrained output is complete");
    finished_ = true;
    return ok_status();
  }
  const std::string& piece = v_->piece(token);
  if (piece.empty() || !accept_bytes(piece)) {
    return invalid_argument("token " + std::to_string(token) + " does not fit the constraint here");
  }
  return ok_status();
}

void matcher::fill_mask(std::vector<uint64_t>& bits) {
  ++stats_.masks;
  const size_t words = (v_->size() + 63) / 64;
  if (finished_) {
    bits.assign(words, 0);
    return;
  }
  cur_->key(key_);
  if (auto it = cache_.find(key_); it != cache_.end()) {
    ++stats_.cache_hits;
    bits = it->second;
    return;
  }
  bits.assign(words, 0);
  compute_mask(bits);
  if (cache_.size() >= max_cached_masks) cache_.clear();
  cache_.emplace(key_, bits);
}

// Tokens made only of string characters (the safe set) are decided without walking when every
// stack either sits at a character boundary inside a string (then the token fits if its
// character count fits) or cannot start with any byte a safe token starts with.
void matcher::compute_mask(std::vector<uint64_t>& bits) {
  if (cur_->complete()) {
    for (int32_t e : v_->eog()) set_bit(bits, e);
  }
  const auto& nodes = g_->internals().nodes;
  bool pure = true, in_string = false;
  uint32_t max_rem = 0;
  for (size_t i = 0; i < cur_->stacks() && pure; ++i) {
    if (cur_->begin(i) == cur_->ends[i]) continue;
    const frame& top = cur_->frames[cur_->ends[i] - 1];
    const node& n = nodes[top.node];
    if (n.kind == node_kind::str_chars) {
      if ((top.pos & 15u) != 0) {
        pure = false;
        break;
      }
      in_string = true;
      const uint32_t rem = n.max == detail::unbounded ? detail::unbounded : n.max - (top.pos >> 4);
      max_rem = std::max(max_rem, rem);
    } else if (n.kind == node_kind::literal) {
      pure = !v_->safe_first_byte(static_cast<uint8_t>(n.text[top.pos]));
    } else if (n.kind == node_kind::bytes) {
      for (int b = 0; b < 256 && pure; ++b) {
        if (detail::has_byte(n.set, static_cast<uint8_t>(b)) && v_->safe_first_byte(static_cast<uint8_t>(b))) pure = false;
      }
    } else {
      pure = false;
    }
  }
  if (!pure) {
    walk(v_->safe_trie(), bits);
  } else if (in_string) {
    if (max_rem == detail::unbounded) {
      const auto& safe = v_->safe_bits();
      for (size_t w = 0; w < bits.size(); ++w) bits[w] |= safe[w];
    } else {
      const auto& ids = v_->safe_ids();
      const auto& chars = v_->safe_chars();
      for (size_t k = 0; k < ids.size() && chars[k] <= max_rem; ++k) set_bit(bits, ids[k]);
    }
  }
  walk(v_->rest_trie(), bits);
}

void matcher::walk(const vocab_index::trie& t, std::vector<uint64_t>& bits) {
  const size_t n = t.nodes();
  size_t i = 0;
  while (i < n) {
    const size_t d = t.depth[i];
    if (levels_.size() <= d) levels_.resize(d + 1);
    const config& parent = d == 1 ? *cur_ : levels_[d - 1];
    config& here = levels_[d];
    a_->advance(parent, t.byte[i], here);
    ++stats_.trie_nodes;
    if (here.empty()) {
      i = t.skip[i];
      continue;
    }
    for (uint32_t k = t.id_begin[i]; k < t.id_begin[i + 1]; ++k) set_bit(bits, t.ids[k]);
    ++i;
  }
}

}  // namespace r1::constrain
