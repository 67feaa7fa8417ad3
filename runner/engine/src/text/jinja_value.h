// Values of the Jinja interpreter: Python-like dynamic values with shared
// (reference) lists and dicts, as Jinja2 has them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "r1/base/status.h"

namespace r1::engine::jinja::detail {

struct value;
class interpreter;

using array_ptr = std::shared_ptr<std::vector<value>>;
struct object_data;
using object_ptr = std::shared_ptr<object_data>;

struct call_args {
  std::vector<value> pos;
  std::vector<std::pair<std::string, value>> kw;
  const value* kwarg(std::string_view name) const;
};

struct callable {
  std::string name;
  std::function<result<value>(interpreter&, call_args&)> fn;
};
using callable_ptr = std::shared_ptr<const callable>;

enum class kind { undefined, none, boolean, integer, floating, string, array, object, function };

struct value {
  kind k = kind::undefined;
  bool b = false;
  std::int64_t i = 0;
  double f = 0;
  std::string s;  // string payload; for undefined, the name that was missing
  array_ptr a;
  object_ptr o;
  callable_ptr c;
  bool tuple = false;  // an array that prints as a Python tuple: (a, b)
  // For arrays (immutable once built): nesting depth and whether a namespace
  // is inside. Objects keep theirs in object_data (namespaces are mutable).
  std::uint32_t nest = 0;
  bool holds_namespace = false;

  static value undefined(std::string name = {}) {
    value v;
    v.s = std::move(name);
    return v;
  }
  static value none() { value v; v.k = kind::none; return v; }
  static value boolean(bool x) { value v; v.k = kind::boolean; v.b = x; return v; }
  static value integer(std::int64_t x) { value v; v.k = kind::integer; v.i = x; return v; }
  static value floating(double x) { value v; v.k = kind::floating; v.f = x; return v; }
  static value string(std::string x) { value v; v.k = kind::string; v.s = std::move(x); return v; }
  static value array(std::vector<value> items = {});
  static value make_tuple(std::vector<value> items);
  static value object();
  static value function(std::string name, std::function<result<value>(interpreter&, call_args&)> fn);

  bool is_undefined() const { return k == kind::undefined; }
  bool is_none() const { return k == kind::none; }
  bool is_string() const { return k == kind::string; }
  bool is_number() const { return k == kind::integer || k == kind::floating || k == kind::boolean; }
  bool is_array() const { return k == kind::array; }
  bool is_object() const { return k == kind::object; }
  double as_double() const { return k == kind::floating ? f : static_cast<double>(k == kind::boolean ? b : i); }
};

struct object_data {
  std::vector<std::pair<std::string, value>> items;
  bool is_namespace = false;  // made by namespace(): attributes may be assigned
  std::uint32_t nest = 1;
  bool holds_namespace = false;
  const value* find(std::string_view key) const;
  // Adds or replaces; keeps nest and holds_namespace up to date.
  void set(const std::string& key, value v);
};

// Nesting depth of lists/dicts in v (0 for scalars) and whether v is or
// holds a namespace. Both are O(1): they are maintained as values are built.
std::uint32_t nest_of(const value& v);
bool has_namespace(const value& v);

// Python truthiness.
bool truthy(const value& v);
// Python str(): what {{ v }} prints. Undefined prints as "".
std::string to_str(const value& v);
// Python repr() (strings quoted), used inside printed lists and dicts.
std::string to_repr(const value& v);
// Python ==.
bool equals(const value& a, const value& b);
// Python <; invalid_argument for unorderable types.
result<bool> less(const value& a, const value& b);
// Python-style float formatting (repr): 1.0, 0.1, 1e+20, inf, nan.
std::string format_float(double d);

// JSON in/out. from_json keeps key order.
value from_json(const nlohmann::ordered_json& j);
struct json_format {
  int indent = -1;              // < 0: one line
  std::string item_separator;   // default ", " (one line) or "," (indented)
  std::string key_separator = ": ";
  bool sort_keys = false;
  bool ensure_ascii = false;
};
// Python json.dumps; invalid_argument for values JSON cannot hold.
result<std::string> to_json(const value& v, const json_format& fmt);

// Human name of a kind for error messages ("str", "list", "dict"...).
const char* kind_name(const value& v);

}  // namespace r1::engine::jinja::detail
