// Jinja behaviour with hand-written expectations: whitespace rules, errors,
// and the limits that keep untrusted templates from crashing or hanging.
#include <gtest/gtest.h>

#include "r1/engine/jinja.h"

namespace r1::engine::jinja {
namespace {

using nlohmann::ordered_json;

result<std::string> render(std::string_view src, const ordered_json& vars = ordered_json::object(),
                           const options& opts = {}) {
  R1_ASSIGN_OR_RETURN(template_program t, template_program::parse(src, opts));
  return t.render(vars);
}

std::string ok(std::string_view src, const ordered_json& vars = ordered_json::object()) {
  auto r = render(src, vars);
  EXPECT_TRUE(r.ok()) << src << ": " << r.error().to_string();
  return r.ok() ? r.value() : std::string("<error>");
}

TEST(jinja, whitespace_control) {
  EXPECT_EQ(ok("{% if true %}\n  x\n{% endif %}\n"), "  x\n");  // trim_blocks + lstrip_blocks, final newline dropped
  EXPECT_EQ(ok("a  {%- if true -%}  b  {%- endif -%}  c"), "abc");
  EXPECT_EQ(ok("a\n  {%+ if true %}b{% endif %}"), "a\n  b");
  EXPECT_EQ(ok("a\n  {{ 'v' }}\n"), "a\n  v");  // expressions are not lstripped or trimmed
  EXPECT_EQ(ok("  {# note #}\nx"), "x");
  EXPECT_EQ(ok("x {{- ' y ' -}} z"), "x y z");
  EXPECT_EQ(ok("line\r\nnext\r\n"), "line\nnext");
  options keep;
  keep.keep_trailing_newline = true;
  keep.trim_blocks = false;
  keep.lstrip_blocks = false;
  auto r = render("{% if true %}\nx\n{% endif %}\n", ordered_json::object(), keep);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), "\nx\n\n");
}

TEST(jinja, expressions_follow_python) {
  EXPECT_EQ(ok("{{ 'a' + 'b' ~ 1 ~ none ~ true }}"), "ab1NoneTrue");
  EXPECT_EQ(ok("{{ [1, 2, 3][-1] }} {{ 'hello'[1:3] }} {{ [1, 2, 3][::-1] }}"), "3 el [3, 2, 1]");
  EXPECT_EQ(ok("{{ 'a</think>b</think>c'.split('</think>')[-1] }}"), "c");
  EXPECT_EQ(ok("{{ x.y is defined }} {{ x is none }} {{ y | length }}", {{"x", nullptr}}), "False True 0");
  EXPECT_FALSE(render("{{ x | length }}", {{"x", nullptr}}).ok());  // len(None) is a TypeError
  EXPECT_EQ(ok("{{ undefined_thing }}|{{ d.missing }}|", {{"d", ordered_json::object()}}), "||");
  EXPECT_EQ(ok("{{ 'é😀'|length }} {{ 'é😀'[1] }}"), "2 😀");
  EXPECT_EQ(ok("{{ 2 ** 62 * 4 }} {{ -9223372036854775807 - 10 }}"), "1.8446744073709552e+19 -9.223372036854776e+18");
  EXPECT_EQ(ok("{{ {'b': 1, 'a': [true, none]} | tojson }}"), "{\"b\": 1, \"a\": [true, null]}");
  EXPECT_EQ(ok("{{ 'ü<' | tojson }} {{ 'ü' | tojson(ensure_ascii=true) }}"), "\"ü<\" \"\\u00fc\"");
}

TEST(jinja, namespaces_and_scoping) {
  EXPECT_EQ(ok("{% set ns = namespace(n=0) %}{% for i in range(3) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}"),
            "3");
  // A plain set inside a loop does not leak out of it (Jinja2 scoping).
  EXPECT_EQ(ok("{% set n = 1 %}{% for i in range(3) %}{% set n = 5 %}{% endfor %}{{ n }}"), "1");
  EXPECT_EQ(ok("{% set n = 1 %}{% if true %}{% set n = 5 %}{% endif %}{{ n }}"), "5");
  EXPECT_EQ(ok("{% macro m(a, b='B') %}{{ a }}{{ b }}{{ top }}{% endmacro %}{% set top = 'T' %}{{ m(1) }}{{ m(2, b=3) }}"),
            "1BT23T");
}

