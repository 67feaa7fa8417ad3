// Element-wise and row operations of the forward pass (plain pointers, f32).
// Each has one implementation whose result is the same on every kernel path
// (within float rounding where noted). Thread safe; no allocation.
// In-place use (dst == src) is allowed wherever the shapes match.
#pragma once

#include <cstddef>
#include <cstdint>

#include "r1/base/status.h"
#include "r1/base/tensor_type.h"
#include "r1/kernels/thread_pool.h"

namespace r1::kernels {

// y = x / sqrt(mean(x²) + eps) [* w if w != nullptr]; sum of squares in double, as ggml.
void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps);

// dst = a + b, dst = a * b, dst = a * s, dst += a * s.
void add(const float* a, const float* b, float* dst, int64_t n);
void mul(const float* a, const float* b, float* dst, int64_t n);
void scale(const float* a, float s, float* dst, int64_t n);
void add_scaled(const float* a, float s, float* dst, int64_t n);

// dst = e^x with the active kernel path's vector exp: within 2 ulp of std::exp
// (subnormal results included), e^-inf = 0, overflow to inf, NaN stays NaN.
void exp_row(const float* x, float* dst, int64_t n);

// silu(v) = v / (1 + e^-v). swiglu: dst = silu(gate) * up. Vectorised with exp_row's exp.
void silu(const float* x, float* dst, int64_t n);
void swiglu(const float* gate, const float* up, float* dst, int64_t n);
// The same split over the pool in chunks (a prompt's n_ff × n_tokens is memory bound on one
// core); chunk edges fall on whole vectors, so the result is bit-identical to the call above.
void swiglu(const float* gate, const float* up, float* dst, int64_t n, thread_pool& pool);

// In-place softmax of x[0..n) after multiplying by `scale`; max-subtracted,
// exp_row's exp, sum in double. A row of all -inf becomes all zeros.
void softmax(float* x, int64_t n, float scale = 1.0f);

// Embedding lookup: dst[i*n_embd ..] = row ids[i] of a (n_rows × n_embd) matrix
// of type t, dequantized. invalid_argument for an id out of range or an
// unsupported type.
status get_rows(tensor_type t, const void* data, size_t row_stride_bytes, int64_t n_rows, int64_t n_embd,
                const int32_t* ids, int64_t n_ids, float* dst);

// RoPE as ggml computes it (theta by a running product base^(-2/n_rot)).
struct rope_params {
  int n_rot = 0;                  // rotated dims at the start of each head (even, <= head_dim)
  bool neox = false;              // NEOX pairs (i, i + n_rot/2); else adjacent pairs (2i, 2i+1)
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;        // 1 / rope.scaling.factor
  const float* freq_factors = nullptr;  // n_rot/2 divisors (llama 3.1 rope_freqs) or nullptr
  // YaRN (see forward-pass.md §5.3); ext_factor 0 disables the ramp and mscale boost.
  float ext_factor = 0.0f;
  float attn_factor = 1.0f;
  float beta_fast = 32.0f;
  float beta_slow = 1.0f;
  int n_ctx_orig = 0;             // YaRN original context (0: unused)
};

// Rotates x in place: n_tokens rows (row t at x + t*token_stride), each holding
// n_heads heads of head_dim floats (head h at + h*head_dim); row t has position pos[t].
void rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, int64_t token_stride,
          const int32_t* pos, const rope_params& p);

// The YaRN correction range [lo, hi] for these parameters (ggml_rope_yarn_corr_dims).
void rope_yarn_corr_dims(int n_rot, int n_ctx_orig, float freq_base, float beta_fast, float beta_slow,
                         float dims[2]);

}  // namespace r1::kernels
