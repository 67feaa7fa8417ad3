// Filters, tests and global functions.
#include <algorithm>
#include <cmath>
#include <cctype>
#include <cerrno>
#include <ctime>

#include "jinja_interp.h"
#include "jinja_text.h"
#include "r1/engine/utf8.h"

namespace r1::engine::jinja::detail {
namespace {

using filter_fn = result<value> (*)(interpreter&, const value&, call_args&, int);

// Argument i by position or by keyword, else the fallback.
value arg(const call_args& args, std::size_t i, const char* name, value fallback) {
  if (i < args.pos.size()) return args.pos[i];
  if (const value* v = args.kwarg(name)) return *v;
  return fallback;
}

std::int64_t length_of(const value& v) {
  switch (v.k) {
    case kind::string: return static_cast<std::int64_t>(utf8::to_code_points(v.s).size());
    case kind::array: return static_cast<std::int64_t>(v.a->size());
    case kind::object: return static_cast<std::int64_t>(v.o->items.size());
    default: return 0;
  }
}

result<value> f_length(interpreter&, const value& v, call_args&, int line) {
  if (v.k != kind::string && v.k != kind::array && v.k != kind::object && v.k != kind::undefined) {
    return type_error(line, std::string("object of type '") + kind_name(v) + "' has no len()");
  }
  return value::integer(length_of(v));
}

result<value> f_trim(interpreter&, const value& v, call_args& args, int) {
  const value chars = arg(args, 0, "chars", value::none());
  const std::string s = to_str(v);
  return value::string(text::strip(s, chars.k == kind::string ? &chars.s : nullptr, true, true));
}

result<value> f_tojson(interpreter&, const value& v, call_args& args, int line) {
  // Hugging Face's chat-template tojson: (ensure_ascii=False, indent=None, separators=None, sort_keys=False).
  json_format fmt;
  fmt.ensure_ascii = truthy(arg(args, 0, "ensure_ascii", value::boolean(false)));
  const value indent = arg(args, 1, "indent", value::none());
  if (indent.k == kind::integer) fmt.indent = static_cast<int>(std::clamp<std::int64_t>(indent.i, 0, 64));
  else if (!indent.is_none()) return type_error(line, "tojson: indent must be an integer");
  const value seps = arg(args, 2, "separators", value::none());
  if (seps.k == kind::array && seps.a->size() == 2 && (*seps.a)[0].is_string() && (*seps.a)[1].is_string()) {
    fmt.item_separator = (*seps.a)[0].s;
    fmt.key_separator = (*seps.a)[1].s;
  }
  fmt.sort_keys = truthy(arg(args, 3, "sort_keys", value::boolean(false)));
  result<std::string> j = to_json(v, fmt);
  if (!j.ok()) return type_error(line, j.error().message());
  return value::string(std::move(j).value());
}

result<value> f_items(interpreter& in, const value& v, call_args& args, int line) {
  if (v.k == kind::undefined) return value::array();
  if (v.k != kind::object) return type_error(line, std::string("items: expected a mapping, got ") + kind_name(v));
  return bound_method(v, "items").c->fn(in, args);
}

result<value> f_join(interpreter& in, const value& v, call_args& args, int line) {
  const value sep = arg(args, 0, "d", value::string(""));
  const value attribute = arg(args, 1, "attribute", value::none());
  R1_ASSIGN_OR_RETURN(std::vector<value> items, iterate(v, line));
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += to_str(sep);
    if (attribute.k == kind::string) {
      R1_ASSIGN_OR_RETURN(value a, get_attr(items[i], attribute.s, line));
      out += to_str(a);
    } else {
      out += to_str(items[i]);
    }
  }
  value r = value::string(std::move(out));
  R1_RETURN_IF_ERROR(in.check_size(r));
  return r;
}

result<value> f_list(interpreter&, const value& v, call_args&, int line) {
  R1_ASSIGN_OR_RETURN(std::vector<value> items, iterate(v, line));
  return value::array(std::move(items));
}

result<value> f_first_last(const value& v, bool first, int line) {
  R1_ASSIGN_OR_RETURN(std::vector<value> items, iterate(v, line));
  if (items.empty()) return value::undefined(first ? "first" : "last");
  return first ? items.front() : items.back();
}
result<value> f_first(interpreter&, const value& v, call_args&, int line) { return f_first_last(v, true, line); }
result<value> f_last(interpreter&, const value& v, call_args&, int line) { return f_first_last(v, false, line); }

result<value> f_default(interpreter&, const value& v, call_args& args, int) {
  const value def = arg(args, 0, "default_value", value::string(""));
  const bool boolean = truthy(arg(args, 1, "boolean", value::boolean(false)));
  if (v.k == kind::undefined || (boolean && !truthy(v))) return def;
  return v;
}

result<value> f_upper(interpreter&, const value& v, call_args&, int) { return value::string(text::upper(to_str(v))); }
result<value> f_lower(interpreter&, const value& v, call_args&, int) { return value::string(text::lower(to_str(v))); }
result<value> f_capitalize(interpreter&, const value& v, call_args&, int) {
  return value::string(text::capitalize(to_str(v)));
}
result<value> f_title(interpreter&, const value& v, call_args&, int) { return value::string(text::title(to_str(v))); }
result<value> f_string(interpreter&, const value& v, call_args&, int) { return value::string(to_str(v)); }
result<value> f_safe(interpreter&, const value& v, call_args&, int) { return v; }
result<value> f_escape(interpreter&, const value& v, call_args&, int) {
  return value::string(text::html_escape(to_str(v)));
}

result<value> f_replace(interpreter& in, const value& v, call_args& args, int line) {
  const value from = arg(args, 0, "old", value::undefined()), to = arg(args, 1, "new", value::undefined());
  if (from.k != kind::string || to.k != kind::string) return type_error(line, "replace: old and new must be strings");
  const value count = arg(args, 2, "count", value::none());
  value r = value::string(text::replace(to_str(v), from.s, to.s, count.k == kind::integer ? count.i : -1));
  R1_RETURN_IF_ERROR(in.check_size(r));
  return r;
}

result<value> f_int(interpreter&, const value& v, call_args& args, int) {
  const value def = arg(args, 0, "default", value::integer(0));
  if (v.k == kind::integer) return v;
  if (v.k == kind::boolean) return value::integer(v.b);
  if (v.k == kind::floating && std::isfinite(v.f) && std::fabs(v.f) < 9.2e18) {
    return value::integer(static_cast<std::int64_t>(v.f));
  }
  if (v.k == kind::string) {
    const std::string s = text::strip(v.s, nullptr, true, true);
    char* end = nullptr;
    errno = 0;
    const long long n = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && end && *end == '\0' && errno == 0) return value::integer(n);
  }
  return def;
}

