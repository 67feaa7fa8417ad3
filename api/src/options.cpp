#include "r1/api/options.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <variant>

#include "r1/base/config.h"
#include "reader.h"

namespace r1::api {

namespace {

using json = nlohmann::json;

struct int_field {
  int32_t model_options::*member;
  int64_t lo, hi;
};
struct int64_field {
  int64_t model_options::*member;
  int64_t lo, hi;
};
struct double_field {
  double model_options::*member;
  double lo, hi;
};
struct bool_field {
  bool model_options::*member;
};
struct stop_field {};

struct option_entry {
  const char* name;
  bool load_time;
  std::variant<int_field, int64_field, double_field, bool_field, stop_field> field;
};

constexpr int64_t k_int_max = std::numeric_limits<int32_t>::max();
constexpr size_t k_max_stop = 64;
constexpr size_t k_max_stop_len = 1024;

const std::vector<option_entry>& table() {
  static const std::vector<option_entry> t = {
      {"num_keep", false, int_field{&model_options::num_keep, -1, k_int_max}},
      {"seed", false, int64_field{&model_options::seed, -1, std::numeric_limits<int64_t>::max()}},
      {"num_predict", false, int_field{&model_options::num_predict, -2, k_int_max}},
      {"top_k", false, int_field{&model_options::top_k, 0, 1000000}},
      {"top_p", false, double_field{&model_options::top_p, 0.0, 1.0}},
      {"min_p", false, double_field{&model_options::min_p, 0.0, 1.0}},
      {"typical_p", false, double_field{&model_options::typical_p, 0.0, 1.0}},
      {"repeat_last_n", false, int_field{&model_options::repeat_last_n, -1, k_int_max}},
      {"temperature", false, double_field{&model_options::temperature, 0.0, 100.0}},
      {"repeat_penalty", false, double_field{&model_options::repeat_penalty, 0.0, 100.0}},
      {"presence_penalty", false, double_field{&model_options::presence_penalty, -100.0, 100.0}},
      {"frequency_penalty", false, double_field{&model_options::frequency_penalty, -100.0, 100.0}},
      {"stop", false, stop_field{}},
      {"reasoning_budget", false, int_field{&model_options::reasoning_budget, -1, k_int_max}},
      {"num_ctx", true, int_field{&model_options::num_ctx, 0, 1 << 24}},
      {"num_batch", true, int_field{&model_options::num_batch, 1, 1 << 20}},
      {"num_gpu", true, int_field{&model_options::num_gpu, -1, 100000}},
      {"main_gpu", true, int_field{&model_options::main_gpu, 0, 1024}},
      {"num_thread", true, int_field{&model_options::num_thread, 0, 1024}},
      {"use_mmap", true, bool_field{&model_options::use_mmap}},
  };
  return t;
}

const option_entry* find(std::string_view name) {
  for (const auto& e : table())
    if (name == e.name) return &e;
  return nullptr;
}

std::string range_text(double lo, double hi) { return detail::reader::fmt(lo) + " and " + detail::reader::fmt(hi); }

status bad(std::string_view name, const std::string& why) {
  return invalid_argument("option '" + std::string(name) + "' " + why);
}

status add_stops(const json& v, model_options* opts, bool accumulate) {
  std::vector<std::string> stops;
  if (v.is_string()) {
    stops.push_back(v.get<std::string>());
  } else if (v.is_array()) {
    for (const auto& s : v) {
      if (!s.is_string()) return bad("stop", "must be a string or an array of strings");
      stops.push_back(s.get<std::string>());
    }
  } else {
    return bad("stop", "must be a string or an array of strings");
  }
  if (!accumulate) opts->stop.clear();
  for (auto& s : stops) {
    if (s.empty()) continue;
    if (s.size() > k_max_stop_len) return bad("stop", "has a string longer than 1024 bytes");
    bool dup = false;
    for (const auto& have : opts->stop) dup = dup || have == s;
    if (!dup) opts->stop.push_back(std::move(s));
  }
  if (opts->stop.size() > k_max_stop) return bad("stop", "has more than 64 strings");
  return {};
}

status apply_one(const option_entry& e, const json& v, model_options* opts, bool accumulate_stop) {
  return std::visit(
      [&](const auto& f) -> status {
        using F = std::decay_t<decltype(f)>;
        if constexpr (std::is_same_v<F, int_field> || std::is_same_v<F, int64_field>) {
          int64_t x = 0;
          if (!detail::reader::as_int(v, &x)) return bad(e.name, "must be an integer");
          if (x < f.lo || x > f.hi) return bad(e.name, "must be between " + std::to_string(f.lo) + " and " + std::to_string(f.hi));
          opts->*f.member = static_cast<std::remove_reference_t<decltype(opts->*f.member)>>(x);
          return {};
        } else if constexpr (std::is_same_v<F, double_field>) {
          if (!v.is_number()) return bad(e.name, "must be a number");
          double x = v.get<double>();
          if (!std::isfinite(x) || x < f.lo || x > f.hi) return bad(e.name, "must be between " + range_text(f.lo, f.hi));
          opts->*f.member = x;
          return {};
        } else if constexpr (std::is_same_v<F, bool_field>) {
          if (!v.is_boolean()) return bad(e.name, "must be true or false");
          opts->*f.member = v.get<bool>();
          return {};
        } else {
          return add_stops(v, opts, accumulate_stop);
        }
      },
      e.field);
}

// Text -> JSON value of the option's kind (Modelfile PARAMETER lines).
result<json> typed_value(const option_entry& e, std::string_view text) {
  text = trim(text);
  if (std::holds_alternative<stop_field>(e.field)) {
    std::string s(text);
    if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
    return json(s);
  }
  if (std::holds_alternative<bool_field>(e.field)) {
    if (text == "true" || text == "1") return json(true);
    if (text == "false" || text == "0") return json(false);
    return bad(e.name, "must be true or false, not '" + std::string(text) + "'");
  }
  if (std::holds_alternative<double_field>(e.field)) {
    std::string s(text);
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size()) return bad(e.name, "must be a number, not '" + s + "'");
    return json(d);
  }
  int64_t x = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), x);
  if (ec != std::errc() || ptr != text.data() + text.size())
    return bad(e.name, "must be an integer, not '" + std::string(text) + "'");
  return json(x);
}

}  // namespace

