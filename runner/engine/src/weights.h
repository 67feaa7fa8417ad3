// The bound tensor table of a model (private to the engine).
//
// A matrix points into the mapped file; small 1-D tensors are copied to F32 at load.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "r1/kernels/matmul.h"

namespace r1::engine {

struct matrix {
  kernels::matrix_view view;  // rows = output features, cols = input features
  std::string name;
  explicit operator bool() const { return view.data != nullptr; }
};

// A 1-D tensor converted to F32 (empty when the tensor is absent).
using vec = std::vector<float>;

struct layer_weights {
  vec attn_norm;
  matrix wq, wk, wv, wo;
  vec bq, bk, bv;            // qwen2
  vec q_norm, k_norm;        // qwen3
  vec ffn_norm;
  matrix ffn_gate, ffn_up, ffn_down;
};

struct weights {
  matrix token_embd;         // rows = n_vocab
  vec output_norm;
  matrix output;             // token_embd when the head is tied
  bool tied_output = false;
  vec rope_freqs;            // llama 3.1
  std::vector<layer_weights> layers;
};

}  // namespace r1::engine