result<value> f_float(interpreter&, const value& v, call_args& args, int) {
  const value def = arg(args, 0, "default", value::floating(0.0));
  if (v.is_number()) return value::floating(v.as_double());
  if (v.k == kind::string) {
    const std::string s = text::strip(v.s, nullptr, true, true);
    char* end = nullptr;
    const double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end && *end == '\0') return value::floating(d);
  }
  return def;
}

result<value> f_abs(interpreter&, const value& v, call_args&, int line) {
  if (v.k == kind::floating) return value::floating(std::fabs(v.f));
  if (v.k == kind::integer) return v.i == INT64_MIN ? value::floating(9.223372036854775808e18) : value::integer(v.i < 0 ? -v.i : v.i);
  if (v.k == kind::boolean) return value::integer(v.b);
  return type_error(line, std::string("bad operand type for abs(): '") + kind_name(v) + "'");
}

result<value> f_round(interpreter&, const value& v, call_args& args, int line) {
  if (!v.is_number()) return type_error(line, "round: expected a number");
  const value prec = arg(args, 0, "precision", value::integer(0));
  const value method = arg(args, 1, "method", value::string("common"));
  const double scale = std::pow(10.0, static_cast<double>(prec.k == kind::integer ? std::clamp<std::int64_t>(prec.i, -20, 20) : 0));
  double x = v.as_double() * scale;
  if (method.s == "floor") x = std::floor(x);
  else if (method.s == "ceil") x = std::ceil(x);
  else x = std::round(x);
  return value::floating(x / scale);
}

