#include <gtest/gtest.h>

#include "r1/api/modelfile.h"

namespace api = r1::api;

TEST(modelfile, parses_every_instruction) {
  auto mf = api::parse_modelfile(R"(# a comment
FROM ./demo.gguf
PARAMETER temperature 0.6
parameter stop "<｜User｜>"
PARAMETER stop <｜Assistant｜>
TEMPLATE """{{ .System }}
{{ .Prompt }}"""
SYSTEM You are terse.
LICENSE """MIT
text"""
MESSAGE user hello
MESSAGE assistant hi there
)");
  ASSERT_TRUE(mf.ok()) << mf.error().to_string();
  EXPECT_EQ(mf->from, "./demo.gguf");
  ASSERT_EQ(mf->parameters.size(), 3u);
  EXPECT_EQ(mf->parameters[1].second, "<｜User｜>");
  EXPECT_EQ(*mf->template_text, "{{ .System }}\n{{ .Prompt }}");
  EXPECT_EQ(*mf->system, "You are terse.");
  EXPECT_EQ(mf->license, std::vector<std::string>{"MIT\ntext"});
  ASSERT_EQ(mf->messages.size(), 2u);
  EXPECT_EQ(mf->messages[1].content, "hi there");
  EXPECT_TRUE(api::from_is_path(mf->from));
  EXPECT_FALSE(api::from_is_path("deepseek-r1:7b"));
}

TEST(modelfile, errors_name_the_line) {
  auto no_from = api::parse_modelfile("SYSTEM hi\n");
  ASSERT_FALSE(no_from.ok());
  auto unknown = api::parse_modelfile("FROM x\nFROB y\n");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message().find("line 2"), std::string::npos);
  EXPECT_FALSE(api::parse_modelfile("FROM x\nTEMPLATE \"\"\"never closed\n").ok());
  EXPECT_FALSE(api::parse_modelfile("FROM x\nMESSAGE wizard hi\n").ok());
  EXPECT_FALSE(api::parse_modelfile("FROM x\nPARAMETER\n").ok());
}

TEST(modelfile, round_trips_through_format) {
  api::modelfile mf;
  mf.from = "/blobs/sha256-abc";
  mf.system = "line one\nline two";
  mf.parameters = {{"stop", "<｜User｜>"}, {"temperature", "0.6"}};
  auto again = api::parse_modelfile(api::format_modelfile(mf));
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(again->from, mf.from);
  EXPECT_EQ(*again->system, *mf.system);
  EXPECT_EQ(again->parameters, mf.parameters);
}

// Values with quotes, backslashes, edge blanks or several lines (found by fuzz_modelfile)
// come back unchanged after format + parse.
TEST(modelfile, round_trips_awkward_values) {
  const std::string text =
      "FROM \" ./my model.gguf\"\n"
      "PARAMETER stop \"\"\"multi\nline \"quoted\" stop\"\"\"\n"
      "PARAMETER stop a\"\"\"b\n"
      "PARAMETER stop \"\\\\ends with backslash\\\\\"\n"
      "SYSTEM \"\"\"  leading blanks\"\"\"\n"
      "MESSAGE user \"say \\\"hi\\\"\"\n";
  auto mf = api::parse_modelfile(text);
  ASSERT_TRUE(mf.ok()) << mf.error().to_string();
  EXPECT_EQ(mf->from, " ./my model.gguf");
  ASSERT_EQ(mf->parameters.size(), 3u);
  EXPECT_EQ(mf->parameters[1].second, "a\"\"\"b");
  auto again = api::parse_modelfile(api::format_modelfile(*mf));
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(again->from, mf->from);
  EXPECT_EQ(again->parameters, mf->parameters);
  EXPECT_EQ(*again->system, *mf->system);
  ASSERT_EQ(again->messages.size(), 1u);
  EXPECT_EQ(again->messages[0].content, "say \"hi\"");
}
