#include <gtest/gtest.h>

#include "r1/engine/utf8.h"

namespace r1::engine::utf8 {
namespace {

TEST(utf8, decodes_and_encodes_every_length) {
  for (char32_t cp : {U'a', U'é', U'€', U'😀', U'\U0010FFFF'}) {
    const std::string s = encode(cp);
    char32_t got = 0;
    EXPECT_EQ(decode(s, 0, &got), s.size());
    EXPECT_EQ(got, cp);
    EXPECT_TRUE(is_valid(s));
  }
}

TEST(utf8, rejects_overlongs_surrogates_and_out_of_range) {
  for (const char* bad : {"\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xF5\x80", "\xFF", "\x80"}) {
    EXPECT_FALSE(is_valid(bad)) << bad;
  }
}

TEST(utf8, sanitize_uses_maximal_subparts) {
  // Same results as Python's bytes.decode('utf-8', 'replace').
  EXPECT_EQ(sanitize("a\xF0\x9F\x98" "b"), "a\xEF\xBF\xBD" "b");           // one truncated sequence: one U+FFFD
  EXPECT_EQ(sanitize("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");               // overlong: one per byte
  EXPECT_EQ(sanitize("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate: one per byte
  EXPECT_EQ(sanitize("\xE2\x28\xA1"), "\xEF\xBF\xBD(\xEF\xBF\xBD");
  EXPECT_EQ(sanitize("ok \xEF\xBF\xBD"), "ok \xEF\xBF\xBD");  // a real U+FFFD stays
  EXPECT_TRUE(is_valid(sanitize("\xF8\xA1\xA1\xA1\xA1")));
}

TEST(utf8, incomplete_suffix_is_held_back) {
  EXPECT_EQ(incomplete_suffix_length("abc"), 0u);
  EXPECT_EQ(incomplete_suffix_length("ab\xF0\x9F"), 2u);
  EXPECT_EQ(incomplete_suffix_length("ab\xF0\x9F\x98"), 3u);
  EXPECT_EQ(incomplete_suffix_length("ab\xF0\x9F\x98\x80"), 0u);
  EXPECT_EQ(incomplete_suffix_length("ab\xE2"), 1u);
  EXPECT_EQ(incomplete_suffix_length("ab\xC0"), 0u);  // cannot start a sequence: not held
  EXPECT_EQ(incomplete_suffix_length("ab\xE0\x80"), 0u);  // already ill-formed
}

TEST(utf8, stream_decoder_joins_characters_split_across_chunks) {
  const std::string text = "h€llo 😀 世界";
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    stream_decoder d;
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
      const std::string piece = d.push(text.substr(i, 1));
      EXPECT_TRUE(is_valid(piece));
      out += piece;
    }
    out += d.finish();
    EXPECT_EQ(out, text);
  }
  stream_decoder d;
  EXPECT_EQ(d.push("a\xF0\x9F"), "a");
  EXPECT_TRUE(d.has_pending());
  EXPECT_EQ(d.finish(), "\xEF\xBF\xBD");
}

TEST(utf8, code_points_round_trip) {
  const std::string s = "aé€😀";
  const auto cps = to_code_points(s);
  ASSERT_EQ(cps.size(), 4u);
  EXPECT_EQ(from_code_points(cps), s);
}

}  // namespace
}  // namespace r1::engine::utf8
