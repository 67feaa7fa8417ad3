// qwen3 (DeepSeek-R1-0528-Qwen3-8B): NEOX RoPE, no q/k/v biases, per-head
// RMSNorm of Q and K (attn_q_norm / attn_k_norm), head dim from key_length.
#include "arch.h"

namespace r1::gguf {
namespace {

status resolve(const file&, model_params&) { return {}; }

void tensors(const model_params& p, std::vector<tensor_spec>& out) {
  add_io_tensors(p, out, /*output_optional=*/true);
  for (uint32_t il = 0; il < p.n_layer; ++il) {
    uint64_t q = uint64_t{p.n_embd_head_k} * p.n_head[il];
    add_tensor_spec(out, blk(il, "attn_norm.weight"), {p.n_embd});
    add_tensor_spec(out, blk(il, "attn_q.weight"), {p.n_embd, q});
    add_tensor_spec(out, blk(il, "attn_k.weight"), {p.n_embd, p.n_embd_k_gqa(il)});
    add_tensor_spec(out, blk(il, "attn_v.weight"), {p.n_embd, p.n_embd_v_gqa(il)});
    add_tensor_spec(out, blk(il, "attn_output.weight"), {q, p.n_embd});
    add_tensor_spec(out, blk(il, "attn_k_norm.weight"), {p.n_embd_head_k});
    add_tensor_spec(out, blk(il, "attn_q_norm.weight"), {p.n_embd_head_k});
    add_tensor_spec(out, blk(il, "ffn_norm.weight"), {p.n_embd});
    add_dense_ffn(out, il, p.n_embd, p.n_ff[il]);
  }
}

}  // namespace

const arch_def& arch_qwen3() {
  static const arch_def def{"qwen3", rope_mode::neox, &resolve, &tensors};
  return def;
}

}  // namespace r1::gguf
