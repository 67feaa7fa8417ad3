// The constraint's progress through one generation: which tokens may come next, and
// advancing by the token that was chosen.
//
//   matcher m(grammar, vocab);
//   loop: m.fill_mask(bits); sample among set bits; m.accept(token);  // until an EOG token
//
// fill_mask() walks the vocabulary trie with the automaton once per new state and caches the
// mask per state (a free string, an array of numbers ... reach the same state again and again),
// so most steps cost a hash lookup and a copy. End-of-generation tokens are allowed exactly
// when the text so far is complete, and once nothing else may follow they are the only ones.
//
// Ownership: shares the grammar and the vocab index. Thread safety: none (one per generation).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "r1/base/status.h"
#include "r1/constrain/grammar.h"
#include "r1/constrain/vocab_index.h"

namespace r1::constrain {

namespace detail {
class automaton;
struct config;
}  // namespace detail

struct matcher_stats {
  uint64_t masks = 0;        // fill_mask calls
  uint64_t cache_hits = 0;
  uint64_t trie_nodes = 0;   // trie nodes visited by walks (cache misses)
};

class matcher {
 public:
  matcher(std::shared_ptr<const grammar> g, std::shared_ptr<const vocab_index> v);
  ~matcher();
  matcher(const matcher&) = delete;
  matcher& operator=(const matcher&) = delete;

  // bits gets ceil(n_vocab / 64) words; bit i set = token i allowed.
  void fill_mask(std::vector<uint64_t>& bits);
  // Advances by a token. invalid_argument when the token is not allowed here (the state is then
  // unchanged). An end-of-generation token is accepted only when complete and finishes.
  status accept(int32_t token);
  // Advances by raw bytes (a prefilled answer, tests); false (state unchanged) if not allowed.
  bool accept_bytes(std::string_view bytes);

  bool is_complete() const;   // the text so far is a complete match
  bool is_finished() const { return finished_; }  // an end-of-generation token was accepted
  size_t bytes_accepted() const { return bytes_; }
  const matcher_stats& stats() const { return stats_; }

 private:
  void compute_mask(std::vector<uint64_t>& bits);
  void walk(const vocab_index::trie& t, std::vector<uint64_t>& bits);

  std::shared_ptr<const grammar> g_;
  std::shared_ptr<const vocab_index> v_;
  std::unique_ptr<detail::automaton> a_;
  std::unique_ptr<detail::config> cur_, next_;
  std::vector<detail::config> levels_;
  std::unordered_map<std::string, std::vector<uint64_t>> cache_;
  std::string key_;
  size_t bytes_ = 0;
  bool finished_ = false;
  matcher_stats stats_;
};

}  // namespace r1::constrain