result<value> f_reverse(interpreter&, const value& v, call_args&, int line) {
  if (v.k == kind::string) {
    auto chars = characters(v.s);
    std::string out;
    for (auto it = chars.rbegin(); it != chars.rend(); ++it) out += *it;
    return value::string(std::move(out));
  }
  R1_ASSIGN_OR_RETURN(std::vector<value> items, iterate(v, line));
  std::reverse(items.begin(), items.end());
  return value::array(std::move(items));
}

result<value> sort_key(const value& item, const value& attribute, int line) {
  if (attribute.k != kind::string) return item;
  return get_attr(item, attribute.s, line);
}

result<value> f_sort(interpreter& in, const value& v, call_args& args, int line) {
  const bool reverse = truthy(arg(args, 0, "reverse", value::boolean(false)));
  const value attribute = arg(args, 2, "attribute", value::none());
  R1_ASSIGN_OR_RETURN(std::vector<value> items, iterate(v, line));
  R1_RETURN_IF_ERROR(in.spend_iterations(items.size()));
  std::vector<std::pair<value, value>> keyed;
  for (auto& item : items) {
    R1_ASSIGN_OR_RETURN(value k, sort_key(item, attribute, line));
    keyed.emplace_back(std::move(k), std::move(item));
  }
  status err;
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
    result<bool> r = reverse ? less(b.first, a.first) : less(a.first, b.first);
    if (!r.ok()) {
      err = r.error();
      return false;
    }
    return r.value();
  });
  if (!err.ok()) return type_error(line, err.message());
  std::vector<value> out;
  for (auto& kv : keyed) out.push_back(std::move(kv.second));
  return value::array(std::move(out));
}

result<value> f_dictsort(interpreter& in, const value& v, call_args& args, int line) {
  if (v.k != kind::object) return type_error(line, "dictsort: expected a mapping");
  call_args none;
  R1_ASSIGN_OR_RETURN(value pairs, bound_method(v, "items").c->fn(in, none));
  const bool reverse = truthy(arg(args, 2, "reverse", value::boolean(false)));
  std::stable_sort(pairs.a->begin(), pairs.a->end(), [&](const value& a, const value& b) {
    return reverse ? (*b.a)[0].s < (*a.a)[0].s : (*a.a)[0].s < (*b.a)[0].s;
  });
  return pairs;
}

result<value> f_unique(interpreter& in, const value& v, call_args&, int line) {
  R1_ASSIGN_OR_RETURN(std::vector<value> items, iterate(v, line));
  R1_RETURN_IF_ERROR(in.spend_iterations(items.size() * items.size() / 64 + 1));
  std::vector<value> out;
  for (auto& item : items) {
    if (std::none_of(out.begin(), out.end(), [&](const value& o) { return equals(o, item); })) out.push_back(item);
  }
  return value::array(std::move(out));
}

result<value> f_sum(interpreter&, const value& v, call_args& args, int line) {
  const value attribute = arg(args, 0, "attribute", value::none());
  value total = arg(args, 1, "start", value::integer(0));
  R1_ASSIGN_OR_RETURN(std::vector<value> items, iterate(v, line));
  for (const value& item : items) {
    R1_ASSIGN_OR_RETURN(value x, sort_key(item, attribute, line));
    if (!x.is_number() || !total.is_number()) return type_error(line, "sum: items must be numbers");
    if (total.k != kind::floating && x.k != kind::floating) total = value::integer(total.i + (x.k == kind::boolean ? x.b : x.i));
    else total = value::floating(total.as_double() + x.as_double());
  }
  return total;
}

