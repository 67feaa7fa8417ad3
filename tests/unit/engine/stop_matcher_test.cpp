#include "r1/engine/stop_matcher.h"

#include <gtest/gtest.h>

namespace r1::engine {
namespace {

TEST(stop_matcher, holds_back_partial_matches_then_releases_them) {
  stop_matcher m({"<|end|>", "STOP"});
  EXPECT_EQ(m.feed("hello <|"), "hello ");
  EXPECT_EQ(m.held(), 2u);
  EXPECT_EQ(m.feed("en"), "");
  EXPECT_EQ(m.feed("x"), "<|enx");  // not a stop string after all
  EXPECT_FALSE(m.matched());
  EXPECT_EQ(m.feed(" ST"), " ");
  EXPECT_EQ(m.finish(), "ST");
}

TEST(stop_matcher, match_across_pieces_drops_the_stop_and_the_rest) {
  stop_matcher m({"<|end|>"});
  std::string out;
  for (const char* p : {"ab", "c<", "|e", "nd|>tail"}) out += m.feed(p);
  EXPECT_TRUE(m.matched());
  EXPECT_EQ(m.stop_word(), "<|end|>");
  EXPECT_EQ(out, "abc");
  EXPECT_EQ(m.feed("more"), "");
  EXPECT_EQ(m.finish(), "");
}

TEST(stop_matcher, earliest_match_wins) {
  stop_matcher m({"world", "lo w"});
  EXPECT_EQ(m.feed("hello world"), "hel");
  EXPECT_EQ(m.stop_word(), "lo w");
}

TEST(stop_matcher, no_stops_passes_everything) {
  stop_matcher m({"", ""});
  EXPECT_EQ(m.feed("abc"), "abc");
  EXPECT_EQ(m.held(), 0u);
}

TEST(stop_matcher, overlapping_prefix_holds_the_longest_candidate) {
  stop_matcher m({"aab"});
  EXPECT_EQ(m.feed("xaa"), "x");
  EXPECT_EQ(m.feed("a"), "a");  // "aaa": tail "aa" still a candidate
  EXPECT_EQ(m.feed("b"), "");
  EXPECT_TRUE(m.matched());
}

}  // namespace
}  // namespace r1::engine