TEST(jinja, errors_name_the_line) {
  auto e = render("line1\n{% if x %}\n{{ 1 + }}\n{% endif %}");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code(), error_code::invalid_argument);
  EXPECT_NE(e.error().message().find("line 3"), std::string::npos) << e.error().message();
  for (const char* bad : {"{% if x %}", "{{ x", "{% for x y %}{% endfor %}", "{% foo %}", "{% endif %}",
                          "{{ 'unterminated }}", "{{ x | }}", "{% set %}", "{{ a[1:2:3:4] }}", "{{ @ }}"}) {
    EXPECT_FALSE(render(bad).ok()) << bad;
  }
}

TEST(jinja, runtime_errors) {
  auto r = render("{{ raise_exception('roles must alternate') }}");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("roles must alternate"), std::string::npos);
  EXPECT_FALSE(render("{{ x.y.z }}").ok());  // attribute of undefined
  EXPECT_FALSE(render("{{ 'a' + 1 }}").ok());
  EXPECT_FALSE(render("{{ x + 'a' }}").ok());
  EXPECT_FALSE(render("{% set d = {} %}{% set d.x = 1 %}").ok());  // not a namespace
  EXPECT_FALSE(render("{{ 1 / 0 }}").ok());
  EXPECT_FALSE(render("{{ x | nosuchfilter }}").ok());
  EXPECT_FALSE(render("{{ 'a' in 3 }}").ok());
}

TEST(jinja, limits_stop_runaway_templates) {
  options small;
  small.max_loop_iterations = 10'000;
  small.max_output_bytes = 1 << 16;
  small.max_depth = 64;
  auto code_of = [&](std::string_view src) {
    auto r = render(src, ordered_json::object(), small);
    return r.ok() ? error_code::ok : r.error().code();
  };
  EXPECT_EQ(code_of("{% for i in range(100000) %}{% endfor %}"), error_code::resource_exhausted);
  EXPECT_EQ(code_of("{% for i in range(200) %}{% for j in range(200) %}{% endfor %}{% endfor %}"),
            error_code::resource_exhausted);
  EXPECT_EQ(code_of("{% for i in range(5000) %}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{% endfor %}"),
            error_code::resource_exhausted);
  EXPECT_EQ(code_of("{% set ns = namespace(s='ab') %}{% for i in range(100) %}{% set ns.s = ns.s + ns.s %}{% endfor %}"),
            error_code::resource_exhausted);
  EXPECT_EQ(code_of("{{ 'x' * 100000000000 }}"), error_code::resource_exhausted);
  EXPECT_EQ(code_of("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"), error_code::resource_exhausted);
  EXPECT_EQ(code_of("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}"), error_code::resource_exhausted);
  std::string nested;
  for (int i = 0; i < 500; ++i) nested += "{% if true %}";
  EXPECT_EQ(code_of("{{ " + nested + " }}"), error_code::invalid_argument);
  for (int i = 0; i < 500; ++i) nested += "{% endif %}";
  EXPECT_EQ(code_of(nested), error_code::resource_exhausted);
  // Left-deep chains are as deep as they are long.
  std::string chain = "{{ 1";
  for (int i = 0; i < 100000; ++i) chain += " + 1";
  EXPECT_EQ(code_of(chain + " }}"), error_code::resource_exhausted);
  std::string filters = "{{ 'x'";
  for (int i = 0; i < 100000; ++i) filters += "|e";
  EXPECT_EQ(code_of(filters + " }}"), error_code::resource_exhausted);
  // Values nested without end.
  EXPECT_EQ(code_of("{% set ns = namespace(l=[]) %}{% for i in range(5000) %}{% set ns.l = [ns.l] %}{% endfor %}"),
            error_code::resource_exhausted);
}

TEST(jinja, values_stay_acyclic) {
  // Lists are immutable, as in the sandbox Hugging Face uses.
  EXPECT_FALSE(render("{% set l = [] %}{{ l.append(l) }}").ok());
  EXPECT_FALSE(render("{% set a = namespace() %}{% set a.self = a %}{{ a }}").ok());
  EXPECT_FALSE(render("{% set a = namespace() %}{% set b = namespace(x=a) %}{% set a.b = [b] %}").ok());
  EXPECT_EQ(ok("{% set a = namespace(n=[1]) %}{% set a.n = a.n + [2] %}{{ a.n }}"), "[1, 2]");
}

TEST(jinja, deeply_nested_variables_are_refused) {
  ordered_json deep = "x";
  for (int i = 0; i < 1000; ++i) deep = ordered_json::array({deep});
  auto r = render("{{ v }}", {{"v", deep}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), error_code::invalid_argument);
  ordered_json ok_depth = "x";
  for (int i = 0; i < 50; ++i) ok_depth = ordered_json::array({ok_depth});
  EXPECT_TRUE(render("{{ v | length }}", {{"v", ok_depth}}).ok());
}

}  // namespace
}  // namespace r1::engine::jinja
