#include "schema_compiler.h"

#include <map>
#include <set>
#include <string>
#include <string_view>

namespace r1::constrain::detail {
namespace {

using json = nlohmann::json;

constexpr int max_schema_depth = 64;
constexpr uint64_t max_count = 4096;          // largest minItems / minLength we generate
constexpr uint64_t max_bounded = 1u << 24;    // larger maxima are treated as none

const std::set<std::string, std::less<>>& annotation_keywords() {
  static const std::set<std::string, std::less<>> k = {
      "title", "description", "default", "examples", "$comment", "$schema", "$id", "deprecated",
      "readOnly", "writeOnly", "$defs", "definitions", "$anchor"};
  return k;
}

const std::set<std::string, std::less<>>& value_keywords() {
  static const std::set<std::string, std::less<>> k = {
      "type", "enum", "const", "anyOf", "oneOf", "allOf", "$ref", "properties", "required",
      "additionalProperties", "items", "minItems", "maxItems", "uniqueItems", "minLength",
      "maxLength", "format"};
  return k;
}

std::string json_type_of(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "boolean";
  if (v.is_number_integer() || v.is_number_unsigned()) return "integer";
  if (v.is_number()) return "number";
  if (v.is_string()) return "string";
  if (v.is_array()) return "array";
  return "object";
}

bool type_admits(const std::string& type, const json& v) {
  const std::string t = json_type_of(v);
  if (type == t) return true;
  if (type == "number" && t == "integer") return true;
  // 2.0 is an integer for JSON Schema.
  return type == "integer" && v.is_number_float() && v.get<double>() == static_cast<double>(static_cast<int64_t>(v.get<double>()));
}

class compiler {
 public:
  explicit compiler(const compile_options& o) : o_(o) {}

  result<compiled_grammar> run(const spec& s) {
    std::vector<uint32_t> parts;
    for (size_t i = 0; i < s.parts.size(); ++i) {
      const part& p = s.parts[i];
      if (!p.schema) {
        if (!p.text.empty()) parts.push_back(literal(p.text));
        continue;
      }
      root_ = &*p.schema;
      strict_ = p.strict;
      refs_.clear();
      R1_ASSIGN_OR_RETURN(uint32_t v, schema(*p.schema, "", 0));
      parts.push_back(seq({ws(), v}));
      R1_RETURN_IF_ERROR(check_size());
    }
    compiled_grammar g;
    const uint32_t root = seq(std::move(parts));
    g.nodes = std::move(nodes_);
    g.root = root;
    return g;
  }

 private:
  // ---- node builders
  uint32_t add(node n) {
    nodes_.push_back(std::move(n));
    return static_cast<uint32_t>(nodes_.size() - 1);
  }
  uint32_t literal(std::string text) {
    node n;
    n.kind = node_kind::literal;
    n.text = std::move(text);
    return add(std::move(n));
  }
  uint32_t bytes(std::string_view chars) {
    node n;
    n.kind = node_kind::bytes;
    for (char c : chars) add_byte(n.set, static_cast<uint8_t>(c));
    return add(std::move(n));
  }
  uint32_t range(char lo, char hi) {
    node n;
    n.kind = node_kind::bytes;
    for (int c = lo; c <= hi; ++c) add_byte(n.set, static_cast<uint8_t>(c));
    return add(std::move(n));
  }
  uint32_t seq(std::vector<uint32_t> kids) {
    node n;
    n.kind = node_kind::seq;
    n.kids = std::move(kids);
    return add(std::move(n));
  }
  uint32_t alt(std::vector<uint32_t> kids) {
    if (kids.size() == 1) return kids[0];
    node n;
    n.kind = node_kind::alt;
    n.kids = std::move(kids);
    return add(std::move(n));
  }
  uint32_t optional(uint32_t kid) { return alt({seq({}), kid}); }
  uint32_t repeat(uint32_t item, uint32_t sep, uint32_t min, uint32_t max) {
    node n;
    n.kind = node_kind::repeat;
    n.kids = {item, sep};
    n.min = min;
    n.max = max;
    return add(std::move(n));
  }
  uint32_t str_chars(uint32_t min, uint32_t max) {
    node n;
    n.kind = node_kind::str_chars;
    n.min = min;
    n.max = max;
    return add(std::move(n));
  }
  uint32_t ws() {
    if (ws_ == no_node) ws_ = repeat(bytes(" \t\n"), no_node, 0, o_.max_whitespace);
    return ws_;
  }
  uint32_t digits(uint32_t min, uint32_t max) { return repeat(range('0', '9'), no_node, min, max); }
  uint32_t hex(uint32_t n) { return repeat(bytes("0123456789abcdef"), no_node, n, n); }
  status check_size() const {
    if (nodes_.size() > o_.max_nodes) {
      return resource_exhausted("the schema needs more than " + std::to_string(o_.max_nodes) + " grammar nodes");
    }
    return ok_status();
  }

