#include <gtest/gtest.h>

#include "r1/engine/reasoning_splitter.h"

namespace r1::engine {
namespace {

reasoning_chunk run(const std::vector<std::string>& chunks, bool primed) {
  reasoning_splitter s(primed);
  reasoning_chunk all;
  for (const auto& c : chunks) {
    const auto out = s.push(c);
    all.reasoning += out.reasoning;
    all.content += out.content;
  }
  const auto out = s.finish();
  all.reasoning += out.reasoning;
  all.content += out.content;
  return all;
}

// Every way of cutting `text` into two chunks, and one byte at a time.
void expect_split(const std::string& text, bool primed, const std::string& reasoning, const std::string& content) {
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    const auto r = run({text.substr(0, cut), text.substr(cut)}, primed);
    EXPECT_EQ(r.reasoning, reasoning) << "cut at " << cut << " of '" << text << "'";
    EXPECT_EQ(r.content, content) << "cut at " << cut << " of '" << text << "'";
  }
  std::vector<std::string> bytes;
  for (char c : text) bytes.emplace_back(1, c);
  const auto r = run(bytes, primed);
  EXPECT_EQ(r.reasoning, reasoning);
  EXPECT_EQ(r.content, content);
}

TEST(reasoning_splitter, separates_think_block_with_tags_cut_anywhere) {
  expect_split("<think>\nLet me add.\n1+1=2\n</think>\n\nThe answer is 2.", false, "Let me add.\n1+1=2",
               "The answer is 2.");
  expect_split("  <think>x</think>y", false, "x", "y");
}

TEST(reasoning_splitter, primed_when_the_prompt_opened_the_block) {
  expect_split("Okay, 1+1.\n</think>\n\n2", true, "Okay, 1+1.", "2");
  // R1-0528 repeats the open tag itself: it is accepted and dropped.
  expect_split("<think>\nHmm.</think>2", true, "Hmm.", "2");
}

TEST(reasoning_splitter, no_block_means_everything_is_answer) {
  expect_split("Hello <think> world</think>", false, "", "Hello <think> world</think>");
  expect_split("\n<b>bold</b>", false, "", "\n<b>bold</b>");
  expect_split("<thin", false, "", "<thin");
}

TEST(reasoning_splitter, only_the_first_close_tag_ends_reasoning) {
  expect_split("<think>a</think>b</think>c", false, "a", "b</think>c");
}

TEST(reasoning_splitter, unterminated_reasoning_is_flushed_at_the_end) {
  expect_split("<think>still thinking </thi", false, "still thinking </thi", "");
  reasoning_splitter s(true);
  EXPECT_TRUE(s.in_reasoning());
  s.push("abc</think>");
  EXPECT_TRUE(s.reasoning_done());
}

TEST(reasoning_splitter, prompt_opens_reasoning) {
  EXPECT_TRUE(prompt_opens_reasoning("<｜User｜>hi<｜Assistant｜><think>\n"));
  EXPECT_FALSE(prompt_opens_reasoning("<｜User｜>hi<｜Assistant｜>"));
  EXPECT_FALSE(prompt_opens_reasoning("<｜Assistant｜><think>\n\n</think>\n\n"));
  EXPECT_FALSE(prompt_opens_reasoning("<think>x</think>\n<｜Assistant｜>"));
  EXPECT_FALSE(prompt_opens_reasoning("<think>\nsome prefill"));
}

}  // namespace
}  // namespace r1::engine
