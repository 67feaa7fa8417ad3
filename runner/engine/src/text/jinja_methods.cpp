// Attribute/item access, slicing, iteration, and the Python str/list/dict
// methods templates call (message.content.split('</think>'), d.items(), ...).
#include <algorithm>
#include <set>

#include "jinja_interp.h"
#include "jinja_text.h"
#include "r1/engine/utf8.h"

namespace r1::engine::jinja::detail {

std::vector<std::string> characters(const std::string& s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < s.size()) {
    char32_t cp = 0;
    const std::size_t n = utf8::decode(s, pos, &cp);
    out.push_back(s.substr(pos, n));
    pos += n;
  }
  return out;
}

result<std::vector<value>> iterate(const value& v, int line) {
  std::vector<value> out;
  switch (v.k) {
    case kind::undefined: return out;
    case kind::array: return *v.a;
    case kind::object:
      for (const auto& item : v.o->items) out.push_back(value::string(item.first));
      return out;
    case kind::string:
      for (auto& c : characters(v.s)) out.push_back(value::string(std::move(c)));
      return out;
    default: return type_error(line, std::string("'") + kind_name(v) + "' object is not iterable");
  }
}

namespace {

const std::set<std::string>& string_methods() {
  static const std::set<std::string> m = {"strip", "lstrip", "rstrip", "split", "rsplit", "startswith", "endswith",
                                          "replace", "upper", "lower", "title", "capitalize", "find", "rfind",
                                          "count", "join", "isdigit", "isalpha", "isalnum", "isspace", "isupper",
                                          "islower", "splitlines", "index"};
  return m;
}
const std::set<std::string>& list_methods() {
  // Lists are immutable in templates, as in the sandbox Hugging Face renders
  // chat templates with: no append/extend/pop/insert/reverse (no cycles).
  static const std::set<std::string> m = {"index", "count"};
  return m;
}
const std::set<std::string>& dict_methods() {
  static const std::set<std::string> m = {"items", "keys", "values", "get"};
  return m;
}

bool is_int(const value& v) { return v.k == kind::integer || v.k == kind::boolean; }
std::int64_t int_of(const value& v) { return v.k == kind::boolean ? v.b : v.i; }

}  // namespace

bool has_method(const value& receiver, const std::string& name) {
  switch (receiver.k) {
    case kind::string: return string_methods().count(name) > 0;
    case kind::array: return list_methods().count(name) > 0;
    case kind::object: return !receiver.o->is_namespace && dict_methods().count(name) > 0;
    default: return false;
  }
}

result<value> get_attr(const value& obj, const std::string& name, int line) {
  if (obj.k == kind::undefined) {
    return type_error(line, obj.s.empty() ? "'" + name + "' of an undefined value is undefined"
                                          : "'" + obj.s + "' is undefined (reading attribute '" + name + "')");
  }
  if (has_method(obj, name)) return bound_method(obj, name);
  if (obj.k == kind::object) {
    if (const value* v = obj.o->find(name)) return *v;
  }
  return value::undefined(name);
}

