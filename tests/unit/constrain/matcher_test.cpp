// Token masks against brute force: for a small vocabulary, a token is allowed exactly when the
// text so far plus its bytes is still a prefix of a match (end-of-generation: when the text is
// complete). Walks random allowed paths so many states (and the mask cache) are exercised.
#include <gtest/gtest.h>

#include <random>

#include "r1/constrain/matcher.h"

namespace r1::constrain {
namespace {

using json = nlohmann::json;

std::vector<std::string> small_vocab() {
  std::vector<std::string> v;
  for (int c = 0x20; c < 0x7f; ++c) v.push_back(std::string(1, static_cast<char>(c)));
  for (const char* s : {"\n", "\t", "  ", "{\"", "\":", "\": ", "\"}", "\",", ", \"", "abc", " the", "true", "false",
                        "null", "12", "-3", ".5", "e+", "\\n", "\\u00", "\\\"", "\xc3\xa9", "\xc3", "\xa9", "\xe4\xb8",
                        "\xad", "\xe4\xb8\xad\"", "\"]", "[{", "}]", "},", "2024", "-01", "T12", ":00", "Z\"", "00Z",
                        "name", "\"name\"", "ab\"", "xyz", "}\n", "\xf0\x9f\x98\x80", "\x01", "\xff"}) {
    v.push_back(s);
  }
  v.push_back("");  // a control token: never allowed
  v.push_back("");  // the end-of-generation token
  return v;
}

void check_schema(const json& schema, uint32_t seed, int walks) {
  const std::vector<std::string> pieces = small_vocab();
  const int32_t eog = static_cast<int32_t>(pieces.size()) - 1;
  auto index = vocab_index::build(pieces, {eog});
  auto g = grammar::compile(spec::schema(schema));
  ASSERT_TRUE(g.ok()) << g.error().message();
  std::mt19937 rng(seed);
  for (int w = 0; w < walks; ++w) {
    matcher m(*g, index);
    std::string text;
    std::vector<uint64_t> bits;
    for (int step = 0; step < 60; ++step) {
      m.fill_mask(bits);
      std::vector<int32_t> allowed;
      for (size_t id = 0; id < pieces.size(); ++id) {
        const bool got = (bits[id >> 6] >> (id & 63)) & 1u;
        bool want = false;
        if (static_cast<int32_t>(id) == eog) {
          want = (*g)->accepts(text);
        } else if (!pieces[id].empty()) {
          want = (*g)->accepts_prefix(text + pieces[id]);
        }
        ASSERT_EQ(got, want) << "schema " << schema.dump() << " after \"" << text << "\" token \"" << pieces[id] << "\"";
        if (got) allowed.push_back(static_cast<int32_t>(id));
      }
      ASSERT_FALSE(allowed.empty()) << "dead end after \"" << text << "\"";
      const int32_t pick = allowed[std::uniform_int_distribution<size_t>(0, allowed.size() - 1)(rng)];
      ASSERT_TRUE(m.accept(pick).ok());
      if (pick == eog) {
        EXPECT_TRUE(m.is_finished());
        break;
      }
      text += pieces[static_cast<size_t>(pick)];
    }
  }
}

TEST(constrain_matcher, masks_match_brute_force) {
  const json schemas[] = {
      any_object_schema(),
      json{{"type", "string"}},
      json{{"type", "string"}, {"minLength", 1}, {"maxLength", 4}},
      json{{"type", "object"},
           {"properties", {{"name", {{"type", "string"}}}, {"n", {{"type", "number"}}}, {"ok", {{"type", "boolean"}}}}},
           {"required", {"name"}}},
      json{{"type", "array"}, {"items", {{"enum", {"abc", "xyz", 12}}}}, {"maxItems", 3}},
      json{{"anyOf", {{{"type", "string"}, {"format", "date-time"}}, {{"type", "null"}}, {{"type", "integer"}}}}},
      json{{"type", {"string", "array"}}, {"items", {{"type", "string"}, {"maxLength", 2}}}},
  };
  uint32_t seed = 1;
  for (const json& s : schemas) check_schema(s, seed++, 12);
}

TEST(constrain_matcher, rejects_and_finishes) {
  const std::vector<std::string> pieces = {"{", "}", "\"a\"", ":", "1", "x", ""};
  auto index = vocab_index::build(pieces, {6});
  auto g = grammar::compile(spec::schema(json{{"type", "object"}, {"properties", {{"a", {{"type", "integer"}}}}}, {"required", {"a"}}}));
  ASSERT_TRUE(g.ok());
  matcher m(*g, index);
  EXPECT_FALSE(m.accept(5).ok());
  EXPECT_FALSE(m.accept(6).ok()) << "end of generation before the value is complete";
  for (int32_t t : {0, 2, 3, 4, 1}) ASSERT_TRUE(m.accept(t).ok()) << t;
  EXPECT_TRUE(m.is_complete());
  std::vector<uint64_t> bits;
  m.fill_mask(bits);
  EXPECT_EQ(bits[0], uint64_t{1} << 6) << "only end of generation once the value is done";
  EXPECT_TRUE(m.accept(6).ok());
  EXPECT_TRUE(m.is_finished());
  EXPECT_FALSE(m.accept(1).ok());
}

TEST(constrain_matcher, free_strings_reuse_cached_masks) {
  std::vector<std::string> pieces = small_vocab();
  auto index = vocab_index::build(pieces, {static_cast<int32_t>(pieces.size()) - 1});
  auto g = grammar::compile(spec::schema(json{{"type", "string"}}));
  ASSERT_TRUE(g.ok());
  matcher m(*g, index);
  ASSERT_TRUE(m.accept_bytes("\""));
  std::vector<uint64_t> bits;
  for (int i = 0; i < 20; ++i) {
    m.fill_mask(bits);
    ASSERT_TRUE(m.accept_bytes("abc"));
  }
  EXPECT_GE(m.stats().cache_hits, 19u);
}

}  // namespace
}  // namespace r1::constrain
