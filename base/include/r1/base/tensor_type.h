// ggml tensor types as GGUF files store them: ids, block sizes, byte sizes.
// Shared by the GGUF reader (sizes and validation) and the kernels (dispatch).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace r1 {

enum class tensor_type : uint32_t {
  f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9,
  q2_k = 10, q3_k = 11, q4_k = 12, q5_k = 13, q6_k = 14, q8_k = 15,
  iq2_xxs = 16, iq2_xs = 17, iq3_xxs = 18, iq1_s = 19, iq4_nl = 20, iq3_s = 21, iq2_s = 22, iq4_xs = 23,
  i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1_m = 29, bf16 = 30,
  tq1_0 = 34, tq2_0 = 35, mxfp4 = 39,
};

struct tensor_type_info {
  tensor_type type;
  std::string_view name;    // "Q4_K", as llama.cpp prints it
  uint32_t block_elems;     // elements per block
  uint32_t block_bytes;     // bytes per block
};

// Facts about a type id read from a file; nullopt for unknown or retired ids (4, 5, 31-33, 36-38).
std::optional<tensor_type_info> lookup_tensor_type(uint32_t id);
// Same for a known enum value (never fails for the enumerators above).
const tensor_type_info& type_info(tensor_type t);
// By name, case-insensitive ("q4_k", "Q4_K", "bf16").
std::optional<tensor_type> parse_tensor_type(std::string_view name);

// Bytes for a row of n elements; n must be a multiple of block_elems (callers check with row_is_whole()).
inline uint64_t row_bytes(const tensor_type_info& t, uint64_t n) { return n / t.block_elems * t.block_bytes; }
inline bool row_is_whole(const tensor_type_info& t, uint64_t n) { return n % t.block_elems == 0; }

}  // namespace r1
