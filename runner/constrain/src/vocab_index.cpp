#include "r1/constrain/vocab_index.h"

#include <algorithm>
#include <numeric>
#include <string_view>

#include "automaton.h"

namespace r1::constrain {
namespace {

constexpr size_t max_piece = 4096;  // longer pieces are never generated under a constraint

// Characters in a JSON string body if the whole piece is one, else -1.
int64_t safe_chars_of(std::string_view piece) {
  if (piece.empty()) return -1;
  uint32_t sub = 0;
  int64_t chars = 0;
  for (char c : piece) {
    bool starts = false;
    const int next = detail::str_step(sub, static_cast<uint8_t>(c), starts);
    if (next < 0) return -1;
    if (starts) ++chars;
    sub = static_cast<uint32_t>(next);
  }
  return sub == 0 ? chars : -1;
}

void build_trie(const std::vector<std::string>& pieces, std::vector<int32_t> ids, vocab_index::trie& t) {
  std::sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) {
    const std::string& pa = pieces[static_cast<size_t>(a)];
    const std::string& pb = pieces[static_cast<size_t>(b)];
    return pa != pb ? pa < pb : a < b;
  });
  std::vector<uint32_t> path;          // node index per depth - 1 of the current prefix
  std::vector<uint32_t> owner;         // node of each entry of t.ids
  std::string_view prev;
  auto pop_to = [&](size_t len) {
    while (path.size() > len) {
      t.skip[path.back()] = static_cast<uint32_t>(t.byte.size());
      path.pop_back();
    }
  };
  for (int32_t id : ids) {
    std::string_view p = pieces[static_cast<size_t>(id)];
    size_t lcp = 0;
    while (lcp < p.size() && lcp < prev.size() && lcp < path.size() && p[lcp] == prev[lcp]) ++lcp;
    pop_to(lcp);
    for (size_t k = lcp; k < p.size(); ++k) {
      path.push_back(static_cast<uint32_t>(t.byte.size()));
      t.byte.push_back(static_cast<uint8_t>(p[k]));
      t.depth.push_back(static_cast<uint16_t>(k + 1));
      t.skip.push_back(0);
    }
    t.ids.push_back(id);
    owner.push_back(path.back());
    prev = p;
  }
  pop_to(0);
  t.id_begin.assign(t.byte.size() + 1, 0);
  size_t j = 0;
  for (size_t i = 0; i <= t.byte.size(); ++i) {
    while (j < owner.size() && owner[j] < i) ++j;
    t.id_begin[i] = static_cast<uint32_t>(j);
  }
}

}  // namespace

std::shared_ptr<const vocab_index> vocab_index::build(const std::vector<std::string>& pieces,
                                                      const std::vector<int32_t>& eog) {
  std::shared_ptr<vocab_index> v(new vocab_index());
  v->n_vocab_ = pieces.size();
  v->pieces_ = pieces;
  for (int32_t e : eog) {
    if (e >= 0 && static_cast<size_t>(e) < pieces.size()) v->eog_.push_back(e);
  }
  std::sort(v->eog_.begin(), v->eog_.end());
  v->eog_.erase(std::unique(v->eog_.begin(), v->eog_.end()), v->eog_.end());
  v->safe_bits_.assign((pieces.size() + 63) / 64, 0);
  std::vector<int32_t> safe, rest;
  std::vector<std::pair<uint32_t, int32_t>> by_chars;
  for (size_t i = 0; i < pieces.size(); ++i) {
    const int32_t id = static_cast<int32_t>(i);
    if (pieces[i].empty() || pieces[i].size() > max_piece) continue;
    if (std::binary_search(v->eog_.begin(), v->eog_.end(), id)) continue;
    const int64_t chars = safe_chars_of(pieces[i]);
    if (chars < 0) {
      rest.push_back(id);
      continue;
    }
    safe.push_back(id);
    by_chars.push_back({static_cast<uint32_t>(chars), id});
    v->safe_bits_[i >> 6] |= uint64_t{1} << (i & 63);
    const uint8_t b = static_cast<uint8_t>(pieces[i][0]);
    v->safe_first_[b >> 6] |= uint64_t{1} << (b & 63);
  }
  std::sort(by_chars.begin(), by_chars.end());
  for (const auto& [chars, id] : by_chars) {
    v->safe_ids_.push_back(id);
    v->safe_chars_.push_back(chars);
  }
  build_trie(pieces, std::move(safe), v->safe_);
  build_trie(pieces, std::move(rest), v->rest_);
  return v;
}

}  // namespace r1::constrain
