// GGUF metadata values: the 13 value types and one read key/value entry.
//
// A `kv` is a view into the bytes of an open gguf::file: its string_views and
// raw pointers stay valid as long as that file object (or the model_files that
// owns it) lives. Not thread-hostile: read-only after parsing, so any number of
// threads may read it concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace r1::gguf {

// Value type ids exactly as stored in a GGUF file (enum gguf_type).
enum class value_type : uint32_t {
  u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7,
  string = 8, array = 9, u64 = 10, i64 = 11, f64 = 12,
};
inline constexpr uint32_t k_value_type_count = 13;

// "u32", "string", "array"...; "unknown" for ids outside the table.
std::string_view value_type_name(value_type t);
// Bytes of one packed scalar; 0 for string and array.
size_t value_type_size(value_type t);
bool is_integer_type(value_type t);

// One metadata entry of a parsed file.
struct kv {
  std::string_view key;
  value_type type = value_type::u8;
  // Scalars: the little-endian value bytes. Scalar arrays: the packed elements.
  const uint8_t* raw = nullptr;
  std::string_view str;                    // type == string
  value_type elem_type = value_type::u8;   // type == array
  uint64_t count = 0;                      // type == array: number of elements
  std::vector<std::string_view> strings;   // type == array of strings

  // Scalar conversions; nullopt when the type does not convert (an integer
  // accessor on a float, a negative value for as_uint, ...).
  std::optional<uint64_t> as_uint() const;
  std::optional<int64_t> as_int() const;
  std::optional<double> as_float() const;  // f32, f64 and integers
  std::optional<bool> as_bool() const;     // bool only

  // Element i of a scalar array (i < count); same conversion rules as above.
  std::optional<int64_t> int_at(uint64_t i) const;
  std::optional<double> float_at(uint64_t i) const;
};

}  // namespace r1::gguf
