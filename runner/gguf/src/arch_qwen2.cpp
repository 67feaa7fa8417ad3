// qwen2 (R1-Distill-Qwen 1.5B/7B/14B/32B): NEOX RoPE, q/k/v biases, untied
// output in the distills (tying allowed). Q and O are {n_embd, n_embd}
// regardless of key_length, as llama.cpp builds them.
#include "arch.h"

namespace r1::gguf {
namespace {

status resolve(const file&, model_params&) { return {}; }

void tensors(const model_params& p, std::vector<tensor_spec>& out) {
  add_io_tensors(p, out, /*output_optional=*/true);
  for (uint32_t il = 0; il < p.n_layer; ++il) {
    uint64_t gqa = p.n_embd_k_gqa(il), vgqa = p.n_embd_v_gqa(il);
    add_tensor_spec(out, blk(il, "attn_norm.weight"), {p.n_embd});
    add_tensor_spec(out, blk(il, "attn_q.weight"), {p.n_embd, p.n_embd});
    add_tensor_spec(out, blk(il, "attn_k.weight"), {p.n_embd, gqa});
    add_tensor_spec(out, blk(il, "attn_v.weight"), {p.n_embd, vgqa});
    add_tensor_spec(out, blk(il, "attn_output.weight"), {p.n_embd, p.n_embd});
    add_tensor_spec(out, blk(il, "attn_q.bias"), {p.n_embd}, false);
    add_tensor_spec(out, blk(il, "attn_k.bias"), {gqa}, false);
    add_tensor_spec(out, blk(il, "attn_v.bias"), {vgqa}, false);
    add_tensor_spec(out, blk(il, "ffn_norm.weight"), {p.n_embd});
    add_dense_ffn(out, il, p.n_embd, p.n_ff[il]);
  }
}

}  // namespace

const arch_def& arch_qwen2() {
  static const arch_def def{"qwen2", rope_mode::neox, &resolve, &tensors};
  return def;
}

}  // namespace r1::gguf
