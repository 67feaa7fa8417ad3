// Private: host-side launchers of the kernels in the op_*.cu files. Arguments
// were validated by op_checks; pointers are device pointers already offset.
// Each returns the launch error (cudaGetLastError) as a status.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "r1/base/status.h"
#include "r1/base/tensor_type.h"

namespace r1::kernels::cu {

status launch_status(const char* what);

status matmul(cudaStream_t s, tensor_type t, const uint8_t* w, int64_t rows, int64_t cols, size_t row_bytes,
              const float* x, int64_t n_cols, int64_t x_stride, float* y, int64_t y_stride);
status get_rows(cudaStream_t s, tensor_type t, const uint8_t* w, int64_t n_rows, int64_t n_embd, size_t row_bytes,
                const int32_t* ids, int64_t n_ids, float* dst);
status rms_norm(cudaStream_t s, const float* x, const float* w, float* y, int64_t n, int64_t n_rows, int64_t stride,
                float eps);
status binary(cudaStream_t s, bool add, const float* a, const float* b, float* d, int64_t n, int64_t b_len);
status swiglu(cudaStream_t s, const float* g, const float* u, float* d, int64_t n);
status softmax(cudaStream_t s, float* x, int64_t n, int64_t n_rows, int64_t stride, float scale);

struct rope_consts {
  int64_t n_tokens, n_heads, head_dim, token_stride;
  int n_rot;
  bool neox;
  float theta_scale, freq_scale, ext_factor, mscale, corr0, corr1;
};
status rope(cudaStream_t s, float* x, const int32_t* pos, const float* freq_factors, const rope_consts& c);

status convert_rows(cudaStream_t s, const float* src, int64_t width, int64_t n_rows, int64_t src_stride, bool to_f16,
                    uint8_t* dst, size_t dst_stride_bytes);

struct attention_consts {
  int64_t q_stride, out_stride, n_q;
  int n_head, n_head_kv, dk, dv;
  int64_t n_kv, q_pos0;
  bool causal;
  float scale;
  bool k_f16, v_f16;
  size_t k_pos, k_head, v_pos, v_head;  // bytes
};
// The split-KV path for decode and small batches (op_attention_split.cu). heads_per_block
// 0: the shape takes the prompt kernel and needs no scratch. Otherwise the launch needs
// scratch_bytes of device memory for the per-chunk partials; a pure function of the
// consts and the SM count, so the stream sizes its scratch when the op is queued
// (never while a graph is captured) and the launch computes the same plan.
struct attention_split_plan {
  int heads_per_block = 0;  // query heads of one KV group served by one block
  int n_chunks = 0;         // KV chunks per (query, head group)
  int64_t chunk_len = 0;    // keys per chunk, a multiple of 64
  size_t scratch_bytes = 0;
};
attention_split_plan plan_attention(const attention_consts& c, int sm_count);
status attention_split(cudaStream_t s, const float* q, const uint8_t* k, const uint8_t* v, float* out,
                       const attention_consts& c, const attention_split_plan& p, float* scratch,
                       size_t scratch_bytes);
// The prompt kernel (op_attention.cu): one block per (head, query).
status attention(cudaStream_t s, const float* q, const uint8_t* k, const uint8_t* v, float* out,
                 const attention_consts& c);

}  // namespace r1::kernels::cu
