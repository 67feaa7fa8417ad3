// Statement execution and expression evaluation.
#include <cmath>
#include <cstdint>

#include "jinja_interp.h"
#include "r1/engine/jinja.h"

namespace r1::engine::jinja {

result<template_program> template_program::parse(std::string_view source, const options& opts) {
  R1_ASSIGN_OR_RETURN(std::shared_ptr<detail::program> prog, detail::parse_program(source, opts));
  template_program t;
  t.program_ = std::move(prog);
  return t;
}

result<std::string> template_program::render(const nlohmann::ordered_json& variables) const {
  if (!program_) return invalid_argument("template: render() on an empty template_program");
  if (detail::json_depth_exceeds(variables, 200)) {
    return invalid_argument("template: the variables are nested more than 200 levels deep");
  }
  detail::interpreter in(*program_, variables);
  return in.run();
}

}  // namespace r1::engine::jinja

namespace r1::engine::jinja::detail {

status type_error(int line, const std::string& msg) {
  return invalid_argument("template line " + std::to_string(line) + ": " + msg);
}

namespace {
constexpr std::size_t max_list_items = 1'000'000;
constexpr std::uint32_t max_nesting = 256;

// Depth of a JSON value, stopping early past `limit`.
std::size_t json_depth(const nlohmann::ordered_json& j, std::size_t limit) {
  if (!j.is_structured() || limit == 0) return j.is_structured() ? 1 : 0;
  std::size_t d = 0;
  for (const auto& child : j) {
    d = std::max(d, json_depth(child, limit - 1));
    if (d >= limit) break;
  }
  return d + 1;
}

status undefined_error(const value& v, int line) {
  return type_error(line, v.s.empty() ? std::string("value is undefined") : "'" + v.s + "' is undefined");
}
}  // namespace

bool json_depth_exceeds(const nlohmann::ordered_json& j, std::size_t limit) { return json_depth(j, limit + 1) > limit; }

interpreter::interpreter(const program& prog, const nlohmann::ordered_json& variables) : prog_(prog) {
  frames_.emplace_back();
  add_globals(frames_[0]);
  if (variables.is_object()) {
    for (const auto& [k, v] : variables.items()) frames_[0][k] = from_json(v);
  }
  frames_.emplace_back();  // template-level sets go here
}

result<std::string> interpreter::run() {
  std::string out;
  R1_RETURN_IF_ERROR(exec_body(prog_.root, out));
  return out;
}

status interpreter::spend_iterations(std::size_t n) {
  iterations_ += n;
  if (iterations_ > prog_.opts.max_loop_iterations) {
    return resource_exhausted("template: more than " + std::to_string(prog_.opts.max_loop_iterations) +
                              " loop iterations");
  }
  return ok_status();
}

status interpreter::check_size(const value& v) const {
  if (nest_of(v) > max_nesting) {
    return resource_exhausted("template: lists/dicts nested more than " + std::to_string(max_nesting) + " deep");
  }
  if (v.k == kind::string && v.s.size() > prog_.opts.max_output_bytes) {
    return resource_exhausted("template: a string grew past " + std::to_string(prog_.opts.max_output_bytes) + " bytes");
  }
  if (v.k == kind::array && v.a->size() > max_list_items) {
    return resource_exhausted("template: a list grew past " + std::to_string(max_list_items) + " items");
  }
  return ok_status();
}

status interpreter::append(std::string& out, const std::string& text) const {
  if (out.size() + text.size() > prog_.opts.max_output_bytes) {
    return resource_exhausted("template: output is larger than " + std::to_string(prog_.opts.max_output_bytes) +
                              " bytes");
  }
  out += text;
  return ok_status();
}

value interpreter::lookup(const std::string& name) const {
  for (std::size_t i = frames_.size(); i-- > floor_;) {
    const auto it = frames_[i].find(name);
    if (it != frames_[i].end()) return it->second;
  }
  if (floor_ > 1) {  // inside a macro: template-level names stay visible
    const auto it = frames_[1].find(name);
    if (it != frames_[1].end()) return it->second;
  }
  const auto it = frames_[0].find(name);
  if (it != frames_[0].end()) return it->second;
  return value::undefined(name);
}

void interpreter::assign(const std::string& name, value v) { frames_.back()[name] = std::move(v); }

status interpreter::exec_body(const body& b, std::string& out) {
  for (const stmt_ptr& s : b) {
    R1_RETURN_IF_ERROR(exec(*s, out));
    if (flow_ != flow::normal) return ok_status();
  }
  return ok_status();
}

status interpreter::exec(const stmt& s, std::string& out) {
  recursion_guard guard(*this);
  R1_RETURN_IF_ERROR(guard.check());
  switch (s.kind) {
    case stmt_kind::text: return append(out, s.text);
    case stmt_kind::output: {
      R1_ASSIGN_OR_RETURN(value v, eval(*s.e));
      return append(out, to_str(v));
    }
    case stmt_kind::if_:
      for (const auto& [cond, branch] : s.branches) {
        bool take = true;
        if (cond) {
          R1_ASSIGN_OR_RETURN(value c, eval(*cond));
          take = truthy(c);
        }
        if (take) return exec_body(branch, out);
      }
      return ok_status();
    case stmt_kind::for_: return exec_for(s, out);
    case stmt_kind::set: return exec_set(s);
    case stmt_kind::set_block: {
      std::string captured;
      R1_RETURN_IF_ERROR(exec_body(s.main, captured));
      assign(s.targets[0], value::string(std::move(captured)));
      return ok_status();
    }
    case stmt_kind::macro: assign(s.name, make_macro(s)); return ok_status();
    case stmt_kind::break_: flow_ = flow::break_loop; return ok_status();
    case stmt_kind::continue_: flow_ = flow::continue_loop; return ok_status();
    case stmt_kind::scope: return exec_body(s.main, out);
  }
  return ok_status();
}

status interpreter::exec_set(const stmt& s) {
  R1_ASSIGN_OR_RETURN(value v, eval(*s.e));
  if (s.attr_target) {
    value target = lookup(s.targets[0]);
    if (target.k != kind::object || !target.o->is_namespace) {
      return type_error(s.line, "cannot assign attribute on non-namespace object '" + s.targets[0] + "'");
    }
    // Keeps values acyclic and their depth bookkeeping exact.
    if (has_namespace(v)) return type_error(s.line, "a namespace cannot be stored inside a namespace");
    target.o->set(s.targets[1], std::move(v));
    return ok_status();
  }
  if (s.targets.size() == 1) {
    assign(s.targets[0], std::move(v));
    return ok_status();
  }
  R1_ASSIGN_OR_RETURN(std::vector<value> items, iterate(v, s.line));
  if (items.size() != s.targets.size()) {
    return type_error(s.line, "cannot unpack " + std::to_string(items.size()) + " values into " +
                                  std::to_string(s.targets.size()) + " names");
  }
  for (std::size_t i = 0; i < items.size(); ++i) assign(s.targets[i], items[i]);
  return ok_status();
}

namespace {

status bind_targets(std::unordered_map<std::string, value>& frame, const std::vector<std::string>& targets,
                    const value& item, int line) {
  if (targets.size() == 1) {
    frame[targets[0]] = item;
    return ok_status();
  }
  R1_ASSIGN_OR_RETURN(std::vector<value> parts, iterate(item, line));
  if (parts.size() != targets.size()) {
    return type_error(line, "cannot unpack " + std::to_string(parts.size()) + " values into " +
                                std::to_string(targets.size()) + " loop variables");
  }
  for (std::size_t i = 0; i < parts.size(); ++i) frame[targets[i]] = parts[i];
  return ok_status();
}

value make_loop(std::size_t i, const std::vector<value>& items) {
  const std::size_t n = items.size();
  value loop = value::object();
  auto& o = *loop.o;
  o.set("index0", value::integer(static_cast<std::int64_t>(i)));
  o.set("index", value::integer(static_cast<std::int64_t>(i + 1)));
  o.set("revindex0", value::integer(static_cast<std::int64_t>(n - i - 1)));
  o.set("revindex", value::integer(static_cast<std::int64_t>(n - i)));
  o.set("first", value::boolean(i == 0));
  o.set("last", value::boolean(i + 1 == n));
  o.set("length", value::integer(static_cast<std::int64_t>(n)));
  o.set("depth", value::integer(1));
  o.set("depth0", value::integer(0));
  o.set("previtem", i > 0 ? items[i - 1] : value::undefined("previtem"));
  o.set("nextitem", i + 1 < n ? items[i + 1] : value::undefined("nextitem"));
  o.set("cycle", value::function("loop.cycle", [i](interpreter&, call_args& args) -> result<value> {
          if (args.pos.empty()) return invalid_argument("loop.cycle() needs at least one value");
          return args.pos[i % args.pos.size()];
        }));
  return loop;
}

}  // namespace

status interpreter::exec_for(const stmt& s, std::string& out) {
  R1_ASSIGN_OR_RETURN(value seq, eval(*s.e));
  R1_ASSIGN_OR_RETURN(std::vector<value> all, iterate(seq, s.line));
  std::vector<value> items;
  if (s.loop_filter) {
    for (const value& item : all) {
      R1_RETURN_IF_ERROR(spend_iterations(1));
      frames_.emplace_back();
      status st = bind_targets(frames_.back(), s.targets, item, s.line);
      result<value> keep = st.ok() ? eval(*s.loop_filter) : result<value>(st);
      frames_.pop_back();
      if (!keep.ok()) return keep.error();
      if (truthy(keep.value())) items.push_back(item);
    }
  } else {
    items = std::move(all);
  }
  if (items.empty()) return exec_body(s.alt, out);
  for (std::size_t i = 0; i < items.size(); ++i) {
    R1_RETURN_IF_ERROR(spend_iterations(1));
    frames_.emplace_back();
    status st = bind_targets(frames_.back(), s.targets, items[i], s.line);
    if (st.ok()) {
      frames_.back()["loop"] = make_loop(i, items);
      st = exec_body(s.main, out);
    }
    frames_.pop_back();
    R1_RETURN_IF_ERROR(st);
    if (flow_ == flow::break_loop) {
      flow_ = flow::normal;
      break;
    }
    flow_ = flow::normal;
  }
  return ok_status();
}

value interpreter::make_macro(const stmt& s) {
  const stmt* def = &s;
  return value::function(s.name, [def](interpreter& in, call_args& args) -> result<value> {
    if (args.pos.size() > def->params.size()) {
      return type_error(def->line, "macro '" + def->name + "' takes " + std::to_string(def->params.size()) +
                                       " arguments, got " + std::to_string(args.pos.size()));
    }
    const std::size_t saved_floor = in.floor_;
    in.frames_.emplace_back();
    in.floor_ = in.frames_.size() - 1;
    status st;
    for (std::size_t p = 0; p < def->params.size() && st.ok(); ++p) {
      const std::string& name = def->params[p];
      if (p < args.pos.size()) {
        in.frames_.back()[name] = args.pos[p];
      } else if (const value* kw = args.kwarg(name)) {
        in.frames_.back()[name] = *kw;
      } else if (def->defaults[p]) {
        result<value> d = in.eval(*def->defaults[p]);
        if (d.ok()) in.frames_.back()[name] = d.value();
        else st = d.error();
      } else {
        in.frames_.back()[name] = value::undefined(name);
      }
    }
    std::string out;
    if (st.ok()) st = in.exec_body(def->main, out);
    in.flow_ = flow::normal;
    in.frames_.pop_back();
    in.floor_ = saved_floor;
    if (!st.ok()) return st;
    return value::string(std::move(out));
  });
}

result<value> interpreter::call(const value& fn, call_args& args, int line) {
  if (fn.k == kind::undefined) return undefined_error(fn, line);
  if (fn.k != kind::function) return type_error(line, std::string("'") + kind_name(fn) + "' object is not callable");
  if (++call_depth_ > prog_.opts.max_depth) {
    --call_depth_;
    return resource_exhausted("template: calls nested more than " + std::to_string(prog_.opts.max_depth) + " deep");
  }
  result<value> r = fn.c->fn(*this, args);
  --call_depth_;
  return r;
}

result<value> interpreter::eval(const expr& e) {
  recursion_guard guard(*this);
  R1_RETURN_IF_ERROR(guard.check());
  R1_ASSIGN_OR_RETURN(value v, eval_inner(e));
  R1_RETURN_IF_ERROR(check_size(v));
  return v;
}

result<call_args> interpreter::eval_args(const expr& e, std::size_t first_arg) {
  call_args args;
  for (std::size_t i = first_arg; i < e.kids.size(); ++i) {
    R1_ASSIGN_OR_RETURN(value v, eval(*e.kids[i]));
    args.pos.push_back(std::move(v));
  }
  for (const auto& [k, ke] : e.kwargs) {
    R1_ASSIGN_OR_RETURN(value v, eval(*ke));
    args.kw.emplace_back(k, std::move(v));
  }
  return args;
}

result<value> interpreter::eval_inner(const expr& e) {
  switch (e.kind) {
    case expr_kind::literal: return e.lit;
    case expr_kind::name: return lookup(e.name);
    case expr_kind::getattr: {
      R1_ASSIGN_OR_RETURN(value obj, eval(*e.kids[0]));
      return get_attr(obj, e.name, e.line);
    }
    case expr_kind::getitem: {
      R1_ASSIGN_OR_RETURN(value obj, eval(*e.kids[0]));
      R1_ASSIGN_OR_RETURN(value key, eval(*e.kids[1]));
      return get_item(obj, key, e.line);
    }
    case expr_kind::slice: {
      R1_ASSIGN_OR_RETURN(value obj, eval(*e.kids[0]));
      value parts[3] = {value::none(), value::none(), value::none()};
      for (int i = 0; i < 3; ++i) {
        if (e.kids[static_cast<std::size_t>(i) + 1]) {
          R1_ASSIGN_OR_RETURN(parts[i], eval(*e.kids[static_cast<std::size_t>(i) + 1]));
        }
      }
      return slice(obj, parts[0], parts[1], parts[2], e.line);
    }
    case expr_kind::call: return eval_call(e);
    case expr_kind::filter: {
      R1_ASSIGN_OR_RETURN(value subject, eval(*e.kids[0]));
      R1_ASSIGN_OR_RETURN(call_args args, eval_args(e, 1));
      return apply_filter(*this, e.name, subject, args, e.line);
    }
    case expr_kind::test: {
      R1_ASSIGN_OR_RETURN(value subject, eval(*e.kids[0]));
      R1_ASSIGN_OR_RETURN(call_args args, eval_args(e, 1));
      R1_ASSIGN_OR_RETURN(bool r, apply_test(*this, e.name, subject, args, e.line));
      return value::boolean(r != e.negated);
    }
    case expr_kind::not_: {
      R1_ASSIGN_OR_RETURN(value v, eval(*e.kids[0]));
      return value::boolean(!truthy(v));
    }
    case expr_kind::neg:
    case expr_kind::pos: {
      R1_ASSIGN_OR_RETURN(value v, eval(*e.kids[0]));
      if (v.k == kind::undefined) return undefined_error(v, e.line);
      if (!v.is_number()) return type_error(e.line, std::string("bad operand type for unary -: '") + kind_name(v) + "'");
      if (e.kind == expr_kind::pos) return v.k == kind::boolean ? value::integer(v.b) : v;
      if (v.k == kind::floating) return value::floating(-v.f);
      const std::int64_t n = v.k == kind::boolean ? static_cast<std::int64_t>(v.b) : v.i;
      if (n == INT64_MIN) return value::floating(-static_cast<double>(n));
      return value::integer(-n);
    }
    case expr_kind::and_: {
      R1_ASSIGN_OR_RETURN(value l, eval(*e.kids[0]));
      if (!truthy(l)) return l;
      return eval(*e.kids[1]);
    }
    case expr_kind::or_: {
      R1_ASSIGN_OR_RETURN(value l, eval(*e.kids[0]));
      if (truthy(l)) return l;
      return eval(*e.kids[1]);
    }
    case expr_kind::cond: {
      R1_ASSIGN_OR_RETURN(value c, eval(*e.kids[0]));
      if (truthy(c)) return eval(*e.kids[1]);
      if (e.kids[2]) return eval(*e.kids[2]);
      return value::undefined();
    }
    case expr_kind::list:
    case expr_kind::tuple: {
      std::vector<value> items;
      for (const auto& k : e.kids) {
        R1_ASSIGN_OR_RETURN(value v, eval(*k));
        items.push_back(std::move(v));
      }
      return e.kind == expr_kind::tuple ? value::make_tuple(std::move(items)) : value::array(std::move(items));
    }
    case expr_kind::dict: {
      value d = value::object();
      for (std::size_t i = 0; i + 1 < e.kids.size(); i += 2) {
        R1_ASSIGN_OR_RETURN(value k, eval(*e.kids[i]));
        R1_ASSIGN_OR_RETURN(value v, eval(*e.kids[i + 1]));
        if (k.k != kind::string) return type_error(e.line, "dict keys must be strings here");
        d.o->set(k.s, std::move(v));
      }
      return d;
    }
    case expr_kind::binary: return eval_binary(e);
    case expr_kind::compare: return eval_compare(e);
  }
  return internal_error("template: unknown expression kind");
}

result<value> interpreter::eval_call(const expr& e) {
  R1_ASSIGN_OR_RETURN(value fn, eval(*e.kids[0]));
  R1_ASSIGN_OR_RETURN(call_args args, eval_args(e, 1));
  return call(fn, args, e.line);
}

namespace {

result<bool> contains(const value& needle, const value& hay, int line) {
  switch (hay.k) {
    case kind::undefined: return false;
    case kind::string:
      if (needle.k != kind::string) {
        return type_error(line, std::string("'in <string>' requires string as left operand, not ") + kind_name(needle));
      }
      return hay.s.find(needle.s) != std::string::npos;
    case kind::array:
      for (const value& item : *hay.a) {
        if (equals(item, needle)) return true;
      }
      return false;
    case kind::object: return needle.k == kind::string && hay.o->find(needle.s) != nullptr;
    default: return type_error(line, std::string("argument of type '") + kind_name(hay) + "' is not iterable");
  }
}

result<bool> compare_one(const std::string& op, const value& a, const value& b, int line) {
  if (op == "==") return equals(a, b);
  if (op == "!=") return !equals(a, b);
  if (op == "in") return contains(a, b, line);
  if (op == "notin") {
    R1_ASSIGN_OR_RETURN(bool in, contains(a, b, line));
    return !in;
  }
  if (a.k == kind::undefined) return undefined_error(a, line);
  if (b.k == kind::undefined) return undefined_error(b, line);
  result<bool> r = op == "<" || op == ">=" ? less(a, b) : less(b, a);
  if (!r.ok()) return type_error(line, r.error().message());
  return (op == "<" || op == ">") ? r.value() : !r.value();
}

}  // namespace

result<value> interpreter::eval_compare(const expr& e) {
  R1_ASSIGN_OR_RETURN(value left, eval(*e.kids[0]));
  for (std::size_t i = 0; i < e.ops.size(); ++i) {
    R1_ASSIGN_OR_RETURN(value right, eval(*e.kids[i + 1]));
    R1_ASSIGN_OR_RETURN(bool ok, compare_one(e.ops[i], left, right, e.line));
    if (!ok) return value::boolean(false);
    left = std::move(right);
  }
  return value::boolean(true);
}

namespace {

std::int64_t as_int(const value& v) { return v.k == kind::boolean ? v.b : v.i; }

result<value> arithmetic(const std::string& op, const value& a, const value& b, int line) {
  // Python ints do not overflow; on int64 overflow we fall back to floats.
  const bool ints = a.k != kind::floating && b.k != kind::floating;
  const std::int64_t x = as_int(a), y = as_int(b);
  std::int64_t r = 0;
  if (op == "+") {
    if (ints && !__builtin_add_overflow(x, y, &r)) return value::integer(r);
    return value::floating(a.as_double() + b.as_double());
  }
  if (op == "-") {
    if (ints && !__builtin_sub_overflow(x, y, &r)) return value::integer(r);
    return value::floating(a.as_double() - b.as_double());
  }
  if (op == "*") {
    if (ints && !__builtin_mul_overflow(x, y, &r)) return value::integer(r);
    return value::floating(a.as_double() * b.as_double());
  }
  if (op == "**") {
    if (ints && y >= 0) {
      if (x == 0) return value::integer(y == 0 ? 1 : 0);
      if (x == 1) return value::integer(1);
      if (x == -1) return value::integer(y % 2 ? -1 : 1);
      r = 1;
      bool overflow = false;
      for (std::int64_t k = 0; k < y && !overflow; ++k) overflow = __builtin_mul_overflow(r, x, &r);  // |x| >= 2: <= 64 rounds
      if (!overflow) return value::integer(r);
    }
    return value::floating(std::pow(a.as_double(), b.as_double()));
  }
  if (ints && x == INT64_MIN && y == -1) return value::floating(-a.as_double());
  if (b.as_double() == 0.0) return type_error(line, "division by zero");
  if (op == "/") return value::floating(a.as_double() / b.as_double());
  if (op == "//") {
    if (ints) {
      const std::int64_t q = x / y, m = x % y;
      return value::integer((m != 0 && ((m < 0) != (y < 0))) ? q - 1 : q);
    }
    return value::floating(std::floor(a.as_double() / b.as_double()));
  }
  if (op == "%") {
    if (ints) {
      const std::int64_t m = x % y;
      return value::integer((m != 0 && ((m < 0) != (y < 0))) ? m + y : m);
    }
    const double fm = std::fmod(a.as_double(), b.as_double());
    return value::floating((fm != 0 && ((fm < 0) != (b.as_double() < 0))) ? fm + b.as_double() : fm);
  }
  return type_error(line, "unknown operator " + op);
}

result<value> repeat(const value& seq, std::int64_t n, std::size_t max_bytes, int line) {
  if (n <= 0) return seq.k == kind::string ? value::string("") : value::array();
  const std::size_t unit = seq.k == kind::string ? seq.s.size() : seq.a->size();
  if (unit != 0 && static_cast<std::size_t>(n) > max_bytes / unit) {
    return resource_exhausted("template line " + std::to_string(line) + ": repetition result too large");
  }
  if (seq.k == kind::string) {
    std::string out;
    for (std::int64_t i = 0; i < n; ++i) out += seq.s;
    return value::string(std::move(out));
  }
  std::vector<value> out;
  for (std::int64_t i = 0; i < n; ++i) out.insert(out.end(), seq.a->begin(), seq.a->end());
  return value::array(std::move(out));
}

}  // namespace

result<value> interpreter::eval_binary(const expr& e) {
  R1_ASSIGN_OR_RETURN(value a, eval(*e.kids[0]));
  R1_ASSIGN_OR_RETURN(value b, eval(*e.kids[1]));
  const std::string& op = e.name;
  if (op == "~") return value::string(to_str(a) + to_str(b));
  if (a.k == kind::undefined) return undefined_error(a, e.line);
  if (b.k == kind::undefined) return undefined_error(b, e.line);
  if (a.is_number() && b.is_number()) return arithmetic(op, a, b, e.line);
  if (op == "+" && a.k == kind::string && b.k == kind::string) return value::string(a.s + b.s);
  if (op == "+" && a.k == kind::array && b.k == kind::array) {
    std::vector<value> items(*a.a);
    items.insert(items.end(), b.a->begin(), b.a->end());
    return value::array(std::move(items));
  }
  if (op == "*" && (a.k == kind::string || a.k == kind::array) && (b.k == kind::integer || b.k == kind::boolean)) {
    return repeat(a, as_int(b), prog_.opts.max_output_bytes, e.line);
  }
  if (op == "*" && (b.k == kind::string || b.k == kind::array) && (a.k == kind::integer || a.k == kind::boolean)) {
    return repeat(b, as_int(a), prog_.opts.max_output_bytes, e.line);
  }
  return type_error(e.line, "unsupported operand type(s) for " + op + ": '" + kind_name(a) + "' and '" +
                                kind_name(b) + "'");
}

}  // namespace r1::engine::jinja::detail
