// The tree-walking interpreter behind template_program::render.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "jinja_ast.h"

namespace r1::engine::jinja::detail {

class interpreter {
 public:
  interpreter(const program& prog, const nlohmann::ordered_json& variables);
  result<std::string> run();

  // Used by builtins and macros.
  result<value> call(const value& fn, call_args& args, int line);
  const options& opts() const { return prog_.opts; }
  // Counts loop iterations (and other repeated work) against the limit.
  status spend_iterations(std::size_t n);
  // Fails when a produced string or list is over the size limits.
  status check_size(const value& v) const;

 private:
  enum class flow { normal, break_loop, continue_loop };

  status exec_body(const body& b, std::string& out);
  status exec(const stmt& s, std::string& out);
  status exec_for(const stmt& s, std::string& out);
  status exec_set(const stmt& s);
  value make_macro(const stmt& s);
  status append(std::string& out, const std::string& text) const;

  result<value> eval(const expr& e);
  result<value> eval_inner(const expr& e);
  result<value> eval_compare(const expr& e);
  result<value> eval_binary(const expr& e);
  result<value> eval_call(const expr& e);
  result<call_args> eval_args(const expr& e, std::size_t first_arg);

  value lookup(const std::string& name) const;
  void assign(const std::string& name, value v);

  // Bounds the native stack: nested statements, expressions and macro calls together.
  struct recursion_guard {
    interpreter& in;
    explicit recursion_guard(interpreter& i) : in(i) { ++in.recursion_; }
    ~recursion_guard() { --in.recursion_; }
    status check() const {
      if (in.recursion_ > 4 * in.prog_.opts.max_depth) {
        return resource_exhausted("template: evaluation nested too deeply (recursive macros?)");
      }
      return ok_status();
    }
  };

  const program& prog_;
  std::size_t recursion_ = 0;
  std::vector<std::unordered_map<std::string, value>> frames_;
  std::size_t floor_ = 1;  // frames below this (except 0) are hidden (macro calls)
  flow flow_ = flow::normal;
  std::size_t iterations_ = 0;
  std::size_t call_depth_ = 0;
};

status type_error(int line, const std::string& msg);
// True when a JSON value nests deeper than limit (checked before conversion).
bool json_depth_exceeds(const nlohmann::ordered_json& j, std::size_t limit);

// Attribute and item access with Jinja2's rules (methods of str/list/dict
// come back as bound functions).
result<value> get_attr(const value& obj, const std::string& name, int line);
result<value> get_item(const value& obj, const value& key, int line);
result<value> slice(const value& obj, const value& start, const value& stop, const value& step, int line);

// Builtins (jinja_builtins.cpp).
result<value> apply_filter(interpreter& in, const std::string& name, const value& subject, call_args& args, int line);
result<bool> apply_test(interpreter& in, const std::string& name, const value& subject, call_args& args, int line);
value bound_method(const value& receiver, const std::string& name);
bool has_method(const value& receiver, const std::string& name);
void add_globals(std::unordered_map<std::string, value>& frame);
// Items a for loop walks: list items, dict keys, string characters.
result<std::vector<value>> iterate(const value& v, int line);
// Code points of a string as one-character strings.
std::vector<std::string> characters(const std::string& s);

}  // namespace r1::engine::jinja::detail
