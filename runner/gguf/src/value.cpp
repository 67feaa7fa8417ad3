#include "r1/gguf/value.h"

#include <cstring>
#include <limits>

namespace r1::gguf {
namespace {

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// Reads one packed scalar as a signed 128-bit-safe pair: (is_integer, value).
// u64 values above INT64_MAX are reported separately through `big`.
bool load_integer(value_type t, const uint8_t* p, int64_t* v, uint64_t* big, bool* is_big) {
  *is_big = false;
  switch (t) {
    case value_type::u8: *v = load<uint8_t>(p); return true;
    case value_type::i8: *v = load<int8_t>(p); return true;
    case value_type::u16: *v = load<uint16_t>(p); return true;
    case value_type::i16: *v = load<int16_t>(p); return true;
    case value_type::u32: *v = load<uint32_t>(p); return true;
    case value_type::i32: *v = load<int32_t>(p); return true;
    case value_type::i64: *v = load<int64_t>(p); return true;
    case value_type::u64: {
      uint64_t u = load<uint64_t>(p);
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        *is_big = true;
        *big = u;
        return true;
      }
      *v = static_cast<int64_t>(u);
      return true;
    }
    default: return false;
  }
}

std::optional<double> load_float(value_type t, const uint8_t* p) {
  if (t == value_type::f32) return load<float>(p);
  if (t == value_type::f64) return load<double>(p);
  int64_t v;
  uint64_t big;
  bool is_big;
  if (!load_integer(t, p, &v, &big, &is_big)) return std::nullopt;
  return is_big ? static_cast<double>(big) : static_cast<double>(v);
}

}  // namespace

std::string_view value_type_name(value_type t) {
  switch (t) {
    case value_type::u8: return "u8";
    case value_type::i8: return "i8";
    case value_type::u16: return "u16";
    case value_type::i16: return "i16";
    case value_type::u32: return "u32";
    case value_type::i32: return "i32";
    case value_type::f32: return "f32";
    case value_type::boolean: return "bool";
    case value_type::string: return "string";
    case value_type::array: return "array";
    case value_type::u64: return "u64";
    case value_type::i64: return "i64";
    case value_type::f64: return "f64";
  }
  return "unknown";
}

size_t value_type_size(value_type t) {
  switch (t) {
    case value_type::u8: case value_type::i8: case value_type::boolean: return 1;
    case value_type::u16: case value_type::i16: return 2;
    case value_type::u32: case value_type::i32: case value_type::f32: return 4;
    case value_type::u64: case value_type::i64: case value_type::f64: return 8;
    case value_type::string: case value_type::array: return 0;
  }
  return 0;
}

bool is_integer_type(value_type t) {
  switch (t) {
    case value_type::u8: case value_type::i8: case value_type::u16: case value_type::i16:
    case value_type::u32: case value_type::i32: case value_type::u64: case value_type::i64:
      return true;
    default: return false;
  }
}

std::optional<uint64_t> kv::as_uint() const {
  if (type == value_type::array || !raw) return std::nullopt;
  int64_t v;
  uint64_t big;
  bool is_big;
  if (!load_integer(type, raw, &v, &big, &is_big)) return std::nullopt;
  if (is_big) return big;
  if (v < 0) return std::nullopt;
  return static_cast<uint64_t>(v);
}

std::optional<int64_t> kv::as_int() const {
  if (type == value_type::array || !raw) return std::nullopt;
  int64_t v;
  uint64_t big;
  bool is_big;
  if (!load_integer(type, raw, &v, &big, &is_big) || is_big) return std::nullopt;
  return v;
}

std::optional<double> kv::as_float() const {
  if (type == value_type::array || !raw) return std::nullopt;
  return load_float(type, raw);
}

std::optional<bool> kv::as_bool() const {
  if (type != value_type::boolean || !raw) return std::nullopt;
  return raw[0] != 0;
}

std::optional<int64_t> kv::int_at(uint64_t i) const {
  if (type != value_type::array || i >= count || !is_integer_type(elem_type)) return std::nullopt;
  int64_t v;
  uint64_t big;
  bool is_big;
  if (!load_integer(elem_type, raw + i * value_type_size(elem_type), &v, &big, &is_big) || is_big)
    return std::nullopt;
  return v;
}

std::optional<double> kv::float_at(uint64_t i) const {
  if (type != value_type::array || i >= count) return std::nullopt;
  size_t sz = value_type_size(elem_type);
  if (sz == 0 || elem_type == value_type::boolean) return std::nullopt;
  return load_float(elem_type, raw + i * sz);
}

}  // namespace r1::gguf
