// A float64 forward pass for deepseek2 written from the formulas in the docs, reading the
// weights straight from the (possibly sharded) GGUF files. It always takes the expanded form of
// the latent attention (per-head k_nope and v rebuilt from attn_kv_b, or from attn_k_b /
// attn_v_b in MLA-split files), so the engine's absorbed path is checked against a different
// computation of the same function. MoE routing is written again here in float64.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "r1/base/status.h"

namespace r1::engine::testing {

// Logits (n_vocab values) of every position of `tokens`, one causal sequence.
// `path` is a single file or the first shard of a split set.
result<std::vector<std::vector<double>>> deepseek2_reference_logits(const std::string& path,
                                                                    const std::vector<int32_t>& tokens);

}  // namespace r1::engine::testing
