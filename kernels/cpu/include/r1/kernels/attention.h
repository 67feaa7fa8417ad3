// Attention of one or several query rows over a KV cache, flash style: scores
// are computed a tile of keys at a time with an online softmax (running max and
// sum), so no n_q × n_kv score matrix is ever built. Grouped-query heads: query
// head h reads KV head h / (n_head / n_head_kv). Causal: query i (at position
// q_pos0 + i) sees keys 0 .. q_pos0 + i (key j is at position j), capped at n_kv.
//
// K may be F32, F16 or Q8_0 (head_dim_k a multiple of 32 for Q8_0); V may be
// F32, F16 or Q8_0. For F16/Q8_0 K the query is converted to the K type's
// vec_dot format first, as ggml's flash attention does. Accumulation is in F32.
#pragma once

#include <cstddef>
#include <cstdint>

#include "r1/base/tensor_type.h"
#include "r1/kernels/scratch.h"
#include "r1/kernels/thread_pool.h"

namespace r1::kernels {

struct kv_view {
  tensor_type type = tensor_type::f16;
  const void* data = nullptr;
  size_t pos_stride_bytes = 0;   // between consecutive positions of one head
  size_t head_stride_bytes = 0;  // between KV heads at one position
};

struct attention_args {
  const float* q = nullptr;      // query i, head h at q + i*q_stride + h*head_dim_k
  int64_t q_stride = 0;
  float* out = nullptr;          // query i, head h at out + i*out_stride + h*head_dim_v
  int64_t out_stride = 0;
  int64_t n_q = 1;
  int n_head = 1;
  int n_head_kv = 1;
  int head_dim_k = 0;
  int head_dim_v = 0;
  int64_t n_kv = 0;              // valid cached positions
  int64_t q_pos0 = 0;            // position of query 0
  bool causal = true;
  float scale = 1.0f;            // usually 1/sqrt(head_dim_k)
  kv_view k;
  kv_view v;
};

// Work is split over (query, head) pairs on the pool. A query that sees no key
// gets zeros. Asserts on malformed arguments.
void attention(const attention_args& a, thread_pool& pool);

}  // namespace r1::kernels