result<value> get_item(const value& obj, const value& key, int line) {
  switch (obj.k) {
    case kind::undefined:
      return type_error(line, obj.s.empty() ? std::string("subscript of an undefined value")
                                            : "'" + obj.s + "' is undefined (subscripted)");
    case kind::object:
      if (key.k == kind::string) {
        if (const value* v = obj.o->find(key.s)) return *v;
        if (has_method(obj, key.s)) return bound_method(obj, key.s);
        return value::undefined(key.s);
      }
      return value::undefined();
    case kind::array:
    case kind::string: {
      if (!is_int(key)) {
        if (key.k == kind::string) return get_attr(obj, key.s, line);
        return value::undefined();
      }
      std::int64_t i = int_of(key);
      if (obj.k == kind::array) {
        const auto n = static_cast<std::int64_t>(obj.a->size());
        if (i < 0) i += n;
        if (i < 0 || i >= n) return value::undefined(std::string(1, '[').append(std::to_string(int_of(key))).append(1, ']'));
        return (*obj.a)[static_cast<std::size_t>(i)];
      }
      const auto chars = characters(obj.s);
      const auto n = static_cast<std::int64_t>(chars.size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return value::undefined(std::string(1, '[').append(std::to_string(int_of(key))).append(1, ']'));
      return value::string(chars[static_cast<std::size_t>(i)]);
    }
    default: return value::undefined();
  }
}

result<value> slice(const value& obj, const value& start_v, const value& stop_v, const value& step_v, int line) {
  for (const value* p : {&start_v, &stop_v, &step_v}) {
    if (!p->is_none() && !is_int(*p)) return type_error(line, "slice indices must be integers or None");
  }
  const std::int64_t step = step_v.is_none() ? 1 : int_of(step_v);
  if (step == 0) return type_error(line, "slice step cannot be zero");
  std::vector<std::string> chars;
  std::int64_t n = 0;
  if (obj.k == kind::array) {
    n = static_cast<std::int64_t>(obj.a->size());
  } else if (obj.k == kind::string) {
    chars = characters(obj.s);
    n = static_cast<std::int64_t>(chars.size());
  } else if (obj.k == kind::undefined) {
    return type_error(line, "'" + obj.s + "' is undefined (sliced)");
  } else {
    return type_error(line, std::string("'") + kind_name(obj) + "' object is not subscriptable");
  }
  // Python's PySlice_AdjustIndices.
  auto adjust = [&](const value& v, std::int64_t def_pos, std::int64_t def_neg) {
    if (v.is_none()) return step > 0 ? def_pos : def_neg;
    std::int64_t i = int_of(v);
    if (i < 0) {
      i += n;
      if (i < 0) i = step < 0 ? -1 : 0;
    } else if (i >= n) {
      i = step < 0 ? n - 1 : n;
    }
    return i;
  };
  const std::int64_t start = adjust(start_v, 0, n - 1);
  const std::int64_t stop = adjust(stop_v, n, -1);
  std::vector<std::int64_t> idx;
  if (step > 0) {
    for (std::int64_t i = start; i < stop; i += step) idx.push_back(i);
  } else {
    for (std::int64_t i = start; i > stop; i += step) idx.push_back(i);
  }
  if (obj.k == kind::array) {
    std::vector<value> out;
    for (auto i : idx) out.push_back((*obj.a)[static_cast<std::size_t>(i)]);
    return value::array(std::move(out));
  }
  std::string out;
  for (auto i : idx) out += chars[static_cast<std::size_t>(i)];
  return value::string(std::move(out));
}

namespace {

result<std::string> str_arg(const call_args& args, std::size_t i, const char* method, int line = 0) {
  if (i >= args.pos.size() || args.pos[i].k != kind::string) {
    return type_error(line, std::string(method) + "() argument " + std::to_string(i + 1) + " must be str");
  }
  return args.pos[i].s;
}

value split_impl(const std::string& s, const value* sep, std::int64_t maxsplit, bool from_right) {
  std::vector<std::string> pieces = (sep == nullptr || sep->is_none())
                                        ? text::split_whitespace(s, maxsplit, from_right)
                                        : text::split(s, sep->s, maxsplit, from_right);
  std::vector<value> parts;
  for (auto& p : pieces) parts.push_back(value::string(std::move(p)));
  return value::array(std::move(parts));
}

result<value> affix_test(const std::string& s, const value& arg, bool prefix, int line) {
  auto one = [&](const std::string& a) {
    if (a.size() > s.size()) return false;
    return prefix ? s.compare(0, a.size(), a) == 0 : s.compare(s.size() - a.size(), a.size(), a) == 0;
  };
  if (arg.k == kind::string) return value::boolean(one(arg.s));
  if (arg.k == kind::array) {
    for (const value& a : *arg.a) {
      if (a.k == kind::string && one(a.s)) return value::boolean(true);
    }
    return value::boolean(false);
  }
  return type_error(line, std::string(prefix ? "startswith" : "endswith") + " first arg must be str or a tuple of str");
}

std::int64_t cp_index(const std::string& s, std::size_t byte_pos) {
  return static_cast<std::int64_t>(utf8::to_code_points(std::string_view(s).substr(0, byte_pos)).size());
}

result<value> string_method(interpreter& in, const std::string& s, const std::string& name, call_args& args) {
  const value* a0 = args.pos.empty() ? nullptr : &args.pos[0];
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    const value* chars = a0 ? a0 : args.kwarg("chars");
    if (chars && !chars->is_none() && chars->k != kind::string) return type_error(0, name + " arg must be None or str");
    const bool left = name != "rstrip", right = name != "lstrip";
    return value::string(text::strip(s, chars && !chars->is_none() ? &chars->s : nullptr, left, right));
  }
  if (name == "split" || name == "rsplit") {
    const value* sep = a0 ? a0 : args.kwarg("sep");
    const value* ms = args.pos.size() > 1 ? &args.pos[1] : args.kwarg("maxsplit");
    if (sep && !sep->is_none() && sep->k != kind::string) return type_error(0, name + "(): separator must be str or None");
    if (sep && sep->k == kind::string && sep->s.empty()) return type_error(0, "empty separator");
    return split_impl(s, sep, ms && is_int(*ms) ? int_of(*ms) : -1, name == "rsplit");
  }
  if (name == "startswith" || name == "endswith") {
    if (!a0) return type_error(0, name + "() takes at least 1 argument");
    return affix_test(s, *a0, name == "startswith", 0);
  }
  if (name == "replace") {
    R1_ASSIGN_OR_RETURN(std::string from, str_arg(args, 0, "replace"));
    R1_ASSIGN_OR_RETURN(std::string to, str_arg(args, 1, "replace"));
    const std::int64_t count = args.pos.size() > 2 && is_int(args.pos[2]) ? int_of(args.pos[2]) : -1;
    value v = value::string(text::replace(s, from, to, count));
    R1_RETURN_IF_ERROR(in.check_size(v));
    return v;
  }
  if (name == "upper") return value::string(text::upper(s));
  if (name == "lower") return value::string(text::lower(s));
  if (name == "title") return value::string(text::title(s));
  if (name == "capitalize") return value::string(text::capitalize(s));
  if (name == "find" || name == "rfind" || name == "index") {
    R1_ASSIGN_OR_RETURN(std::string needle, str_arg(args, 0, name.c_str()));
    const std::size_t at = name == "rfind" ? s.rfind(needle) : s.find(needle);
    if (at == std::string::npos) {
      if (name == "index") return type_error(0, "substring not found");
      return value::integer(-1);
    }
    return value::integer(cp_index(s, at));
  }
  if (name == "count") {
    R1_ASSIGN_OR_RETURN(std::string needle, str_arg(args, 0, "count"));
    if (needle.empty()) return value::integer(static_cast<std::int64_t>(characters(s).size()) + 1);
    std::int64_t n = 0;
    for (std::size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + needle.size())) ++n;
    return value::integer(n);
  }
  if (name == "join") {
    if (!a0) return type_error(0, "join() takes exactly one argument");
    R1_ASSIGN_OR_RETURN(std::vector<value> items, iterate(*a0, 0));
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (items[i].k != kind::string) return type_error(0, "sequence item " + std::to_string(i) + ": expected str instance");
      if (i) out += s;
      out += items[i].s;
    }
    value v = value::string(std::move(out));
    R1_RETURN_IF_ERROR(in.check_size(v));
    return v;
  }
  if (name == "splitlines") {
    std::vector<value> lines;
    std::size_t pos = 0;
    while (pos < s.size()) {
      std::size_t nl = s.find_first_of("\r\n", pos);
      if (nl == std::string::npos) nl = s.size();
      lines.push_back(value::string(s.substr(pos, nl - pos)));
      pos = nl;
      if (pos < s.size() && s[pos] == '\r' && pos + 1 < s.size() && s[pos + 1] == '\n') ++pos;
      if (pos < s.size()) ++pos;
    }
    return value::array(std::move(lines));
  }
  return value::boolean(text::char_class_test(s, name));
}

