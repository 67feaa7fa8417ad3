// deepseek2 (DeepSeek-R1 671B and V2/V3 relatives): low-rank Q (or a plain
// attn_q in "lite" models with 26 or 27 layers), the compressed KV latent with
// a shared RoPE key, and MoE layers after the leading dense blocks. Two file
// generations: legacy (attn_kv_b, MHA with head_count_kv = n_head) and
// MLA-split (attn_k_b + attn_v_b, key/value_length_mla set, head_count_kv 1).
#include "arch.h"

namespace r1::gguf {
namespace {

bool is_lite(const model_params& p) { return p.n_layer == 26 || p.n_layer == 27; }

status bad(const file& meta, const std::string& what) { return corrupt("gguf " + meta.path() + ": deepseek2: " + what); }

status resolve_moe(const file& meta, model_params& p) {
  R1_ASSIGN_OR_RETURN(p.n_layer_dense_lead, read_u32(meta, arch_key(p, "leading_dense_block_count")));
  R1_ASSIGN_OR_RETURN(p.n_ff_exp, read_u32(meta, arch_key(p, "expert_feed_forward_length")));
  R1_ASSIGN_OR_RETURN(p.n_expert_shared, read_u32(meta, arch_key(p, "expert_shared_count")));
  R1_ASSIGN_OR_RETURN(double scale, meta.get_float(arch_key(p, "expert_weights_scale")));
  p.expert_weights_scale = static_cast<float>(scale);
  R1_ASSIGN_OR_RETURN(p.expert_weights_norm, meta.get_bool_or(arch_key(p, "expert_weights_norm"), false));
  R1_ASSIGN_OR_RETURN(uint32_t gating, read_u32_or(meta, arch_key(p, "expert_gating_func"), 0));
  if (gating > 3) return bad(meta, "expert_gating_func " + std::to_string(gating) + " is not 0..3");
  // 0 / absent: V2 and V2.5 files, which route with softmax.
  p.expert_gating = gating == 0 ? gating_func::softmax : static_cast<gating_func>(gating);
  R1_ASSIGN_OR_RETURN(p.n_expert_groups, read_u32_or(meta, arch_key(p, "expert_group_count"), 0));
  R1_ASSIGN_OR_RETURN(p.n_group_used, read_u32_or(meta, arch_key(p, "expert_group_used_count"), 0));
  if (p.n_layer_dense_lead > p.n_layer)
    return bad(meta, "leading_dense_block_count " + std::to_string(p.n_layer_dense_lead) + " exceeds block_count");
  if (p.n_layer_dense_lead < p.n_layer && (p.n_expert == 0 || p.n_expert_used == 0))
    return bad(meta, "MoE layers need expert_count and expert_used_count > 0");
  if (p.n_expert_groups > 1 &&
      (p.n_expert % p.n_expert_groups != 0 || p.n_group_used == 0 || p.n_group_used > p.n_expert_groups))
    return bad(meta, "expert_group_count " + std::to_string(p.n_expert_groups) + " / expert_group_used_count " +
                         std::to_string(p.n_group_used) + " do not fit expert_count " + std::to_string(p.n_expert));
  for (uint32_t il = 0; il < p.n_layer_dense_lead; ++il)
    if (p.n_ff[il] == 0) return bad(meta, "dense layer " + std::to_string(il) + " needs feed_forward_length");
  return {};
}

status resolve(const file& meta, model_params& p) {
  if (!is_lite(p)) {
    R1_ASSIGN_OR_RETURN(p.n_lora_q, read_u32(meta, arch_key(p, "attention.q_lora_rank")));
  }
  R1_ASSIGN_OR_RETURN(p.n_lora_kv, read_u32(meta, arch_key(p, "attention.kv_lora_rank")));
  R1_ASSIGN_OR_RETURN(p.n_embd_head_k_mla, read_u32_or(meta, arch_key(p, "attention.key_length_mla"), 0));
  R1_ASSIGN_OR_RETURN(p.n_embd_head_v_mla, read_u32_or(meta, arch_key(p, "attention.value_length_mla"), 0));
  R1_RETURN_IF_ERROR(resolve_moe(meta, p));
  std::string log_mul = arch_key(p, "rope.scaling.yarn_log_multiplier");
  if (meta.has(log_mul)) {
    R1_ASSIGN_OR_RETURN(double v, meta.get_float(log_mul));
    p.yarn_log_multiplier = static_cast<float>(v / 0.1);  // the converter stores 0.1 * mscale_all_dim
  }
  if ((!is_lite(p) && p.n_lora_q == 0) || p.n_lora_kv == 0) return bad(meta, "q_lora_rank and kv_lora_rank must be > 0");
  uint32_t head_k = p.is_mla() ? p.n_embd_head_k_mla : p.n_embd_head_k;
  if (head_k <= p.n_rot)
    return bad(meta, "qk head size " + std::to_string(head_k) + " must exceed rope.dimension_count " + std::to_string(p.n_rot));
  if (p.is_mla() && (p.n_embd_head_k != p.n_lora_kv + p.n_rot || p.n_embd_head_v != p.n_lora_kv))
    return bad(meta, "MLA file needs key_length = kv_lora_rank + rope dims (" + std::to_string(p.n_lora_kv + p.n_rot) +
                         ") and value_length = kv_lora_rank (" + std::to_string(p.n_lora_kv) + "), got " +
                         std::to_string(p.n_embd_head_k) + " / " + std::to_string(p.n_embd_head_v));
  return {};
}

void attention(const model_params& p, std::vector<tensor_spec>& out, uint32_t il) {
  uint64_t n_head = p.n_head[il];
  uint64_t head_k = p.is_mla() ? p.n_embd_head_k_mla : p.n_embd_head_k;
  uint64_t head_v = p.is_mla() ? p.n_embd_head_v_mla : p.n_embd_head_v;
  uint64_t rope = p.n_rot, nope = head_k - rope, kv_rank = p.n_lora_kv;
  add_tensor_spec(out, blk(il, "attn_norm.weight"), {p.n_embd});
  if (!is_lite(p)) add_tensor_spec(out, blk(il, "attn_q_a_norm.weight"), {p.n_lora_q});
  add_tensor_spec(out, blk(il, "attn_kv_a_norm.weight"), {kv_rank});
  if (!is_lite(p)) {
    add_tensor_spec(out, blk(il, "attn_q_a.weight"), {p.n_embd, p.n_lora_q});
    add_tensor_spec(out, blk(il, "attn_q_b.weight"), {p.n_lora_q, n_head * head_k});
  } else {
    add_tensor_spec(out, blk(il, "attn_q.weight"), {p.n_embd, n_head * head_k});
  }
  add_tensor_spec(out, blk(il, "attn_kv_a_mqa.weight"), {p.n_embd, kv_rank + rope});
  if (p.is_mla()) {
    add_tensor_spec(out, blk(il, "attn_k_b.weight"), {nope, kv_rank, n_head});
    add_tensor_spec(out, blk(il, "attn_v_b.weight"), {kv_rank, head_v, n_head});
  } else {
    add_tensor_spec(out, blk(il, "attn_kv_b.weight"), {kv_rank, n_head * (nope + head_v)});
  }
  add_tensor_spec(out, blk(il, "attn_output.weight"), {n_head * head_v, p.n_embd});
}

void tensors(const model_params& p, std::vector<tensor_spec>& out) {
  add_io_tensors(p, out, /*output_optional=*/false);
  for (uint32_t il = 0; il < p.n_layer; ++il) {
    attention(p, out, il);
    add_tensor_spec(out, blk(il, "ffn_norm.weight"), {p.n_embd});
    if (il < p.n_layer_dense_lead) {
      add_dense_ffn(out, il, p.n_embd, p.n_ff[il]);
      continue;
    }
    uint64_t shared = uint64_t{p.n_ff_exp} * p.n_expert_shared;
    add_tensor_spec(out, blk(il, "ffn_gate_inp.weight"), {p.n_embd, p.n_expert});
    add_tensor_spec(out, blk(il, "exp_probs_b.bias"), {p.n_expert}, false);
    add_tensor_spec(out, blk(il, "ffn_gate_exps.weight"), {p.n_embd, p.n_ff_exp, p.n_expert});
    add_tensor_spec(out, blk(il, "ffn_down_exps.weight"), {p.n_ff_exp, p.n_embd, p.n_expert});
    add_tensor_spec(out, blk(il, "ffn_up_exps.weight"), {p.n_embd, p.n_ff_exp, p.n_expert});
    if (shared) {
      add_tensor_spec(out, blk(il, "ffn_gate_shexp.weight"), {p.n_embd, shared});
      add_tensor_spec(out, blk(il, "ffn_down_shexp.weight"), {shared, p.n_embd});
      add_tensor_spec(out, blk(il, "ffn_up_shexp.weight"), {p.n_embd, shared});
    }
  }
}

}  // namespace

const arch_def& arch_deepseek2() {
  static const arch_def def{"deepseek2", rope_mode::norm, &resolve, &tensors};
  return def;
}

}  // namespace r1::gguf