result<value> f_minmax(const value& v, bool want_min, int line) {
  R1_ASSIGN_OR_RETURN(std::vector<value> items, iterate(v, line));
  if (items.empty()) return value::undefined(want_min ? "min" : "max");
  value best = items[0];
  for (std::size_t i = 1; i < items.size(); ++i) {
    R1_ASSIGN_OR_RETURN(bool lt, want_min ? less(items[i], best) : less(best, items[i]));
    if (lt) best = items[i];
  }
  return best;
}
result<value> f_min(interpreter&, const value& v, call_args&, int line) { return f_minmax(v, true, line); }
result<value> f_max(interpreter&, const value& v, call_args&, int line) { return f_minmax(v, false, line); }

result<value> f_indent(interpreter&, const value& v, call_args& args, int) {
  const value width = arg(args, 0, "width", value::integer(4));
  const bool first = truthy(arg(args, 1, "first", value::boolean(false)));
  const bool blank = truthy(arg(args, 2, "blank", value::boolean(false)));
  const std::string pad = width.k == kind::string ? width.s
                                                  : std::string(static_cast<std::size_t>(std::clamp<std::int64_t>(width.i, 0, 256)), ' ');
  const std::string s = to_str(v);
  std::vector<std::string> lines = text::split(s, "\n", -1, false);
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i) out += "\n";
    const bool pad_this = i == 0 ? first : (blank || !lines[i].empty());
    out += (pad_this ? pad : "") + lines[i];
  }
  return value::string(std::move(out));
}

result<value> f_wordcount(interpreter&, const value& v, call_args&, int) {
  return value::integer(text::count_words(to_str(v)));
}

// select / reject / selectattr / rejectattr.
result<value> select_impl(interpreter& in, const value& v, call_args& args, int line, bool by_attr, bool keep) {
  R1_ASSIGN_OR_RETURN(std::vector<value> items, iterate(v, line));
  std::size_t next = 0;
  value attr;
  if (by_attr) {
    if (args.pos.empty() || args.pos[0].k != kind::string) return type_error(line, "selectattr needs an attribute name");
    attr = args.pos[next++];
  }
  call_args test_args;
  std::string test_name;
  if (next < args.pos.size()) {
    if (args.pos[next].k != kind::string) return type_error(line, "select: the test name must be a string");
    test_name = args.pos[next++].s;
    test_args.pos.assign(args.pos.begin() + static_cast<std::ptrdiff_t>(next), args.pos.end());
  }
  std::vector<value> out;
  for (const value& item : items) {
    value subject = item;
    if (by_attr) {
      R1_ASSIGN_OR_RETURN(subject, get_attr(item, attr.s, line));
    }
    bool ok = truthy(subject);
    if (!test_name.empty()) {
      R1_ASSIGN_OR_RETURN(ok, apply_test(in, test_name, subject, test_args, line));
    }
    if (ok == keep) out.push_back(item);
  }
  return value::array(std::move(out));
}
result<value> f_select(interpreter& in, const value& v, call_args& a, int l) { return select_impl(in, v, a, l, false, true); }
result<value> f_reject(interpreter& in, const value& v, call_args& a, int l) { return select_impl(in, v, a, l, false, false); }
result<value> f_selectattr(interpreter& in, const value& v, call_args& a, int l) { return select_impl(in, v, a, l, true, true); }
result<value> f_rejectattr(interpreter& in, const value& v, call_args& a, int l) { return select_impl(in, v, a, l, true, false); }

result<value> f_map(interpreter& in, const value& v, call_args& args, int line) {
  R1_ASSIGN_OR_RETURN(std::vector<value> items, iterate(v, line));
  std::vector<value> out;
  if (const value* attribute = args.kwarg("attribute")) {
    const value def = arg(args, 99, "default", value::undefined());
    for (const value& item : items) {
      R1_ASSIGN_OR_RETURN(value a, get_attr(item, to_str(*attribute), line));
      out.push_back(a.k == kind::undefined && def.k != kind::undefined ? def : a);
    }
    return value::array(std::move(out));
  }
  if (args.pos.empty() || args.pos[0].k != kind::string) return type_error(line, "map: expected a filter name or attribute=");
  const std::string filter = args.pos[0].s;
  call_args rest;
  rest.pos.assign(args.pos.begin() + 1, args.pos.end());
  rest.kw = args.kw;
  for (const value& item : items) {
    call_args copy = rest;
    R1_ASSIGN_OR_RETURN(value r, apply_filter(in, filter, item, copy, line));
    out.push_back(std::move(r));
  }
  return value::array(std::move(out));
}

