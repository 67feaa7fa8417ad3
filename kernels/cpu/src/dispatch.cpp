// Per-path kernel tables and the type-level entry points that use them.
#include <array>

#include "blocks.h"
#include "r1/base/assert.h"
#include "r1/kernels/quants.h"

namespace r1::kernels {
namespace {
using namespace detail;

struct resolved_ops {
  std::array<dot_fn, n_dot_slots> dots{};
  std::array<dot4_fn, n_dot_slots> dots4{};
  std::array<dot4_fn, n_dot_slots> dots2{};
  std::array<dot4_fn, n_dot_slots> dots3{};
  std::array<dot_rows_fn, n_dot_slots> dot_rows{};
  f16_to_f32_fn f16_to_f32 = nullptr;
  f32_to_f16_fn f32_to_f16 = nullptr;
};

// Missing entries fall back to the next narrower path. Only copies pointers.
resolved_ops resolve(kernel_path p) {
  const isa_ops* chain[3] = {&scalar_ops, nullptr, nullptr};
  int n = 1;
  // amx runs the avx512 kernels for everything but prompt GEMMs (matmul.cpp).
  const bool wide = p == kernel_path::avx512 || p == kernel_path::amx;
  if (p == kernel_path::avx2 || wide) chain[n++] = &avx2_ops;
  if (wide) chain[n++] = &avx512_ops;
  resolved_ops r;
  for (int k = 0; k < n; ++k) {
    for (int i = 0; i < n_dot_slots; ++i) {
      if (!chain[k]->dots[i]) continue;
      // Multi-column and multi-row kernels are only valid next to the 1-column kernel of their own table.
      const auto u = static_cast<size_t>(i);
      r.dots[u] = chain[k]->dots[i];
      r.dots4[u] = chain[k]->dots4[i];
      r.dots2[u] = chain[k]->dots2[i];
      r.dots3[u] = chain[k]->dots3[i];
      r.dot_rows[u] = chain[k]->dot_rows[i];
    }
    if (chain[k]->f16_to_f32) r.f16_to_f32 = chain[k]->f16_to_f32;
    if (chain[k]->f32_to_f16) r.f32_to_f16 = chain[k]->f32_to_f16;
  }
  if (wide && detect_cpu_features().avx512bf16 && avx512_bf16_dot) {
    r.dots[static_cast<size_t>(tensor_type::bf16)] = avx512_bf16_dot;
    const auto u = static_cast<size_t>(tensor_type::bf16);
    r.dots4[u] = r.dots2[u] = r.dots3[u] = nullptr;
    r.dot_rows[u] = nullptr;
  }
  return r;
}

const resolved_ops& ops_for(kernel_path p) {
  static const std::array<resolved_ops, 4> tables = {resolve(kernel_path::scalar), resolve(kernel_path::avx2),
                                                     resolve(kernel_path::avx512), resolve(kernel_path::amx)};
  return tables[static_cast<size_t>(p)];
}

const resolved_ops& active_ops() { return ops_for(active_kernel_path()); }

}  // namespace

dot_fn detail::active_dot(int weight_type_id) {
  R1_ASSERT(weight_type_id >= 0 && weight_type_id < n_dot_slots);
  return active_ops().dots[static_cast<size_t>(weight_type_id)];
}

dot4_fn detail::active_dot4(int weight_type_id) {
  R1_ASSERT(weight_type_id >= 0 && weight_type_id < n_dot_slots);
  return active_ops().dots4[static_cast<size_t>(weight_type_id)];
}

dot_kernel_set detail::active_dot_kernels(int weight_type_id) {
  R1_ASSERT(weight_type_id >= 0 && weight_type_id < n_dot_slots);
  const resolved_ops& ops = active_ops();
  const auto u = static_cast<size_t>(weight_type_id);
  dot_kernel_set k;
  k.dot = ops.dots[u];
  k.dot2 = ops.dots2[u];
  k.dot3 = ops.dots3[u];
  k.dot4 = ops.dots4[u];
  k.rows = ops.dot_rows[u];
  return k;
}

bool can_vec_dot(tensor_type w) {
  switch (w) {
    case tensor_type::f32: case tensor_type::f16: case tensor_type::bf16:
    case tensor_type::q4_0: case tensor_type::q4_1: case tensor_type::q5_0: case tensor_type::q5_1:
    case tensor_type::q8_0: case tensor_type::q2_k: case tensor_type::q3_k: case tensor_type::q4_k:
    case tensor_type::q5_k: case tensor_type::q6_k: case tensor_type::iq4_nl: case tensor_type::iq4_xs:
      return true;
    default:
      return false;
  }
}

tensor_type vec_dot_type(tensor_type w) {
  switch (w) {
    case tensor_type::q4_0: case tensor_type::q5_0: case tensor_type::q8_0: case tensor_type::iq4_nl:
      return tensor_type::q8_0;
    case tensor_type::q4_1: case tensor_type::q5_1: return tensor_type::q8_1;
    case tensor_type::q2_k: case tensor_type::q3_k: case tensor_type::q4_k: case tensor_type::q5_k:
    case tensor_type::q6_k: case tensor_type::iq4_xs: return tensor_type::q8_k;
    case tensor_type::f16: return tensor_type::f16;
    case tensor_type::bf16: return tensor_type::bf16;
    case tensor_type::f32: return tensor_type::f32;
    default: break;
  }
  R1_ASSERT_MSG(false, "vec_dot_type: unsupported weight type");
  __builtin_unreachable();
}

float vec_dot_on(kernel_path p, tensor_type w, int64_t n, const void* w_row, const void* act_row) {
  R1_ASSERT(kernel_path_supported(p));
  R1_ASSERT(can_vec_dot(w));
  R1_ASSERT(n >= 0 && n % type_info(w).block_elems == 0);
  return ops_for(p).dots[static_cast<size_t>(w)](n, w_row, act_row);
}

float vec_dot(tensor_type w, int64_t n, const void* w_row, const void* act_row) {
  R1_ASSERT(can_vec_dot(w));
  R1_ASSERT(n >= 0 && n % type_info(w).block_elems == 0);
  return active_ops().dots[static_cast<size_t>(w)](n, w_row, act_row);
}

void convert_f16_to_f32(const uint16_t* src, float* dst, int64_t n) { active_ops().f16_to_f32(src, dst, n); }
void convert_f32_to_f16(const float* src, uint16_t* dst, int64_t n) { active_ops().f32_to_f16(src, dst, n); }

void convert_bf16_to_f32(const uint16_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(src[i]);
}

void convert_f32_to_bf16(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = fp32_to_bf16(src[i]);
}


}  // namespace r1::kernels
