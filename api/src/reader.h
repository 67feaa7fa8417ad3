// Reads typed fields out of a request object without throwing. The first
// problem is remembered with the field's name ("chat request: field
// 'options.top_k' must be an integer"); later reads become no-ops.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "r1/base/status.h"

namespace r1::api::detail {

class reader {
 public:
  reader(const nlohmann::json& j, std::string what) : j_(j), what_(std::move(what)) {
    if (!j_.is_object()) fail("", "must be a JSON object");
  }

  bool ok() const { return err_.ok(); }
  const status& error() const { return err_; }
  bool has(const char* key) const { return j_.is_object() && j_.contains(key) && !j_.at(key).is_null(); }
  const nlohmann::json* raw(const char* key) const { return has(key) ? &j_.at(key) : nullptr; }

  void str(const char* key, std::string& out, size_t max_len = size_t{64} << 20) {
    if (auto* v = raw(key)) {
      if (!v->is_string()) return fail(key, "must be a string");
      const auto& s = v->get_ref<const std::string&>();
      if (s.size() > max_len) return fail(key, "is longer than " + std::to_string(max_len) + " bytes");
      out = s;
    }
  }
  // A string that must be present and not empty.
  void required_str(const char* key, std::string& out, size_t max_len) {
    str(key, out, max_len);
    if (ok() && out.empty()) fail(key, "is required");
  }
  void boolean(const char* key, bool& out) {
    if (auto* v = raw(key)) {
      if (v->is_boolean()) out = v->get<bool>();
      else fail(key, "must be true or false");
    }
  }
  void opt_boolean(const char* key, std::optional<bool>& out) {
    if (auto* v = raw(key)) {
      if (v->is_boolean()) out = v->get<bool>();
      else fail(key, "must be true or false");
    }
  }
  template <typename Int>
  void integer(const char* key, Int& out, int64_t lo, int64_t hi) {
    if (auto* v = raw(key)) {
      int64_t x = 0;
      if (!as_int(*v, &x)) return fail(key, "must be an integer");
      if (x < lo || x > hi) return fail(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
      out = static_cast<Int>(x);
    }
  }
  void number(const char* key, double& out, double lo, double hi) {
    if (auto* v = raw(key)) {
      if (!v->is_number()) return fail(key, "must be a number");
      double x = v->get<double>();
      if (!std::isfinite(x) || x < lo || x > hi) return fail(key, "must be between " + fmt(lo) + " and " + fmt(hi));
      out = x;
    }
  }
  void int_array(const char* key, std::vector<int32_t>& out, size_t max_items) {
    if (auto* v = raw(key)) {
      if (!v->is_array()) return fail(key, "must be an array of integers");
      if (v->size() > max_items) return fail(key, "has more than " + std::to_string(max_items) + " items");
      out.clear();
      for (const auto& e : *v) {
        int64_t x = 0;
        if (!as_int(e, &x) || x < 0 || x > std::numeric_limits<int32_t>::max())
          return fail(key, "must be an array of non-negative token ids");
        out.push_back(static_cast<int32_t>(x));
      }
    }
  }
  // A string or an array of strings.
  void str_list(const char* key, std::vector<std::string>& out, size_t max_items) {
    if (auto* v = raw(key)) {
      if (v->is_string()) {
        out = {v->get<std::string>()};
        return;
      }
      if (!v->is_array()) return fail(key, "must be a string or an array of strings");
      if (v->size() > max_items) return fail(key, "has more than " + std::to_string(max_items) + " items");
      out.clear();
      for (const auto& e : *v) {
        if (!e.is_string()) return fail(key, "must be an array of strings");
        out.push_back(e.get<std::string>());
      }
    }
  }
  void fail(const std::string& key, const std::string& msg) {
    if (!err_.ok()) return;
    err_ = invalid_argument(what_ + (key.empty() ? "" : ": field '" + key + "'") + " " + msg);
  }

  static bool as_int(const nlohmann::json& v, int64_t* out) {
    if (v.is_number_unsigned()) {
      uint64_t u = v.get<uint64_t>();
      *out = u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ? std::numeric_limits<int64_t>::max()
                                                                            : static_cast<int64_t>(u);
      return true;
    }
    if (v.is_number_integer()) {
      *out = v.get<int64_t>();
      return true;
    }
    if (v.is_number_float()) {
      double d = v.get<double>();
      if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9.0e15) return false;
      *out = static_cast<int64_t>(d);
      return true;
    }
    return false;
  }
  static std::string fmt(double d) {
    std::string s = std::to_string(d);
    while (s.size() > 1 && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  }

 private:
  const nlohmann::json& j_;
  std::string what_;
  status err_;
};

}  // namespace r1::api::detail