  // ---- JSON pieces
  uint32_t integer() {
    if (integer_ == no_node) {
      integer_ = seq({optional(literal("-")), alt({literal("0"), seq({range('1', '9'), digits(0, 14)})})});
    }
    return integer_;
  }
  uint32_t number() {
    if (number_ == no_node) {
      const uint32_t frac = optional(seq({literal("."), digits(1, 15)}));
      const uint32_t exp = optional(seq({bytes("eE"), optional(bytes("+-")), digits(1, 2)}));
      number_ = seq({integer(), frac, exp});
    }
    return number_;
  }
  uint32_t string(uint32_t min, uint32_t max) { return seq({literal("\""), str_chars(min, max), literal("\"")}); }
  uint32_t any_value() {
    if (any_ != no_node) return any_;
    any_ = add(node{node_kind::alt, {}, {}, {}, 0, 0});
    const uint32_t str = string(0, unbounded);
    const uint32_t member = seq({str, ws(), literal(":"), ws(), any_, ws()});
    const uint32_t obj = seq({literal("{"), ws(), repeat(member, seq({literal(","), ws()}), 0, unbounded), literal("}")});
    const uint32_t arr = seq({literal("["), ws(), repeat(seq({any_, ws()}), seq({literal(","), ws()}), 0, unbounded), literal("]")});
    nodes_[any_].kids = {obj, arr, str, number(), literal("true"), literal("false"), literal("null")};
    return any_;
  }

  // ---- schema
  static status unsupported(const std::string& path, const std::string& what) {
    return invalid_argument("unsupported JSON schema keyword " + what + " at " + (path.empty() ? "/" : path));
  }
  static status bad(const std::string& path, const std::string& what) {
    return invalid_argument("invalid JSON schema at " + (path.empty() ? "/" : path) + ": " + what);
  }

  result<uint64_t> count_of(const json& s, const char* key, const std::string& path, uint64_t fallback) {
    auto it = s.find(key);
    if (it == s.end()) return fallback;
    if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0)) {
      return bad(path + "/" + key, "must be a non-negative integer");
    }
    return it->get<uint64_t>();
  }

  result<uint32_t> schema(const json& s, const std::string& path, int depth) {
    if (depth > max_schema_depth) return bad(path, "nested deeper than " + std::to_string(max_schema_depth) + " levels");
    R1_RETURN_IF_ERROR(check_size());
    if (s.is_boolean()) {
      if (s.get<bool>()) return any_value();
      return bad(path, "the schema false admits no value");
    }
    if (!s.is_object()) return bad(path, "a schema must be an object or a boolean");
    bool has_value_keyword = false;
    for (auto it = s.begin(); it != s.end(); ++it) {
      if (annotation_keywords().count(it.key())) continue;
      if (!value_keywords().count(it.key())) return unsupported(path, "\"" + it.key() + "\"");
      has_value_keyword = true;
    }
    if (!has_value_keyword) return any_value();
    if (s.contains("$ref")) return reference(s, path, depth);
    if (s.contains("anyOf") || s.contains("oneOf") || s.contains("allOf")) return combination(s, path, depth);
    std::vector<std::string> types;
    R1_RETURN_IF_ERROR(types_of(s, path, types));
    if (s.contains("const")) return constant(s["const"], types, path + "/const");
    if (s.contains("enum")) return enumeration(s["enum"], types, path + "/enum");
    if (types.empty()) return any_value();
    std::vector<uint32_t> alts;
    for (const std::string& t : types) {
      R1_ASSIGN_OR_RETURN(uint32_t n, typed(t, s, path, depth));
      alts.push_back(n);
    }
    return alt(std::move(alts));
  }