const std::vector<std::pair<std::string_view, filter_fn>>& filters() {
  static const std::vector<std::pair<std::string_view, filter_fn>> table = {
      {"length", f_length}, {"count", f_length}, {"trim", f_trim}, {"tojson", f_tojson}, {"items", f_items},
      {"join", f_join}, {"list", f_list}, {"first", f_first}, {"last", f_last}, {"default", f_default},
      {"d", f_default}, {"upper", f_upper}, {"lower", f_lower}, {"capitalize", f_capitalize}, {"title", f_title},
      {"string", f_string}, {"safe", f_safe}, {"escape", f_escape}, {"e", f_escape}, {"replace", f_replace},
      {"int", f_int}, {"float", f_float}, {"abs", f_abs}, {"round", f_round}, {"reverse", f_reverse},
      {"sort", f_sort}, {"dictsort", f_dictsort}, {"unique", f_unique}, {"sum", f_sum}, {"min", f_min},
      {"max", f_max}, {"indent", f_indent}, {"wordcount", f_wordcount}, {"select", f_select},
      {"reject", f_reject}, {"selectattr", f_selectattr}, {"rejectattr", f_rejectattr}, {"map", f_map},
  };
  return table;
}

}  // namespace

result<value> apply_filter(interpreter& in, const std::string& name, const value& subject, call_args& args, int line) {
  for (const auto& [n, fn] : filters()) {
    if (n == name) return fn(in, subject, args, line);
  }
  return type_error(line, "unknown filter '" + name + "'");
}

result<bool> apply_test(interpreter&, const std::string& name, const value& v, call_args& args, int line) {
  const value* a0 = args.pos.empty() ? nullptr : &args.pos[0];
  if (name == "defined") return v.k != kind::undefined;
  if (name == "undefined") return v.k == kind::undefined;
  if (name == "none") return v.k == kind::none;
  if (name == "boolean") return v.k == kind::boolean;
  if (name == "true") return v.k == kind::boolean && v.b;
  if (name == "false") return v.k == kind::boolean && !v.b;
  if (name == "integer") return v.k == kind::integer;
  if (name == "float") return v.k == kind::floating;
  if (name == "number") return v.is_number();
  if (name == "string") return v.k == kind::string;
  if (name == "mapping") return v.k == kind::object && !v.o->is_namespace;
  if (name == "iterable") return v.k == kind::string || v.k == kind::array || v.k == kind::object || v.k == kind::undefined;
  if (name == "sequence") return v.k == kind::string || v.k == kind::array || v.k == kind::object || v.k == kind::undefined;
  if (name == "callable") return v.k == kind::function;
  if (name == "escaped") return false;
  if (name == "lower") return v.k == kind::string && text::lower(v.s) == v.s;
  if (name == "upper") return v.k == kind::string && text::upper(v.s) == v.s;
  if (name == "odd" || name == "even" || name == "divisibleby") {
    if (v.k != kind::integer && v.k != kind::boolean) return type_error(line, "test '" + name + "' needs an integer");
    const std::int64_t x = v.k == kind::boolean ? v.b : v.i;
    if (name == "odd") return x % 2 != 0;
    if (name == "even") return x % 2 == 0;
    if (!a0 || a0->k != kind::integer || a0->i == 0) return type_error(line, "divisibleby needs a non-zero integer");
    return a0->i == -1 ? true : x % a0->i == 0;
  }
  if (!a0) return type_error(line, "test '" + name + "' needs an argument");
  if (name == "sameas") {
    if (v.k != a0->k) return false;
    if (v.k == kind::array) return v.a == a0->a;
    if (v.k == kind::object) return v.o == a0->o;
    return equals(v, *a0);
  }
  if (name == "equalto" || name == "eq" || name == "==") return equals(v, *a0);
  if (name == "ne" || name == "!=") return !equals(v, *a0);
  if (name == "in") {
    if (a0->k == kind::string) return v.k == kind::string && a0->s.find(v.s) != std::string::npos;
    if (a0->k == kind::array) return std::any_of(a0->a->begin(), a0->a->end(), [&](const value& x) { return equals(x, v); });
    if (a0->k == kind::object) return v.k == kind::string && a0->o->find(v.s) != nullptr;
    return type_error(line, "test 'in' needs a container");
  }
  if (name == "lt" || name == "<" || name == "lessthan") return less(v, *a0);
  if (name == "gt" || name == ">" || name == "greaterthan") return less(*a0, v);
  if (name == "le" || name == "<=") {
    R1_ASSIGN_OR_RETURN(bool r, less(*a0, v));
    return !r;
  }
  if (name == "ge" || name == ">=") {
    R1_ASSIGN_OR_RETURN(bool r, less(v, *a0));
    return !r;
  }
  return type_error(line, "unknown test '" + name + "'");
}

