#include "random_schema.h"

#include <string>
#include <vector>

namespace r1::constrain_test {
namespace {

using json = nlohmann::json;

class generator {
 public:
  generator(std::mt19937& rng, const random_schema_options& o) : rng_(rng), o_(o) {}

  json root() {
    if (chance(0.15)) {
      // A definition used through $ref (also recursively, with a bounded array).
      json def = value(1);
      json s = {{"$defs", {{"item", def}}}, {"type", "array"}, {"items", {{"$ref", "#/$defs/item"}}}, {"maxItems", pick(1, 3)}};
      if (chance(0.5)) {
        s = {{"$defs",
              {{"node", {{"type", "object"},
                         {"properties", {{"v", {{"type", "integer"}}},
                                         {"kids", {{"type", "array"}, {"items", {{"$ref", "#/$defs/node"}}}, {"maxItems", 2}}}}},
                         {"required", {"v"}},
                         {"additionalProperties", false}}}}},
             {"$ref", "#/$defs/node"}};
      }
      return s;
    }
    return chance(0.7) ? object(0) : value(0);
  }

 private:
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  std::string name() {
    static const std::vector<std::string> names = {"name", "age", "tags", "id", "when", "score", "ok", "items",
                                                   "caf\xc3\xa9", "a\"quote", "back\\slash", "x", "long_property_name", "n2"};
    return names[static_cast<size_t>(pick(0, static_cast<int>(names.size()) - 1))];
  }

  json string_schema() {
    json s = {{"type", "string"}};
    const int k = pick(0, 9);
    if (k < 2) {
      static const char* formats[] = {"date", "date-time", "uuid", "time"};
      s["format"] = formats[pick(0, 3)];
    } else if (k < 9 || !o_.bounded) {
      const int min = pick(0, 3);
      if (chance(0.5)) s["minLength"] = min;
      if (o_.bounded || chance(0.5)) s["maxLength"] = min + pick(0, 12);
    }
    if (chance(0.2)) s["description"] = "a string";
    return s;
  }

  json scalar() {
    switch (pick(0, 9)) {
      case 0:
      case 1:
      case 2: return string_schema();
      case 3: return {{"type", "integer"}};
      case 4: return {{"type", "number"}};
      case 5: return {{"type", "boolean"}};
      case 6: return {{"type", "null"}};
      case 7: return {{"enum", json::array({"red", "green", "bl\"ue", 7, nullptr, true})}};
      case 8: return {{"const", chance(0.5) ? json("fixed") : json({{"k", 1}, {"list", {1, 2}}})}};
      default: return {{"type", json::array({"string", "integer", "null"})}, {"maxLength", 5}};
    }
  }

  json value(int depth) {
    if (depth >= o_.max_depth) return scalar();
    const int k = pick(0, 9);
    if (k < 5) return scalar();
    if (k < 7) return object(depth + 1);
    if (k < 9) return array(depth + 1);
    if (chance(0.3)) {
      // oneOf is generated as anyOf, so its branches here never overlap.
      return {{"oneOf", json::array({{{"type", "integer"}}, {{"type", "string"}, {"maxLength", 4}}, {{"type", "null"}}})}};
    }
    json alts = json::array();
    const int n = pick(2, 3);
    for (int i = 0; i < n; ++i) alts.push_back(value(depth + 1));
    return {{"anyOf", alts}};
  }

  json object(int depth) {
    json s = {{"type", "object"}};
    if (chance(0.1)) {
      // Free keys: values per additionalProperties.
      s["additionalProperties"] = scalar();
      return s;
    }
    json props = json::object();
    json required = json::array();
    const int n = pick(1, 4);
    for (int i = 0; i < n; ++i) {
      const std::string key = name();
      if (props.contains(key)) continue;
      props[key] = value(depth);
      if (chance(0.6)) required.push_back(key);
    }
    s["properties"] = props;
    if (!required.empty()) s["required"] = required;
    if (chance(0.5)) s["additionalProperties"] = false;
    return s;
  }

  json array(int depth) {
    json s = {{"type", "array"}, {"items", value(depth)}};
    const int min = pick(0, 2);
    if (chance(0.5)) s["minItems"] = min;
    if (o_.bounded || chance(0.5)) s["maxItems"] = min + pick(0, 3);
    return s;
  }

  std::mt19937& rng_;
  random_schema_options o_;
};

}  // namespace

json random_schema(std::mt19937& rng, const random_schema_options& o) {
  generator g(rng, o);
  return g.root();
}

}  // namespace r1::constrain_test