  status types_of(const json& s, const std::string& path, std::vector<std::string>& out) {
    static const std::set<std::string, std::less<>> names = {"null", "boolean", "integer", "number", "string", "array", "object"};
    auto it = s.find("type");
    if (it == s.end()) {
      // No type: inferred from the keywords present, else any value.
      if (s.contains("properties") || s.contains("required") || s.contains("additionalProperties")) out.push_back("object");
      if (s.contains("items") || s.contains("minItems") || s.contains("maxItems")) out.push_back("array");
      if (s.contains("minLength") || s.contains("maxLength") || s.contains("format")) out.push_back("string");
      return ok_status();
    }
    std::vector<json> list = it->is_array() ? it->get<std::vector<json>>() : std::vector<json>{*it};
    if (list.empty()) return bad(path + "/type", "an empty list of types");
    for (const json& t : list) {
      if (!t.is_string() || !names.count(t.get<std::string>())) return bad(path + "/type", "unknown type " + t.dump());
      const std::string name = t.get<std::string>();
      if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    }
    return ok_status();
  }

  static bool admitted(const json& v, const std::vector<std::string>& types) {
    if (types.empty()) return true;
    for (const std::string& t : types) {
      if (type_admits(t, v)) return true;
    }
    return false;
  }

  result<uint32_t> constant(const json& v, const std::vector<std::string>& types, const std::string& path) {
    if (!admitted(v, types)) return bad(path, "the value " + v.dump() + " does not have the schema's type");
    return literal(v.dump(-1, ' ', false, json::error_handler_t::replace));
  }

  result<uint32_t> enumeration(const json& e, const std::vector<std::string>& types, const std::string& path) {
    if (!e.is_array() || e.empty()) return bad(path, "enum must be a non-empty array");
    std::vector<uint32_t> alts;
    std::set<std::string> seen;
    for (const json& v : e) {
      if (!admitted(v, types)) continue;
      std::string text = v.dump(-1, ' ', false, json::error_handler_t::replace);
      if (seen.insert(text).second) alts.push_back(literal(std::move(text)));
    }
    if (alts.empty()) return bad(path, "no enum value has the schema's type");
    return alt(std::move(alts));
  }

  static bool only_annotations_besides(const json& s, std::initializer_list<const char*> allowed, std::string* offending) {
    for (auto it = s.begin(); it != s.end(); ++it) {
      if (annotation_keywords().count(it.key())) continue;
      bool ok = false;
      for (const char* a : allowed) ok = ok || it.key() == a;
      if (!ok) {
        *offending = it.key();
        return false;
      }
    }
    return true;
  }

  result<uint32_t> reference(const json& s, const std::string& path, int depth) {
    std::string other;
    if (!only_annotations_besides(s, {"$ref"}, &other)) return unsupported(path, "\"" + other + "\" next to $ref");
    const json& r = s["$ref"];
    if (!r.is_string()) return bad(path + "/$ref", "must be a string");
    const std::string ref = r.get<std::string>();
    if (auto it = refs_.find(ref); it != refs_.end()) return it->second;
    if (ref.empty() || ref[0] != '#') return unsupported(path + "/$ref", "(only local references \"#/...\" are supported)");
    const json* target = root_;
    size_t i = 1;
    if (ref.size() > 1 && ref[1] != '/') return unsupported(path + "/$ref", "(anchors are not supported)");
    while (i < ref.size()) {
      size_t next = ref.find('/', i + 1);
      if (next == std::string::npos) next = ref.size();
      std::string token = ref.substr(i + 1, next - i - 1);
      for (size_t p = 0; (p = token.find('~', p)) != std::string::npos; ++p) {
        if (p + 1 < token.size() && token[p + 1] == '1') token.replace(p, 2, "/");
        else if (p + 1 < token.size() && token[p + 1] == '0') token.replace(p, 2, "~");
      }
      if (target->is_object() && target->contains(token)) {
        target = &(*target)[token];
      } else if (target->is_array() && !token.empty() && token.find_first_not_of("0123456789") == std::string::npos &&
                 token.size() < 9 && std::stoul(token) < target->size()) {
        target = &(*target)[std::stoul(token)];
      } else {
        return bad(path + "/$ref", "\"" + ref + "\" does not resolve");
      }
      i = next;
    }
    // A placeholder first, so recursive schemas refer back to it.
    const uint32_t slot = add(node{node_kind::alt, {}, {}, {}, 0, 0});
    refs_[ref] = slot;
    R1_ASSIGN_OR_RETURN(uint32_t body, schema(*target, ref.substr(1), depth + 1));
    nodes_[slot].kids = {body};
    return slot;
  }

