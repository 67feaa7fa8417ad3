// Byte-level acceptance of compiled schemas: each feature accepts what it must and rejects
// what it must not.
#include <gtest/gtest.h>

#include "r1/constrain/grammar.h"

namespace r1::constrain {
namespace {

using json = nlohmann::json;

std::shared_ptr<const grammar> compile_ok(const json& schema, bool strict = false) {
  auto g = grammar::compile(spec::schema(schema, strict));
  EXPECT_TRUE(g.ok()) << g.error().message() << " for " << schema.dump();
  return g.ok() ? *g : nullptr;
}

std::string compile_error(const json& schema) {
  auto g = grammar::compile(spec::schema(schema));
  EXPECT_FALSE(g.ok()) << schema.dump();
  return g.ok() ? std::string() : g.error().message();
}

TEST(constrain_grammar, any_object) {
  auto g = compile_ok(any_object_schema());
  EXPECT_TRUE(g->accepts("{}"));
  EXPECT_TRUE(g->accepts("{\"a\": [1, 2.5, -3e10, \"x\", null, true, false, {\"b\": {}}]}"));
  EXPECT_TRUE(g->accepts("\n {\"k\":\"v\"}"));
  EXPECT_FALSE(g->accepts("[]"));
  EXPECT_FALSE(g->accepts("{\"a\" 1}"));
  EXPECT_FALSE(g->accepts("{\"a\": 1,}"));
  EXPECT_FALSE(g->accepts("{\"a\": 01}"));
  EXPECT_FALSE(g->accepts("{}   "));
  EXPECT_FALSE(g->accepts("{   \"a\": 1}")) << "whitespace runs are capped at two bytes";
  EXPECT_TRUE(g->accepts_prefix("{\"a\": [1"));
  EXPECT_FALSE(g->accepts("{\"a\": [1"));
}

TEST(constrain_grammar, strings_escapes_and_utf8) {
  auto g = compile_ok(json{{"type", "string"}});
  EXPECT_TRUE(g->accepts("\"plain\""));
  EXPECT_TRUE(g->accepts("\"esc \\\" \\\\ \\/ \\n \\t \\u00e9\""));
  EXPECT_TRUE(g->accepts("\"caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80\""));
  EXPECT_FALSE(g->accepts("\"bad \\x\""));
  EXPECT_FALSE(g->accepts("\"raw\nnewline\""));
  EXPECT_FALSE(g->accepts("\"\\ud83d\\ude00\"")) << "surrogate escapes are not generated";
  EXPECT_FALSE(g->accepts("\"\xc3\""));
  EXPECT_FALSE(g->accepts("\"\xed\xa0\x80\"")) << "encoded surrogate";
  EXPECT_FALSE(g->accepts("\"\xc0\xaf\"")) << "overlong";
  EXPECT_FALSE(g->accepts("\"a\" \"b\""));
}

TEST(constrain_grammar, string_lengths_count_code_points) {
  auto g = compile_ok(json{{"type", "string"}, {"minLength", 2}, {"maxLength", 3}});
  EXPECT_FALSE(g->accepts("\"a\""));
  EXPECT_TRUE(g->accepts("\"ab\""));
  EXPECT_TRUE(g->accepts("\"\xc3\xa9\\n\xe4\xb8\xad\""));
  EXPECT_FALSE(g->accepts("\"abcd\""));
  EXPECT_TRUE(g->accepts("\"a\\u0041c\""));
}

TEST(constrain_grammar, numbers_and_integers) {
  auto i = compile_ok(json{{"type", "integer"}});
  EXPECT_TRUE(i->accepts("0"));
  EXPECT_TRUE(i->accepts("-42"));
  EXPECT_FALSE(i->accepts("1.5"));
  EXPECT_FALSE(i->accepts("007"));
  EXPECT_FALSE(i->accepts("1234567890123456")) << "at most 15 digits";
  auto n = compile_ok(json{{"type", "number"}});
  EXPECT_TRUE(n->accepts("-0.25e+12"));
  EXPECT_TRUE(n->accepts("3E5"));
  EXPECT_FALSE(n->accepts("1."));
  EXPECT_FALSE(n->accepts(".5"));
  EXPECT_FALSE(n->accepts("1e123"));
}

TEST(constrain_grammar, objects_required_optional_and_order) {
  json s = {{"type", "object"},
            {"properties", {{"a", {{"type", "integer"}}}, {"b", {{"type", "string"}}}, {"c", {{"type", "boolean"}}}}},
            {"required", {"b"}}};
  auto g = compile_ok(s);
  EXPECT_TRUE(g->accepts("{\"b\": \"x\"}"));
  EXPECT_TRUE(g->accepts("{\"a\": 1, \"b\": \"x\", \"c\": true}"));
  EXPECT_TRUE(g->accepts("{\"a\":1,\"b\":\"x\"}"));
  EXPECT_TRUE(g->accepts("{\"b\":\"x\",\"c\":false}"));
  EXPECT_FALSE(g->accepts("{\"a\": 1}")) << "b is required";
  EXPECT_FALSE(g->accepts("{}"));
  EXPECT_FALSE(g->accepts("{\"b\": \"x\", \"d\": 1}")) << "undeclared keys are never generated";
  EXPECT_FALSE(g->accepts("{\"b\": 1}"));
  EXPECT_FALSE(g->accepts("{\"b\": \"x\",}"));
  EXPECT_FALSE(g->accepts("{, \"b\": \"x\"}"));
}

TEST(constrain_grammar, object_without_properties) {
  auto free = compile_ok(json{{"type", "object"}, {"additionalProperties", {{"type", "integer"}}}});
  EXPECT_TRUE(free->accepts("{\"x\": 1, \"y\": 2}"));
  EXPECT_FALSE(free->accepts("{\"x\": \"1\"}"));
  auto closed = compile_ok(json{{"type", "object"}}, /*strict=*/true);
  EXPECT_TRUE(closed->accepts("{}"));
  EXPECT_FALSE(closed->accepts("{\"x\": 1}"));
}

TEST(constrain_grammar, arrays_with_bounds) {
  auto g = compile_ok(json{{"type", "array"}, {"items", {{"type", "integer"}}}, {"minItems", 1}, {"maxItems", 3}});
  EXPECT_FALSE(g->accepts("[]"));
  EXPECT_TRUE(g->accepts("[1]"));
  EXPECT_TRUE(g->accepts("[1, 2,3]"));
  EXPECT_FALSE(g->accepts("[1, 2, 3, 4]"));
  EXPECT_FALSE(g->accepts("[1, \"a\"]"));
  auto any = compile_ok(json{{"type", "array"}});
  EXPECT_TRUE(any->accepts("[]"));
  EXPECT_TRUE(any->accepts("[1, \"a\", [], {}]"));
}

TEST(constrain_grammar, enum_const_types_and_any_of) {
  auto e = compile_ok(json{{"enum", {"red", "green", 3, nullptr}}});
  EXPECT_TRUE(e->accepts("\"red\""));
  EXPECT_TRUE(e->accepts("3"));
  EXPECT_TRUE(e->accepts("null"));
  EXPECT_FALSE(e->accepts("\"blue\""));
  auto c = compile_ok(json{{"const", {{"k", 1}}}});
  EXPECT_TRUE(c->accepts("{\"k\":1}"));
  EXPECT_FALSE(c->accepts("{\"k\":2}"));
  auto t = compile_ok(json{{"type", {"string", "null"}}});
  EXPECT_TRUE(t->accepts("null"));
  EXPECT_TRUE(t->accepts("\"s\""));
  EXPECT_FALSE(t->accepts("1"));
  auto a = compile_ok(json{{"anyOf", {{{"type", "integer"}}, {{"type", "array"}, {"items", {{"type", "boolean"}}}}}}});
  EXPECT_TRUE(a->accepts("12"));
  EXPECT_TRUE(a->accepts("[true]"));
  EXPECT_FALSE(a->accepts("[1]"));
  auto b = compile_ok(json{{"type", "boolean"}});
  EXPECT_TRUE(b->accepts("false"));
  EXPECT_FALSE(b->accepts("fals"));
}

TEST(constrain_grammar, formats) {
  auto d = compile_ok(json{{"type", "string"}, {"format", "date"}});
  EXPECT_TRUE(d->accepts("\"2024-02-28\""));
  EXPECT_FALSE(d->accepts("\"2024-02-30\""));
  EXPECT_FALSE(d->accepts("\"2024-13-01\""));
  auto dt = compile_ok(json{{"type", "string"}, {"format", "date-time"}});
  EXPECT_TRUE(dt->accepts("\"2024-01-15T23:59:07Z\""));
  EXPECT_TRUE(dt->accepts("\"2024-01-15T08:00:00.125+02:00\""));
  EXPECT_FALSE(dt->accepts("\"2024-01-15 08:00:00Z\""));
  EXPECT_FALSE(dt->accepts("\"2024-01-15T24:00:00Z\""));
  auto u = compile_ok(json{{"type", "string"}, {"format", "uuid"}});
  EXPECT_TRUE(u->accepts("\"123e4567-e89b-12d3-a456-426614174000\""));
  EXPECT_FALSE(u->accepts("\"123e4567e89b12d3a456426614174000\""));
}

TEST(constrain_grammar, local_refs_and_recursion) {
  json s = {{"$defs", {{"node", {{"type", "object"},
                                 {"properties", {{"v", {{"type", "integer"}}},
                                                 {"kids", {{"type", "array"}, {"items", {{"$ref", "#/$defs/node"}}}}}}},
                                 {"required", {"v"}}}}}},
            {"$ref", "#/$defs/node"}};
  auto g = compile_ok(s);
  // Properties come in key order (the JSON library keeps objects sorted).
  EXPECT_TRUE(g->accepts("{\"kids\": [{\"v\": 2}, {\"kids\": [], \"v\": 3}], \"v\": 1}"));
  EXPECT_FALSE(g->accepts("{\"kids\": [{}], \"v\": 1}"));
  EXPECT_NE(compile_error(json{{"$ref", "#"}}).find("no finite"), std::string::npos);
  // An object that requires itself never ends; as an alternative it is pruned, alone it is refused.
  const json self_required = {{"type", "object"}, {"properties", {{"a", {{"$ref", "#"}}}}}, {"required", {"a"}}};
  EXPECT_NE(compile_error(self_required).find("no finite"), std::string::npos);
  const json loop = {{"type", "object"}, {"properties", {{"a", {{"$ref", "#/$defs/loop"}}}}}, {"required", {"a"}}};
  auto pruned = compile_ok(json{{"$defs", {{"loop", loop}}},
                                {"anyOf", {{{"$ref", "#/$defs/loop"}}, {{"type", "integer"}}}}});
  EXPECT_TRUE(pruned->accepts("5"));
  EXPECT_FALSE(pruned->accepts_prefix("{"));
  EXPECT_NE(compile_error(json{{"$ref", "#/$defs/missing"}}).find("does not resolve"), std::string::npos);
}

TEST(constrain_grammar, unsupported_keywords_are_named) {
  EXPECT_NE(compile_error(json{{"type", "string"}, {"pattern", "^a"}}).find("\"pattern\""), std::string::npos);
  EXPECT_NE(compile_error(json{{"type", "integer"}, {"minimum", 3}}).find("\"minimum\""), std::string::npos);
  EXPECT_NE(compile_error(json{{"type", "object"}, {"properties", {{"x", {{"type", "number"}, {"multipleOf", 2}}}}}})
                .find("\"multipleOf\" at /properties/x"),
            std::string::npos);
  EXPECT_NE(compile_error(json{{"type", "string"}, {"format", "email"}}).find("format \"email\""), std::string::npos);
  EXPECT_NE(compile_error(json{{"type", "array"}, {"uniqueItems", true}}).find("uniqueItems"), std::string::npos);
  EXPECT_NE(compile_error(json{{"allOf", {{{"type", "string"}}, {{"minLength", 1}}}}}).find("allOf"), std::string::npos);
  EXPECT_NE(compile_error(json{{"type", "strin"}}).find("unknown type"), std::string::npos);
  EXPECT_NE(compile_error(json(false)).find("admits no value"), std::string::npos);
  EXPECT_NE(compile_error(json{{"type", "array"}, {"minItems", 3}, {"maxItems", 2}}).find("maxItems"), std::string::npos);
}

TEST(constrain_grammar, literal_parts_around_a_schema) {
  spec s = spec::literal_text("<tool_call>\n{\"name\": \"f\", \"arguments\": ");
  s.then_schema(json{{"type", "object"}, {"properties", {{"x", {{"type", "integer"}}}}}, {"required", {"x"}}});
  s.then_text("}\n</tool_call>");
  auto g = grammar::compile(s);
  ASSERT_TRUE(g.ok()) << g.error().message();
  EXPECT_TRUE((*g)->accepts("<tool_call>\n{\"name\": \"f\", \"arguments\": {\"x\": 5}}\n</tool_call>"));
  EXPECT_FALSE((*g)->accepts("<tool_call>\n{\"name\": \"g\", \"arguments\": {\"x\": 5}}\n</tool_call>"));
  EXPECT_FALSE((*g)->accepts("<tool_call>\n{\"name\": \"f\", \"arguments\": {\"x\": 5}}"));
}

}  // namespace
}  // namespace r1::constrain
