// Where a model's weight bytes are, by part, for memory planning (which layers and experts go
// to a GPU, what stays on the CPU) and for bandwidth estimates of mixture-of-experts models.
//
//   R1_ASSIGN_OR_RETURN(gguf::model_files f, gguf::model_files::open(path));
//   R1_ASSIGN_OR_RETURN(engine::model_memory mm, engine::memory_by_part(f));
//   mm.layers[il].experts      // routed-expert bytes of layer il (all experts)
//   mm.bytes_per_token(8)      // weight bytes one decoded token reads with 8 experts active
//
// Parts: the embedding table (read one row per token: it stays in host memory, a planner never
// needs to move it), the output head, and per layer the attention (norms, projections, MLA
// latent matrices), the dense FFN (leading dense layers), the router (ffn_gate_inp and the
// selection bias), the shared expert(s) and the routed experts. A planner short of device memory
// keeps attention, dense FFN, router and shared expert of every layer on the GPU (they are read
// for every token) and places whole layers' experts on the GPU from the last layer down, leaving
// the rest of the experts in host memory (mmapped, read through the page cache as tokens choose
// them).
//
// Plain values; thread safe. Errors: corrupt for a tensor whose layer index cannot be parsed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "r1/base/status.h"

namespace r1::gguf {
class model_files;
}

namespace r1::engine {

struct layer_memory {
  uint64_t attention = 0;
  uint64_t dense_ffn = 0;
  uint64_t router = 0;
  uint64_t shared_expert = 0;
  uint64_t experts = 0;      // all routed experts of the layer
  uint32_t n_expert = 0;     // routed experts stored (ne2 of ffn_up_exps)

  // Bytes of one routed expert (gate + up + down); 0 for a dense layer.
  uint64_t expert_bytes() const { return n_expert ? experts / n_expert : 0; }
  // Bytes read for every token, whichever experts are chosen.
  uint64_t always() const { return attention + dense_ffn + router + shared_expert; }
};

struct model_memory {
  uint64_t embedding = 0;  // token_embd: one row read per token
  uint64_t embedding_row = 0;
  uint64_t output = 0;     // output head and final norm
  uint64_t other = 0;      // tensors outside these parts (rope_freqs, ...)
  std::vector<layer_memory> layers;

  uint64_t total() const;
  uint64_t experts() const;  // all routed experts of all layers
  // Weight bytes one decoded token reads with n_used routed experts per MoE layer: embedding
  // row, output head, every layer's always() and n_used of its experts.
  uint64_t bytes_per_token(uint32_t n_used) const;
};

// One tensor by name and stored size (for estimates of files that do not exist).
struct tensor_bytes {
  std::string name;
  uint64_t bytes = 0;
  uint64_t rows = 0;      // ne[1] (token_embd: the vocabulary)
  uint32_t n_mat = 1;     // ne[2] (experts)
};

result<model_memory> memory_by_part(const std::vector<tensor_bytes>& tensors);
result<model_memory> memory_by_part(const gguf::model_files& files);

}  // namespace r1::engine
