#include <gtest/gtest.h>

#include "r1/constrain/spec.h"

namespace r1::constrain {
namespace {

using json = nlohmann::json;

TEST(constrain_spec, ollama_format) {
  auto none = spec_from_ollama_format(json());
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto j = spec_from_ollama_format("json");
  ASSERT_TRUE(j.ok());
  ASSERT_TRUE(j->has_value());
  EXPECT_EQ(*(*j)->parts[0].schema, any_object_schema());
  auto s = spec_from_ollama_format(json{{"type", "integer"}});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*(*s)->parts[0].schema, (json{{"type", "integer"}}));
  EXPECT_FALSE(spec_from_ollama_format("yaml").ok());
  EXPECT_FALSE(spec_from_ollama_format(3).ok());
}

TEST(constrain_spec, openai_response_format) {
  auto text = spec_from_openai_response_format(json{{"type", "text"}});
  ASSERT_TRUE(text.ok());
  EXPECT_FALSE(text->has_value());
  auto obj = spec_from_openai_response_format(json{{"type", "json_object"}});
  ASSERT_TRUE(obj.ok() && obj->has_value());
  auto js = spec_from_openai_response_format(
      json{{"type", "json_schema"}, {"json_schema", {{"name", "x"}, {"strict", true}, {"schema", {{"type", "object"}}}}}});
  ASSERT_TRUE(js.ok() && js->has_value());
  EXPECT_TRUE((*js)->parts[0].strict);
  EXPECT_FALSE(spec_from_openai_response_format(json{{"type", "json_schema"}}).ok());
  auto bad = spec_from_openai_response_format(json{{"type", "xml"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("xml"), std::string::npos);
}

TEST(constrain_spec, json_round_trip) {
  spec s = spec::literal_text("pre");
  s.then_schema(json{{"type", "string"}}, true).then_text("post");
  auto back = spec_from_json(to_json(s));
  ASSERT_TRUE(back.ok()) << back.error().message();
  ASSERT_EQ(back->parts.size(), 3u);
  EXPECT_EQ(back->parts[0].text, "pre");
  EXPECT_TRUE(back->parts[1].strict);
  EXPECT_EQ(back->parts[2].text, "post");
  EXPECT_FALSE(spec_from_json(json{{"parts", {{{"text", "a"}, {"schema", true}}}}}).ok());
  EXPECT_FALSE(spec_from_json(json{{"parts", json::array()}}).ok());
}

}  // namespace
}  // namespace r1::constrain