std::vector<std::string> option_names() {
  std::vector<std::string> names;
  for (const auto& e : table()) names.emplace_back(e.name);
  return names;
}

bool is_load_option(std::string_view name) {
  const auto* e = find(name);
  return e && e->load_time;
}

status apply_options(const json& obj, model_options* opts, std::vector<std::string>* ignored, bool accumulate_stop) {
  if (obj.is_null()) return {};
  if (!obj.is_object()) return invalid_argument("options must be a JSON object");
  for (const auto& [key, value] : obj.items()) {
    const auto* e = find(key);
    if (!e) {
      if (ignored) ignored->push_back(key);
      continue;
    }
    if (value.is_null()) continue;
    R1_RETURN_IF_ERROR(apply_one(*e, value, opts, accumulate_stop));
  }
  return {};
}

status apply_parameter(std::string_view name, std::string_view value, model_options* opts) {
  const auto* e = find(name);
  if (!e) return invalid_argument("unknown parameter '" + std::string(name) + "'");
  R1_ASSIGN_OR_RETURN(json v, typed_value(*e, value));
  return apply_one(*e, v, opts, /*accumulate_stop=*/true);
}

result<json> parameters_to_json(const std::vector<std::pair<std::string, std::string>>& params) {
  json out = json::object();
  model_options scratch;
  for (const auto& [name, text] : params) {
    const auto* e = find(name);
    if (!e) return invalid_argument("unknown parameter '" + name + "'");
    R1_ASSIGN_OR_RETURN(json v, typed_value(*e, text));
    R1_RETURN_IF_ERROR(apply_one(*e, v, &scratch, true));  // validates the range
    if (std::holds_alternative<stop_field>(e->field)) {
      if (!out.contains("stop")) out["stop"] = json::array();
      out["stop"].push_back(v);
    } else {
      out[name] = v;
    }
  }
  return out;
}

std::string parameters_text(const json& params_layer) {
  std::string out;
  if (!params_layer.is_object()) return out;
  // Appended piece by piece: GCC 12 reports a false -Wrestrict on `"\"" + s + "\""` at -O3.
  auto line = [&](const std::string& k, const json& v) {
    out += k;
    out.append(k.size() < 30 ? 30 - k.size() : 1, ' ');
    if (v.is_string()) {
      out += '"';
      out += v.get_ref<const std::string&>();
      out += '"';
    } else {
      out += v.dump();
    }
    out += '\n';
  };
  for (const auto& [k, v] : params_layer.items()) {
    if (v.is_array()) {
      for (const auto& e : v) line(k, e);
    } else {
      line(k, v);
    }
  }
  return out;
}

}  // namespace r1::api
