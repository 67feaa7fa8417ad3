// The bound tensor table of a model (private to the engine).
//
// A matrix points into the mapped file (and, once repacked for AMX, into one of
// amx_copies); small 1-D tensors are copied to F32 at load.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "r1/kernels/amx_packed_matrix.h"
#include "r1/kernels/matmul.h"

namespace r1::engine {

struct matrix {
  kernels::matrix_view view;  // rows = output features, cols = input features
  std::string name;
  explicit operator bool() const { return view.data != nullptr; }
};

// A 1-D tensor converted to F32 (empty when the tensor is absent).
using vec = std::vector<float>;

// A 3-D tensor read as n_mat matrices of the same shape stored one after another (MoE experts
// along ne2, deepseek2's per-head attn_k_b / attn_v_b). at(i) views matrix i in place.
struct stacked_matrix {
  kernels::matrix_view first;  // matrix 0
  int64_t n_mat = 0;
  size_t mat_stride_bytes = 0;
  std::string name;
  explicit operator bool() const { return first.data != nullptr; }
  kernels::matrix_view at(int64_t i) const {
    kernels::matrix_view v = first;
    v.data = static_cast<const uint8_t*>(first.data) + static_cast<size_t>(i) * mat_stride_bytes;
    return v;
  }
};

struct layer_weights {
  vec attn_norm;
  matrix wq, wk, wv, wo;
  vec bq, bk, bv;            // qwen2
  vec q_norm, k_norm;        // qwen3
  vec ffn_norm;
  matrix ffn_gate, ffn_up, ffn_down;

  // deepseek2 (see src/models/deepseek2.cpp)
  matrix wq_a, wq_b, wkv_a_mqa, wkv_b;  // wq instead of wq_a/wq_b in "lite" files; wkv_b legacy only
  vec q_a_norm, kv_a_norm;
  stacked_matrix wk_b, wv_b;            // MLA-split files: per-head absorbed up-projections
  matrix ffn_gate_inp;                  // router, n_expert rows
  vec exp_probs_b;                      // selection bias (optional)
  stacked_matrix ffn_gate_exps, ffn_up_exps, ffn_down_exps;
  matrix ffn_gate_shexp, ffn_up_shexp, ffn_down_shexp;
};

struct weights {
  matrix token_embd;         // rows = n_vocab
  vec output_norm;
  matrix output;             // token_embd when the head is tied
  bool tied_output = false;
  vec rope_freqs;            // llama 3.1
  std::vector<layer_weights> layers;
  // Repacked AMX copies (model::repack_for_amx); the matrices' views point into them.
  // Those with decode panels live in the arena, in the order the forward pass reads them.
  kernels::amx_arena amx_arena;
  std::vector<kernels::amx_packed_matrix> amx_copies;
};

// Points each matrix's view at the decode stream of the matrix the forward pass reads
// after it (matrix_view::read_next), the output head at layer 0's first. Call after
// binding and again whenever a view's storage changes (repacking).
void link_decode_streams(weights& w);

}  // namespace r1::engine
