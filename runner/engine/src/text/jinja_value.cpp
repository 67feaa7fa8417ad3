#include "jinja_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "r1/engine/utf8.h"

namespace r1::engine::jinja::detail {

const value* call_args::kwarg(std::string_view name) const {
  for (const auto& [k, v] : kw) {
    if (k == name) return &v;
  }
  return nullptr;
}

value value::array(std::vector<value> items) {
  value v;
  v.k = kind::array;
  v.nest = 1;
  for (const value& item : items) {
    v.nest = std::max(v.nest, nest_of(item) + 1);
    v.holds_namespace = v.holds_namespace || has_namespace(item);
  }
  v.a = std::make_shared<std::vector<value>>(std::move(items));
  return v;
}

std::uint32_t nest_of(const value& v) {
  if (v.k == kind::array) return v.nest;
  if (v.k == kind::object) return v.o->nest;
  return 0;
}

bool has_namespace(const value& v) {
  if (v.k == kind::array) return v.holds_namespace;
  if (v.k == kind::object) return v.o->is_namespace || v.o->holds_namespace;
  return false;
}

value value::make_tuple(std::vector<value> items) {
  value v = array(std::move(items));
  v.tuple = true;
  return v;
}

value value::object() {
  value v;
  v.k = kind::object;
  v.o = std::make_shared<object_data>();
  return v;
}

value value::function(std::string name, std::function<result<value>(interpreter&, call_args&)> fn) {
  value v;
  v.k = kind::function;
  v.c = std::make_shared<const callable>(callable{std::move(name), std::move(fn)});
  return v;
}

const value* object_data::find(std::string_view key) const {
  for (const auto& [k, v] : items) {
    if (k == key) return &v;
  }
  return nullptr;
}

void object_data::set(const std::string& key, value v) {
  nest = std::max(nest, nest_of(v) + 1);
  holds_namespace = holds_namespace || has_namespace(v);
  for (auto& [k, old] : items) {
    if (k == key) {
      old = std::move(v);
      return;
    }
  }
  items.emplace_back(key, std::move(v));
}

bool truthy(const value& v) {
  switch (v.k) {
    case kind::undefined:
    case kind::none: return false;
    case kind::boolean: return v.b;
    case kind::integer: return v.i != 0;
    case kind::floating: return v.f != 0.0;
    case kind::string: return !v.s.empty();
    case kind::array: return !v.a->empty();
    case kind::object: return v.o->is_namespace || !v.o->items.empty();
    case kind::function: return true;
  }
  return false;
}

std::string format_float(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  std::string sign;
  if (!sci.empty() && sci[0] == '-') {
    sign = "-";
    sci.erase(0, 1);
  }
  const std::size_t e = sci.find('e');
  std::string digits = sci.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  const int exp = std::stoi(sci.substr(e + 1));
  const int n = static_cast<int>(digits.size());
  if (exp >= -4 && exp < 16) {
    const int point = exp + 1;
    if (point <= 0) return sign + "0." + std::string(static_cast<std::size_t>(-point), '0') + digits;
    if (point >= n) return sign + digits + std::string(static_cast<std::size_t>(point - n), '0') + ".0";
    return sign + digits.substr(0, static_cast<std::size_t>(point)) + "." + digits.substr(static_cast<std::size_t>(point));
  }
  std::string out = sign + digits.substr(0, 1);
  if (n > 1) out += "." + digits.substr(1);
  char ebuf[16];
  std::snprintf(ebuf, sizeof ebuf, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
  return out + ebuf;
}

namespace {

void append_hex_escape(std::string& out, const char* prefix, unsigned v, int width) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%s%0*x", prefix, width, v);
  out += buf;
}

std::string repr_string(const std::string& s) {
  const bool has_single = s.find('\'') != std::string::npos;
  const bool has_double = s.find('"') != std::string::npos;
  const char quote = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, quote);
  std::size_t pos = 0;
  while (pos < s.size()) {
    char32_t cp = 0;
    const std::size_t n = utf8::decode(s, pos, &cp);
    if (cp == static_cast<char32_t>(quote) || cp == U'\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp == U'\n') {
      out += "\\n";
    } else if (cp == U'\r') {
      out += "\\r";
    } else if (cp == U'\t') {
      out += "\\t";
    } else if (cp < 0x20 || (cp >= 0x7F && cp <= 0xA0) || cp == 0xAD) {
      append_hex_escape(out, "\\x", static_cast<unsigned>(cp), 2);
    } else {
      out.append(s, pos, n);
    }
    pos += n;
  }
  out += quote;
  return out;
}

}  // namespace

