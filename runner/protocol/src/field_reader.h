// Reads typed fields out of a JSON object without throwing, remembering the
// first error with the field's name. Used by every from_json of the protocol.
#pragma once

#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "r1/base/status.h"

namespace r1::runner_protocol {

class field_reader {
 public:
  field_reader(const nlohmann::json& j, std::string what) : j_(j), what_(std::move(what)) {
    if (!j_.is_object()) fail("", "must be a JSON object");
  }

  bool ok() const { return err_.ok(); }
  const status& error() const { return err_; }
  bool has(const char* key) const { return j_.is_object() && j_.contains(key) && !j_.at(key).is_null(); }
  const nlohmann::json* raw(const char* key) const { return has(key) ? &j_.at(key) : nullptr; }

  void str(const char* key, std::string& out) {
    if (auto* v = raw(key)) {
      if (v->is_string()) out = v->get<std::string>();
      else fail(key, "must be a string");
    }
  }
  void boolean(const char* key, bool& out) {
    if (auto* v = raw(key)) {
      if (v->is_boolean()) out = v->get<bool>();
      else fail(key, "must be true or false");
    }
  }
  template <typename Int>
  // The default upper bound of an unsigned 64-bit field is INT64_MAX (its max would wrap to -1).
  void integer(const char* key, Int& out, int64_t lo = std::numeric_limits<Int>::min(),
               int64_t hi = static_cast<int64_t>(std::min<uint64_t>(std::numeric_limits<Int>::max(),
                                                                     std::numeric_limits<int64_t>::max()))) {
    if (auto* v = raw(key)) {
      if (v->is_number_integer() || (v->is_number_float() && v->get<double>() == static_cast<double>(static_cast<int64_t>(v->get<double>())))) {
        int64_t x = v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                        ? std::numeric_limits<int64_t>::max()
                        : v->get<int64_t>();
        if (x < lo || x > hi) fail(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
        else out = static_cast<Int>(x);
      } else {
        fail(key, "must be an integer");
      }
    }
  }
  void number(const char* key, double& out, double lo = -std::numeric_limits<double>::max(),
              double hi = std::numeric_limits<double>::max()) {
    if (auto* v = raw(key)) {
      if (!v->is_number()) return fail(key, "must be a number");
      double x = v->get<double>();
      if (!(x >= lo && x <= hi)) fail(key, "must be between " + fmt(lo) + " and " + fmt(hi));
      else out = x;
    }
  }
  void int_array(const char* key, std::vector<int32_t>& out) {
    if (auto* v = raw(key)) {
      if (!v->is_array()) return fail(key, "must be an array of integers");
      out.clear();
      out.reserve(v->size());
      for (const auto& e : *v) {
        if (!e.is_number_integer()) return fail(key, "must be an array of integers");
        int64_t x = e.get<int64_t>();
        if (x < std::numeric_limits<int32_t>::min() || x > std::numeric_limits<int32_t>::max())
          return fail(key, "has an element out of range");
        out.push_back(static_cast<int32_t>(x));
      }
    }
  }
  void str_array(const char* key, std::vector<std::string>& out) {
    if (auto* v = raw(key)) {
      if (v->is_string()) {
        out = {v->get<std::string>()};
        return;
      }
      if (!v->is_array()) return fail(key, "must be a string or an array of strings");
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

 private:
  static std::string fmt(double d) {
    std::string s = std::to_string(d);
    while (s.size() > 1 && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  }
  const nlohmann::json& j_;
  std::string what_;
  status err_;
};

}  // namespace r1::runner_protocol
