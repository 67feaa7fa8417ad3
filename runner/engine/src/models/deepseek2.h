// deepseek2 internals shared by deepseek2.cpp (binding, attention, layer loop) and
// deepseek2_moe.cpp (the routed-expert FFN). Private to the engine.
#pragma once

#include <cstdint>
#include <vector>

#include "../forward_state.h"
#include "../weights.h"
#include "r1/engine/model.h"

namespace r1::engine {

// Working buffers of the deepseek2 forward pass that forward_state does not have (the low-rank
// query, the compressed KV rows, per-head outputs, routing and expert batches). One per thread:
// a context runs its forward pass on one thread, so each context's calls reuse the buffers of
// the thread that runs them; they only grow (to the largest batch seen).
struct deepseek2_scratch {
  std::vector<float> qa;      // n × n_lora_q
  std::vector<float> qfull;   // n × n_head × qk head (MLA files; legacy files use fs.q)
  std::vector<float> kva;     // n × (kv_lora + rope) (legacy files; MLA files use fs.k)
  std::vector<float> kvd;     // n × n_head × (nope + v head) (legacy)
  std::vector<float> o;       // n × n_head × v head (MLA: after attn_v_b)
  std::vector<float> logits;  // n × n_expert
  std::vector<float> route_work;
  std::vector<int32_t> ids;   // n × n_expert_used
  std::vector<float> wts;     // n × n_expert_used
  std::vector<int32_t> order; // token slots grouped by expert
  std::vector<int32_t> count; // per expert
  std::vector<float> xg;      // gathered expert inputs, n × n_embd
  std::vector<float> g, u;    // n × n_ff_exp × max(1, n_shared)
  std::vector<float> d;       // n × n_embd
  std::vector<float> y;       // n × n_embd, the MoE output
  std::vector<uint8_t> act;   // per-head activations in the weights' dot format
};

deepseek2_scratch& deepseek2_thread_scratch();

// Grows v to at least n elements (never shrinks) and returns its data.
float* deepseek2_reserve(std::vector<float>& v, size_t n);

// x += MoE(rms(x) · ffn_norm) over the batch in fs: routed experts (tokens grouped per expert
// so each expert's weights are read once per batch) plus the shared expert.
void deepseek2_moe_ffn(const model& m, forward_state& fs, const layer_weights& l);

}  // namespace r1::engine