std::string to_repr(const value& v) {
  if (v.k == kind::string) return repr_string(v.s);
  return to_str(v);
}

std::string to_str(const value& v) {
  switch (v.k) {
    case kind::undefined: return "";
    case kind::none: return "None";
    case kind::boolean: return v.b ? "True" : "False";
    case kind::integer: return std::to_string(v.i);
    case kind::floating: return format_float(v.f);
    case kind::string: return v.s;
    case kind::array: {
      std::string out = v.tuple ? "(" : "[";
      for (std::size_t i = 0; i < v.a->size(); ++i) {
        if (i) out += ", ";
        out += to_repr((*v.a)[i]);
      }
      if (v.tuple && v.a->size() == 1) out += ",";
      return out + (v.tuple ? ")" : "]");
    }
    case kind::object: {
      std::string out = v.o->is_namespace ? "<Namespace {" : "{";
      bool first = true;
      for (const auto& [key, item] : v.o->items) {
        if (!first) out += ", ";
        first = false;
        out += repr_string(key) + ": " + to_repr(item);
      }
      return out + (v.o->is_namespace ? "}>" : "}");
    }
    case kind::function: return "<function " + v.c->name + ">";
  }
  return "";
}

bool equals(const value& a, const value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.k != kind::floating && b.k != kind::floating) {
      return (a.k == kind::boolean ? a.b : a.i) == (b.k == kind::boolean ? b.b : b.i);
    }
    return a.as_double() == b.as_double();
  }
  if (a.k != b.k) return false;
  switch (a.k) {
    case kind::undefined:
    case kind::none: return true;
    case kind::string: return a.s == b.s;
    case kind::array:
      if (a.a->size() != b.a->size()) return false;
      for (std::size_t i = 0; i < a.a->size(); ++i) {
        if (!equals((*a.a)[i], (*b.a)[i])) return false;
      }
      return true;
    case kind::object:
      if (a.o == b.o) return true;
      if (a.o->items.size() != b.o->items.size()) return false;
      for (const auto& [key, item] : a.o->items) {
        const value* other = b.o->find(key);
        if (other == nullptr || !equals(item, *other)) return false;
      }
      return true;
    case kind::function: return a.c == b.c;
    default: return false;
  }
}

result<bool> less(const value& a, const value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.k != kind::floating && b.k != kind::floating) {
      return (a.k == kind::boolean ? a.b : a.i) < (b.k == kind::boolean ? b.b : b.i);
    }
    return a.as_double() < b.as_double();
  }
  if (a.k == kind::string && b.k == kind::string) return a.s < b.s;  // UTF-8 order is code point order
  if (a.k == kind::array && b.k == kind::array) {
    const std::size_t n = std::min(a.a->size(), b.a->size());
    for (std::size_t i = 0; i < n; ++i) {
      if (equals((*a.a)[i], (*b.a)[i])) continue;
      return less((*a.a)[i], (*b.a)[i]);
    }
    return a.a->size() < b.a->size();
  }
  return invalid_argument(std::string("'<' not supported between '") + kind_name(a) + "' and '" + kind_name(b) + "'");
}

value from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return value::none();
    case nlohmann::ordered_json::value_t::boolean: return value::boolean(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return value::integer(j.get<std::int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const auto u = j.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(INT64_MAX)) return value::floating(static_cast<double>(u));
      return value::integer(static_cast<std::int64_t>(u));
    }
    case nlohmann::ordered_json::value_t::number_float: return value::floating(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return value::string(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      std::vector<value> items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(from_json(e));
      return value::array(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      value v = value::object();
      for (const auto& [k, e] : j.items()) {
        value item = from_json(e);
        v.o->nest = std::max(v.o->nest, nest_of(item) + 1);
        v.o->items.emplace_back(k, std::move(item));
      }
      return v;
    }
    default: return value::none();
  }
}

