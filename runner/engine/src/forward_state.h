// Working set of one forward pass (private): the batch being evaluated and the activation
// buffers, sized for the context's n_batch. Owned by engine::context and reused across calls.
#pragma once

#include <cstdint>
#include <vector>

#include "r1/engine/kv_cache.h"
#include "r1/kernels/scratch.h"
#include "r1/kernels/thread_pool.h"

namespace r1::engine {

// Rows [row0, row0 + n) of a batch: consecutive tokens of sequence `seq` at positions
// pos0 .. pos0 + n - 1 (causal among themselves, over the sequence's own cache).
struct seq_span {
  int seq = 0;
  int32_t pos0 = 0;
  int32_t row0 = 0;
  int32_t n = 0;
};

struct forward_state {
  kv_cache* kv = nullptr;
  kernels::thread_pool* pool = nullptr;
  kernels::scratch* scratch = nullptr;

  // The sequences of the batch, in row order. Architectures with multi_seq (the dense ones)
  // take several spans in one pass; the others get exactly one, also described by seq/pos0.
  std::vector<seq_span> spans;
  int seq = 0;
  int32_t pos0 = 0;  // position of the first token of the batch (single-span batches)
  int32_t n = 0;     // tokens in the batch
  // Layers architecture::forward_layers runs: [layer_begin, layer_end) (the CPU share).
  uint32_t layer_begin = 0, layer_end = 0;
  std::vector<int32_t> pos;  // position of each row (RoPE)

  // Row-major [n][width] buffers.
  std::vector<float> x;     // residual stream, n_embd
  std::vector<float> xn;    // normalised input of a block, n_embd
  std::vector<float> q;     // n_head * head_dim_k
  std::vector<float> k;     // n_head_kv * head_dim_k
  std::vector<float> v;     // n_head_kv * head_dim_v
  std::vector<float> att;   // n_head * head_dim_v
  std::vector<float> gate;  // n_ff
  std::vector<float> up;    // n_ff
  std::vector<float> tmp;   // n_embd
  std::vector<uint8_t> act_q;  // activations converted once for several matrices
};

}  // namespace r1::engine
