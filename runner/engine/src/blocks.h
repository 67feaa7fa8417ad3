// Building blocks shared by the architecture files (private). Each works on all n rows of
// the batch held in a forward_state.
#pragma once

#include <initializer_list>

#include "forward_state.h"
#include "r1/engine/model.h"
#include "weights.h"

namespace r1::engine {

// y[r] = rms_norm(x[r]) * w for n rows of width.
void norm_rows(const float* x, const vec& w, float* y, int32_t n, int64_t width, float eps);

// y = W·x (+ bias) for n rows of x (width W.cols) into rows of width W.rows.
void linear(forward_state& fs, const matrix& w, const float* x, int32_t n, float* y, const vec* bias = nullptr);

// Several matrices over the same input (q/k/v, gate/up): the activations are converted to
// the weights' dot format once when they share it. ys[i] receives ws[i]·x (+ biases[i]).
void linear_many(forward_state& fs, std::initializer_list<const matrix*> ws, const float* x, int32_t n,
                 std::initializer_list<float*> ys, std::initializer_list<const vec*> biases = {});

// Per-head RMSNorm (qwen3 q/k norms): each head of head_dim in rows of n_heads*head_dim.
void norm_heads(float* x, const vec& w, int32_t n, int64_t n_heads, int64_t head_dim, float eps);

// RoPE on fs.q and fs.k at the batch positions.
void rope_qk(const model& m, forward_state& fs);

// Stores fs.k / fs.v in the KV cache of layer il, attends fs.q over the cache into fs.att;
// each span of fs.spans over its own sequence.
void attend(const model& m, forward_state& fs, int il);

// x += Wo · att.
void attn_output(forward_state& fs, const layer_weights& l);

// x += down(silu(gate(n(x))) * up(n(x))) with the FFN norm.
void ffn_swiglu(const model& m, forward_state& fs, const layer_weights& l);

}  // namespace r1::engine