namespace {

void json_string(std::string& out, const std::string& s, bool ensure_ascii) {
  out += '"';
  std::size_t pos = 0;
  while (pos < s.size()) {
    char32_t cp = 0;
    const std::size_t n = utf8::decode(s, pos, &cp);
    switch (cp) {
      case U'"': out += "\\\""; break;
      case U'\\': out += "\\\\"; break;
      case U'\n': out += "\\n"; break;
      case U'\r': out += "\\r"; break;
      case U'\t': out += "\\t"; break;
      case U'\b': out += "\\b"; break;
      case U'\f': out += "\\f"; break;
      default:
        if (cp < 0x20) {
          append_hex_escape(out, "\\u", static_cast<unsigned>(cp), 4);
        } else if (ensure_ascii && cp >= 0x80) {
          if (cp >= 0x10000) {
            const char32_t v = cp - 0x10000;
            append_hex_escape(out, "\\u", static_cast<unsigned>(0xD800 + (v >> 10)), 4);
            append_hex_escape(out, "\\u", static_cast<unsigned>(0xDC00 + (v & 0x3FF)), 4);
          } else {
            append_hex_escape(out, "\\u", static_cast<unsigned>(cp), 4);
          }
        } else {
          out.append(s, pos, n);
        }
    }
    pos += n;
  }
  out += '"';
}

status json_value(std::string& out, const value& v, const json_format& fmt, int level) {
  if (level > 512) return resource_exhausted("tojson: value nested too deeply");
  const std::string item_sep = fmt.item_separator.empty() ? (fmt.indent >= 0 ? "," : ", ") : fmt.item_separator;
  auto newline = [&](int lvl) {
    if (fmt.indent >= 0) out.append(1, '\n').append(static_cast<std::size_t>(fmt.indent * lvl), ' ');
  };
  switch (v.k) {
    case kind::none: out += "null"; return ok_status();
    case kind::boolean: out += v.b ? "true" : "false"; return ok_status();
    case kind::integer: out += std::to_string(v.i); return ok_status();
    case kind::floating:
      if (std::isnan(v.f)) out += "NaN";
      else if (std::isinf(v.f)) out += v.f < 0 ? "-Infinity" : "Infinity";
      else out += format_float(v.f);
      return ok_status();
    case kind::string: json_string(out, v.s, fmt.ensure_ascii); return ok_status();
    case kind::array: {
      if (v.a->empty()) { out += "[]"; return ok_status(); }
      out += '[';
      for (std::size_t i = 0; i < v.a->size(); ++i) {
        if (i) out += item_sep;
        newline(level + 1);
        R1_RETURN_IF_ERROR(json_value(out, (*v.a)[i], fmt, level + 1));
      }
      newline(level);
      out += ']';
      return ok_status();
    }
    case kind::object: {
      if (v.o->items.empty()) { out += "{}"; return ok_status(); }
      std::vector<const std::pair<std::string, value>*> items;
      for (const auto& item : v.o->items) items.push_back(&item);
      if (fmt.sort_keys) {
        std::stable_sort(items.begin(), items.end(), [](auto* x, auto* y) { return x->first < y->first; });
      }
      out += '{';
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out += item_sep;
        newline(level + 1);
        json_string(out, items[i]->first, fmt.ensure_ascii);
        out += fmt.key_separator;
        R1_RETURN_IF_ERROR(json_value(out, items[i]->second, fmt, level + 1));
      }
      newline(level);
      out += '}';
      return ok_status();
    }
    default:
      return invalid_argument(std::string("tojson: object of type ") + kind_name(v) + " is not JSON serializable");
  }
}

}  // namespace

result<std::string> to_json(const value& v, const json_format& fmt) {
  std::string out;
  R1_RETURN_IF_ERROR(json_value(out, v, fmt, 0));
  return out;
}

const char* kind_name(const value& v) {
  switch (v.k) {
    case kind::undefined: return "Undefined";
    case kind::none: return "NoneType";
    case kind::boolean: return "bool";
    case kind::integer: return "int";
    case kind::floating: return "float";
    case kind::string: return "str";
    case kind::array: return "list";
    case kind::object: return v.o->is_namespace ? "Namespace" : "dict";
    case kind::function: return "function";
  }
  return "?";
}

}  // namespace r1::engine::jinja::detail