  result<uint32_t> combination(const json& s, const std::string& path, int depth) {
    const char* key = s.contains("anyOf") ? "anyOf" : s.contains("oneOf") ? "oneOf" : "allOf";
    std::string other;
    if (!only_annotations_besides(s, {key}, &other)) return unsupported(path, "\"" + other + "\" next to " + key);
    const json& list = s[key];
    if (!list.is_array() || list.empty()) return bad(path + "/" + key, "must be a non-empty array");
    if (std::string(key) == "allOf") {
      if (list.size() != 1) return unsupported(path + "/allOf", "with more than one schema");
      return schema(list[0], path + "/allOf/0", depth + 1);
    }
    std::vector<uint32_t> alts;
    for (size_t i = 0; i < list.size(); ++i) {
      R1_ASSIGN_OR_RETURN(uint32_t n, schema(list[i], path + "/" + key + "/" + std::to_string(i), depth + 1));
      alts.push_back(n);
    }
    return alt(std::move(alts));
  }

  result<uint32_t> typed(const std::string& t, const json& s, const std::string& path, int depth) {
    if (t == "null") return literal("null");
    if (t == "boolean") return alt({literal("true"), literal("false")});
    if (t == "integer") return integer();
    if (t == "number") return number();
    if (t == "string") return string_schema(s, path);
    if (t == "array") return array_schema(s, path, depth);
    return object_schema(s, path, depth);
  }

  result<uint32_t> string_schema(const json& s, const std::string& path) {
    R1_ASSIGN_OR_RETURN(uint64_t min, count_of(s, "minLength", path, 0));
    R1_ASSIGN_OR_RETURN(uint64_t max, count_of(s, "maxLength", path, unbounded));
    if (min > max_count) return bad(path + "/minLength", "larger than " + std::to_string(max_count));
    if (max < min) return bad(path, "maxLength is below minLength");
    if (max > max_bounded) max = unbounded;
    if (auto f = s.find("format"); f != s.end()) {
      if (!f->is_string()) return bad(path + "/format", "must be a string");
      if (s.contains("minLength") || s.contains("maxLength")) return unsupported(path, "\"format\" with minLength/maxLength");
      return formatted(f->get<std::string>(), path + "/format");
    }
    return string(static_cast<uint32_t>(min), static_cast<uint32_t>(max));
  }

  uint32_t date() {
    const uint32_t month = alt({seq({literal("0"), range('1', '9')}), seq({literal("1"), range('0', '2')})});
    // Days 01..28 exist in every month, so no calendar is needed.
    const uint32_t day = alt({seq({literal("0"), range('1', '9')}), seq({range('1', '2'), range('0', '8')}),
                              seq({literal("1"), literal("9")})});
    return seq({digits(4, 4), literal("-"), month, literal("-"), day});
  }
  uint32_t time() {
    const uint32_t hour = alt({seq({range('0', '1'), range('0', '9')}), seq({literal("2"), range('0', '3')})});
    const uint32_t sixty = seq({range('0', '5'), range('0', '9')});
    const uint32_t frac = optional(seq({literal("."), digits(1, 6)}));
    const uint32_t zone = alt({literal("Z"), seq({bytes("+-"), hour, literal(":"), sixty})});
    return seq({hour, literal(":"), sixty, literal(":"), sixty, frac, zone});
  }

  result<uint32_t> formatted(const std::string& f, const std::string& path) {
    uint32_t body = no_node;
    if (f == "date") {
      body = date();
    } else if (f == "time") {
      body = time();
    } else if (f == "date-time") {
      body = seq({date(), literal("T"), time()});
    } else if (f == "uuid") {
      body = seq({hex(8), literal("-"), hex(4), literal("-"), hex(4), literal("-"), hex(4), literal("-"), hex(12)});
    } else {
      return unsupported(path, "format \"" + f + "\" (supported: date, time, date-time, uuid)");
    }
    return seq({literal("\""), body, literal("\"")});
  }

  result<uint32_t> array_schema(const json& s, const std::string& path, int depth) {
    if (auto u = s.find("uniqueItems"); u != s.end() && !(u->is_boolean() && !u->get<bool>())) {
      return unsupported(path, "\"uniqueItems\": true");
    }
    R1_ASSIGN_OR_RETURN(uint64_t min, count_of(s, "minItems", path, 0));
    R1_ASSIGN_OR_RETURN(uint64_t max, count_of(s, "maxItems", path, unbounded));
    if (min > max_count) return bad(path + "/minItems", "larger than " + std::to_string(max_count));
    if (max < min) return bad(path, "maxItems is below minItems");
    if (max > max_bounded) max = unbounded;
    uint32_t item = no_node;
    if (auto it = s.find("items"); it != s.end()) {
      if (it->is_array()) return unsupported(path + "/items", "as an array (tuple validation)");
      R1_ASSIGN_OR_RETURN(item, schema(*it, path + "/items", depth + 1));
    } else {
      item = any_value();
    }
    const uint32_t items = repeat(seq({item, ws()}), seq({literal(","), ws()}), static_cast<uint32_t>(min), static_cast<uint32_t>(max));
    return seq({literal("["), ws(), items, literal("]")});
  }

