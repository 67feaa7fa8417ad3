// llama (R1-Distill-Llama 8B/70B): NORM RoPE, optional rope_freqs (Llama-3.1
// scaling baked into per-pair divisors), optional biases, n_rot == head dim.
// Mixtral-style experts are accepted when the file declares expert_count.
#include "arch.h"

namespace r1::gguf {
namespace {

status resolve(const file& meta, model_params& p) {
  if (p.n_rot != p.n_embd_head_k)
    return corrupt("gguf " + meta.path() + ": llama needs rope.dimension_count (" + std::to_string(p.n_rot) +
                   ") equal to the head dim (" + std::to_string(p.n_embd_head_k) + ")");
  R1_ASSIGN_OR_RETURN(p.attention_scale, read_f32_or(meta, arch_key(p, "attention.scale"), 0.0f));
  if (p.n_expert > 0) {
    R1_ASSIGN_OR_RETURN(p.n_ff_exp, read_u32_or(meta, arch_key(p, "expert_feed_forward_length"), 0));
    if (p.n_ff_exp == 0) p.n_ff_exp = p.n_ff[0] / p.n_expert_used;
  }
  return {};
}

void tensors(const model_params& p, std::vector<tensor_spec>& out) {
  add_io_tensors(p, out, /*output_optional=*/true);
  add_tensor_spec(out, "rope_freqs.weight", {p.n_rot / 2}, false);
  for (uint32_t il = 0; il < p.n_layer; ++il) {
    uint64_t q = uint64_t{p.n_embd_head_k} * p.n_head[il];
    uint64_t gqa = p.n_embd_k_gqa(il), vgqa = p.n_embd_v_gqa(il);
    add_tensor_spec(out, blk(il, "attn_norm.weight"), {p.n_embd});
    add_tensor_spec(out, blk(il, "attn_q.weight"), {p.n_embd, q});
    add_tensor_spec(out, blk(il, "attn_k.weight"), {p.n_embd, gqa});
    add_tensor_spec(out, blk(il, "attn_v.weight"), {p.n_embd, vgqa});
    add_tensor_spec(out, blk(il, "attn_output.weight"), {q, p.n_embd});
    add_tensor_spec(out, blk(il, "attn_q.bias"), {q}, false);
    add_tensor_spec(out, blk(il, "attn_k.bias"), {gqa}, false);
    add_tensor_spec(out, blk(il, "attn_v.bias"), {vgqa}, false);
    add_tensor_spec(out, blk(il, "attn_output.bias"), {p.n_embd}, false);
    add_tensor_spec(out, blk(il, "ffn_norm.weight"), {p.n_embd});
    if (p.n_expert == 0) {
      add_dense_ffn(out, il, p.n_embd, p.n_ff[il]);
      add_tensor_spec(out, blk(il, "ffn_gate.bias"), {p.n_ff[il]}, false);
      add_tensor_spec(out, blk(il, "ffn_down.bias"), {p.n_embd}, false);
      add_tensor_spec(out, blk(il, "ffn_up.bias"), {p.n_ff[il]}, false);
    } else {
      add_tensor_spec(out, blk(il, "ffn_gate_inp.weight"), {p.n_embd, p.n_expert});
      add_tensor_spec(out, blk(il, "ffn_gate_exps.weight"), {p.n_embd, p.n_ff_exp, p.n_expert});
      add_tensor_spec(out, blk(il, "ffn_down_exps.weight"), {p.n_ff_exp, p.n_embd, p.n_expert});
      add_tensor_spec(out, blk(il, "ffn_up_exps.weight"), {p.n_embd, p.n_ff_exp, p.n_expert});
    }
  }
}

}  // namespace

const arch_def& arch_llama() {
  static const arch_def def{"llama", rope_mode::norm, &resolve, &tensors};
  return def;
}

}  // namespace r1::gguf
