// The architecture table (private): one entry per file under src/models/.
//
// Adding an architecture means one new file that defines a bind and a forward function and
// one line in architecture.cpp; nothing else switches on the name.
#pragma once

#include <string_view>

#include "r1/base/status.h"
#include "r1/engine/model.h"
#include "tensor_source.h"
#include "weights.h"

namespace r1::engine {

struct forward_state;

struct architecture {
  std::string_view name;
  bool rope_neox;
  // Finds and shape-checks every tensor; fills w (hparams are already resolved).
  status (*bind)(const tensor_source& src, const model_hparams& hp, weights& w);
  // Runs the layers over fs.x (n_tokens rows of n_embd) in place; see forward_state.
  void (*forward_layers)(const model& m, forward_state& fs);
  // forward_layers takes batches whose rows belong to several sequences (fs.spans); without
  // it, context::decode_batch evaluates each sequence's rows in a pass of their own.
  bool multi_seq = false;
};

// nullptr for an unknown architecture; an entry with bind == nullptr is recognised but refused.
const architecture* find_architecture(std::string_view name);

// The registered architectures (defined in src/models/*.cpp).
extern const architecture k_arch_qwen2;
extern const architecture k_arch_llama;
extern const architecture k_arch_qwen3;
extern const architecture k_arch_deepseek2;

}  // namespace r1::engine
