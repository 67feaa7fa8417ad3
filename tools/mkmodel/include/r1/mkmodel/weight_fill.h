// Seeded, reproducible tensor contents for test models. Each row is drawn
// from its own generator state (seed, tensor name, row index), so the bytes do
// not depend on how the writer chunks rows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "r1/base/status.h"
#include "r1/base/tensor_type.h"

namespace r1::mkmodel {

enum class fill_kind {
  weight,      // uniform with std 1/sqrt(fan_in), fan_in = row length
  norm,        // 1 + uniform with std 0.05
  bias,        // uniform with std 0.02
  rope_freqs,  // Llama-3.1 per-pair divisors (factor 8, low 1, high 4, original context 8192)
};

struct fill_desc {
  std::string name;
  tensor_type type = tensor_type::f32;
  uint64_t row_len = 0;  // ne[0]
  fill_kind kind = fill_kind::weight;
  uint64_t seed = 0;
  float rope_base = 10000.0f;  // rope_freqs only
  float scale = 1.0f;          // weight only: std scale/sqrt(fan_in)
};

// Fills rows [first_row, first_row + n_rows) of the tensor into dst, in `type`.
status fill_rows(const fill_desc& d, uint64_t first_row, uint64_t n_rows, uint8_t* dst);

// The f32 values of one row before conversion (tests check the statistics).
void row_values(const fill_desc& d, uint64_t row, std::vector<float>& out);

// True when this build can write `t` (F32/F16/BF16 always; others with the CPU kernels).
bool can_write_type(tensor_type t);

uint16_t f32_to_f16(float f);
uint16_t f32_to_bf16(float f);

}  // namespace r1::mkmodel
