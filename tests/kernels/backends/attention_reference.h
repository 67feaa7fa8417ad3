// Attention cases of the backend tests: random Q/K/V of one shape, the cache rows
// in the cache type, a float64 reference of causal/non-causal GQA softmax(QK^T)V,
// and the op queued on a device stream.
#pragma once

#include <cstdint>
#include <vector>

#include "backend_test_util.h"
#include "r1/base/tensor_type.h"

namespace r1::kernels::testing {

struct attn_case {
  const char* name;
  tensor_type kt, vt;
  int n_head, n_head_kv, dk, dv;
  int64_t n_q, n_kv, q_pos0;
  bool causal;
};

// Host inputs of a case and its float64 reference (n_q rows of n_head * dv).
struct attn_data {
  attn_case c;
  std::vector<float> q;
  std::vector<uint8_t> k, v;  // position-major cache rows, heads packed
  std::vector<double> ref;
  float scale = 1.0f;
};
attn_data make_attention_data(const attn_case& c, uint32_t seed = 91);

// The case's tensors on a device; out is zeroed.
struct attn_tensors {
  dev_tensor q, k, v, out;
  attention_op_args args(const attn_data& d) const;
};
attn_tensors upload_attention(device& dev, const attn_data& d);

// Runs the case on a fresh stream of `dev`: NMSE against the reference below 1e-6,
// exact zeros without keys (gtest failures).
void expect_attention_matches(device& dev, const attn_data& d);

}  // namespace r1::kernels::testing
