// Tensor binding shared by the dense architectures (private).
#pragma once

#include "../tensor_source.h"
#include "r1/engine/model.h"

namespace r1::engine {

// token_embd, output_norm, output (tied to token_embd when absent); sizes w.layers.
status bind_common(const tensor_source& src, const model_hparams& hp, weights& w);
// attn_norm, attn_q/k/v/output of layer il.
status bind_attention(const tensor_source& src, const model_hparams& hp, int il, layer_weights& l);
// ffn_norm, ffn_gate/up/down of layer il.
status bind_ffn(const tensor_source& src, const model_hparams& hp, int il, layer_weights& l);

}  // namespace r1::engine