result<value> list_method(const value& self, const std::string& name, call_args& args) {
  const std::vector<value>& items = *self.a;
  const value* a0 = args.pos.empty() ? nullptr : &args.pos[0];
  if (!a0) return type_error(0, name + "() takes exactly one argument");
  std::int64_t count = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!equals(items[i], *a0)) continue;
    if (name == "index") return value::integer(static_cast<std::int64_t>(i));
    ++count;
  }
  if (name == "index") return type_error(0, "value is not in list");
  return value::integer(count);
}

result<value> dict_method(const value& self, const std::string& name, call_args& args) {
  if (name == "get") {
    if (args.pos.empty() || args.pos[0].k != kind::string) return value::none();
    if (const value* v = self.o->find(args.pos[0].s)) return *v;
    return args.pos.size() > 1 ? args.pos[1] : value::none();
  }
  std::vector<value> out;
  for (const auto& [k, v] : self.o->items) {
    if (name == "items") out.push_back(value::make_tuple({value::string(k), v}));
    else if (name == "keys") out.push_back(value::string(k));
    else out.push_back(v);
  }
  return value::array(std::move(out));
}

}  // namespace

value bound_method(const value& receiver, const std::string& name) {
  return value::function(name, [receiver, name](interpreter& in, call_args& args) -> result<value> {
    switch (receiver.k) {
      case kind::string: return string_method(in, receiver.s, name, args);
      case kind::array: return list_method(receiver, name, args);
      case kind::object: return dict_method(receiver, name, args);
      default: return type_error(0, "no method " + name);
    }
  });
}

}  // namespace r1::engine::jinja::detail