namespace {

result<value> g_range(interpreter& in, call_args& args) {
  std::int64_t start = 0, stop = 0, step = 1;
  for (const value& a : args.pos) {
    if (a.k != kind::integer && a.k != kind::boolean) return type_error(0, "range() arguments must be integers");
  }
  auto iv = [&](std::size_t i) { return args.pos[i].k == kind::boolean ? static_cast<std::int64_t>(args.pos[i].b) : args.pos[i].i; };
  if (args.pos.size() == 1) stop = iv(0);
  else if (args.pos.size() == 2 || args.pos.size() == 3) {
    start = iv(0);
    stop = iv(1);
    if (args.pos.size() == 3) step = iv(2);
  } else {
    return type_error(0, "range() takes 1 to 3 arguments");
  }
  if (step == 0) return type_error(0, "range() step must not be zero");
  const double count = std::ceil((static_cast<double>(stop) - static_cast<double>(start)) / static_cast<double>(step));
  if (count > 0) R1_RETURN_IF_ERROR(in.spend_iterations(static_cast<std::size_t>(std::min(count, 1e18))));
  std::vector<value> out;
  for (std::int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    out.push_back(value::integer(i));
    if ((step > 0 && i > INT64_MAX - step) || (step < 0 && i < INT64_MIN - step)) break;
  }
  return value::array(std::move(out));
}

result<value> g_namespace(interpreter&, call_args& args) {
  value ns = value::object();
  ns.o->is_namespace = true;
  for (const value& a : args.pos) {
    if (a.k != kind::object) return type_error(0, "namespace() positional arguments must be mappings");
    for (const auto& [k, v] : a.o->items) ns.o->set(k, v);
  }
  for (const auto& [k, v] : args.kw) ns.o->set(k, v);
  return ns;
}

result<value> g_dict(interpreter&, call_args& args) {
  value d = value::object();
  for (const value& a : args.pos) {
    if (a.k != kind::object) return type_error(0, "dict() positional arguments must be mappings");
    for (const auto& [k, v] : a.o->items) d.o->set(k, v);
  }
  for (const auto& [k, v] : args.kw) d.o->set(k, v);
  return d;
}

result<value> g_raise(interpreter&, call_args& args) {
  const std::string msg = args.pos.empty() ? std::string("(no message)") : to_str(args.pos[0]);
  return invalid_argument("template raised an exception: " + msg);
}

result<value> g_strftime_now(interpreter&, call_args& args) {
  if (args.pos.empty() || args.pos[0].k != kind::string) return type_error(0, "strftime_now() needs a format string");
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[256];
  const std::size_t n = std::strftime(buf, sizeof buf, args.pos[0].s.c_str(), &tm);
  return value::string(std::string(buf, n));
}

}  // namespace

void add_globals(std::unordered_map<std::string, value>& frame) {
  frame["range"] = value::function("range", g_range);
  frame["namespace"] = value::function("namespace", g_namespace);
  frame["dict"] = value::function("dict", g_dict);
  frame["raise_exception"] = value::function("raise_exception", g_raise);
  frame["strftime_now"] = value::function("strftime_now", g_strftime_now);
}

}  // namespace r1::engine::jinja::detail
