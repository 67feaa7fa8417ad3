// Syntax tree of a parsed template, and the lexer/parser entry points.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jinja_value.h"
#include "r1/engine/jinja.h"

namespace r1::engine::jinja::detail {

enum class expr_kind {
  literal,   // lit
  name,      // name
  getattr,   // kids[0].name
  getitem,   // kids[0][kids[1]]
  slice,     // kids[0][kids[1]:kids[2]:kids[3]] (absent parts are null)
  call,      // kids[0](kids[1..], kwargs)
  filter,    // kids[0] | name(kids[1..], kwargs)
  test,      // kids[0] is [not] name(kids[1..])
  not_,      // not kids[0]
  neg,       // -kids[0]
  pos,       // +kids[0]
  binary,    // kids[0] <name> kids[1]: + - * / // % ** ~
  compare,   // kids[0] ops[0] kids[1] ops[1] kids[2] ...: == != < <= > >= in notin
  and_,
  or_,
  cond,      // kids[1] if kids[0] else kids[2] (kids[2] may be null)
  list,      // [kids...]
  tuple,     // (kids...)
  dict,      // {kids[0]: kids[1], ...}
};

struct expr;
using expr_ptr = std::unique_ptr<expr>;

struct expr {
  expr_kind kind = expr_kind::literal;
  int line = 0;
  value lit;
  std::string name;
  std::size_t depth = 1;  // height of this subtree (bounded by options::max_depth)
  bool negated = false;  // "is not"
  std::vector<std::string> ops;  // compare operators
  std::vector<expr_ptr> kids;
  std::vector<std::pair<std::string, expr_ptr>> kwargs;
};

enum class stmt_kind { text, output, if_, for_, set, set_block, macro, break_, continue_, scope };

struct stmt;
using stmt_ptr = std::unique_ptr<stmt>;
using body = std::vector<stmt_ptr>;

struct stmt {
  stmt_kind kind = stmt_kind::text;
  int line = 0;
  std::string text;                                // text
  expr_ptr e;                                      // output / set value / for iterable
  std::vector<std::pair<expr_ptr, body>> branches;  // if: (condition or null for else, body)
  std::vector<std::string> targets;                // for / set names; set_attr: {object, attribute}
  bool attr_target = false;                        // set ns.attr = ...
  expr_ptr loop_filter;                            // for ... if cond
  body main, alt;                                  // for body / else; set_block, macro, scope body
  std::string name;                                // macro name
  std::vector<std::string> params;                 // macro parameters
  std::vector<expr_ptr> defaults;                  // per parameter, null when none
};

// One lexical piece of a template: text, or the inside of a tag.
enum class segment_kind { text, variable, block, comment };
struct segment {
  segment_kind kind;
  std::string content;
  int line;
};

// Splits a template into segments, applying newline normalisation and the
// whitespace rules (-, +, trim_blocks, lstrip_blocks).
result<std::vector<segment>> lex_template(std::string_view source, const options& opts);

// Expression tokens inside a tag.
enum class token_kind { name, string, integer, floating, op, end };
struct token {
  token_kind kind;
  std::string text;  // name, operator, or unescaped string
  std::int64_t i = 0;
  double f = 0;
};
result<std::vector<token>> lex_expression(std::string_view src, int line);

struct program {
  body root;
  options opts;
};

result<std::shared_ptr<program>> parse_program(std::string_view source, const options& opts);

}  // namespace r1::engine::jinja::detail