  result<uint32_t> object_schema(const json& s, const std::string& path, int depth);

  const compile_options o_;
  std::vector<node> nodes_;
  const json* root_ = nullptr;
  bool strict_ = false;
  std::map<std::string, uint32_t> refs_;
  uint32_t ws_ = no_node, integer_ = no_node, number_ = no_node, any_ = no_node;
};

result<uint32_t> compiler::object_schema(const json& s, const std::string& path, int depth) {
  const json empty = json::object();
  auto pit = s.find("properties");
  if (pit != s.end() && !pit->is_object()) return bad(path + "/properties", "must be an object");
  const json& props = pit != s.end() ? *pit : empty;
  std::vector<std::string> required;
  if (auto r = s.find("required"); r != s.end()) {
    if (!r->is_array()) return bad(path + "/required", "must be an array of names");
    for (const json& n : *r) {
      if (!n.is_string()) return bad(path + "/required", "must be an array of names");
      if (std::find(required.begin(), required.end(), n.get<std::string>()) == required.end()) required.push_back(n.get<std::string>());
    }
  }
  json additional = strict_ ? json(false) : json(true);
  if (auto a = s.find("additionalProperties"); a != s.end()) {
    if (!a->is_boolean() && !a->is_object()) return bad(path + "/additionalProperties", "must be a boolean or a schema");
    additional = *a;
  }
  // Members in order: declared properties, then required names that are not declared.
  struct member {
    std::string name;
    const json* schema;
    bool required;
  };
  std::vector<member> members;
  for (auto it = props.begin(); it != props.end(); ++it) {
    const bool req = std::find(required.begin(), required.end(), it.key()) != required.end();
    members.push_back({it.key(), &it.value(), req});
  }
  for (const std::string& r : required) {
    if (props.contains(r)) continue;
    if (additional.is_boolean() && !additional.get<bool>()) {
      return bad(path + "/required", "\"" + r + "\" is required but additional properties are not allowed");
    }
    members.push_back({r, &additional, true});
  }
  const uint32_t comma = seq({literal(","), ws()});
  if (members.empty()) {
    if (additional.is_boolean() && !additional.get<bool>()) return seq({literal("{"), ws(), literal("}")});
    R1_ASSIGN_OR_RETURN(uint32_t value, schema(additional, path + "/additionalProperties", depth + 1));
    const uint32_t kv = seq({string(0, unbounded), ws(), literal(":"), ws(), value, ws()});
    return seq({literal("{"), ws(), repeat(kv, comma, 0, unbounded), literal("}")});
  }
  std::vector<uint32_t> kv(members.size());
  for (size_t i = 0; i < members.size(); ++i) {
    const std::string key = json(members[i].name).dump(-1, ' ', false, json::error_handler_t::replace);
    R1_ASSIGN_OR_RETURN(uint32_t value, schema(*members[i].schema, path + "/properties/" + members[i].name, depth + 1));
    kv[i] = seq({literal(key), ws(), literal(":"), ws(), value, ws()});
  }
  // first[i]: members i.. when none was written yet; rest[i]: after one was (each needs a comma).
  const size_t n = members.size();
  std::vector<uint32_t> first(n + 1), rest(n + 1);
  first[n] = rest[n] = seq({});
  for (size_t k = n; k-- > 0;) {
    const uint32_t with_comma = seq({comma, kv[k]});
    rest[k] = members[k].required ? seq({with_comma, rest[k + 1]}) : seq({optional(with_comma), rest[k + 1]});
    const uint32_t take = seq({kv[k], rest[k + 1]});
    first[k] = members[k].required ? take : alt({take, first[k + 1]});
  }
  return seq({literal("{"), ws(), first[0], literal("}")});
}

}  // namespace

result<compiled_grammar> compile_spec(const spec& s, const compile_options& o) {
  if (s.parts.empty()) return invalid_argument("the constraint has no parts");
  compiler c(o);
  return c.run(s);
}

}  // namespace r1::constrain::detail
