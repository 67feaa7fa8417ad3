// UTF-8 helpers shared by the tokenizer, the template renderer and the
// reasoning splitter.
//
// All functions are pure and thread-safe. Invalid input is never an error
// here: decoders report it and sanitize() replaces it with U+FFFD following
// the "maximal subpart" practice of the Unicode standard (the same rule as
// Python's errors="replace", WHATWG TextDecoder and Node's Buffer).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace r1::engine::utf8 {

inline constexpr char32_t replacement_char = 0xFFFD;

// Decodes one code point at text[pos]. On success returns the number of
// bytes consumed (1..4) and stores the code point in *cp. On an invalid or
// truncated sequence returns the length of its maximal subpart (>= 1) and
// stores U+FFFD. pos must be < text.size().
std::size_t decode(std::string_view text, std::size_t pos, char32_t* cp);

// Appends the UTF-8 encoding of cp (surrogates and values > 0x10FFFF are
// written as U+FFFD).
void append(std::string& out, char32_t cp);
std::string encode(char32_t cp);

// True when text is well-formed UTF-8 (no surrogates, no overlongs).
bool is_valid(std::string_view text);

// text with every ill-formed subsequence replaced by U+FFFD.
std::string sanitize(std::string_view text);

// Code points of text (ill-formed parts become U+FFFD).
std::vector<char32_t> to_code_points(std::string_view text);
std::string from_code_points(const std::vector<char32_t>& cps);

// Length in bytes of the longest suffix of text that is an incomplete but so
// far valid UTF-8 sequence (0..3): bytes a streaming writer must hold back
// until the next chunk arrives.
std::size_t incomplete_suffix_length(std::string_view text);

// Streams bytes out as valid UTF-8: push() returns everything complete so far
// and keeps an incomplete trailing sequence for the next call; finish()
// returns what is left, with an unfinished sequence replaced by U+FFFD.
// Not thread-safe; one per stream.
class stream_decoder {
 public:
  std::string push(std::string_view bytes);
  std::string finish();
  bool has_pending() const { return !pending_.empty(); }

 private:
  std::string pending_;
};

}  // namespace r1::engine::utf8
