// Stop strings over streamed text, with partial-match holdback.
//
// Text arrives piece by piece (detokenized, UTF-8 complete). feed() returns the part that can
// be emitted now: everything except a tail that could still be the beginning of a stop string.
// When a stop string is found, the text before it is emitted, the stop string and everything
// after it are dropped, and matched() turns true. finish() releases the held-back tail at the
// end of generation (it was not a stop string after all).
//
// Thread safety: none. Errors: none (empty stop strings are ignored).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace r1::engine {

class stop_matcher {
 public:
  explicit stop_matcher(std::vector<std::string> stops);

  // Appends `piece`; returns the text that is safe to emit now.
  std::string feed(std::string_view piece);
  // Returns the held-back text (call once generation ends without a match).
  std::string finish();

  bool matched() const { return matched_; }
  const std::string& stop_word() const { return stop_word_; }
  // Bytes currently held back.
  size_t held() const { return pending_.size(); }

 private:
  std::vector<std::string> stops_;
  std::string pending_;
  bool matched_ = false;
  std::string stop_word_;
};

}  // namespace r1::engine
