// qwen2 (DeepSeek-R1-Distill-Qwen): pre-norm blocks, q/k/v with biases, NEOX RoPE over the whole
// head, grouped-query attention, SwiGLU FFN, untied output head (tied when `output` is absent).
#include "../architecture.h"
#include "../blocks.h"
#include "common_bind.h"

namespace r1::engine {
namespace {

status bind_qwen2(const tensor_source& src, const model_hparams& hp, weights& w) {
  R1_RETURN_IF_ERROR(bind_common(src, hp, w));
  for (uint32_t il = 0; il < hp.n_layer; ++il) {
    layer_weights& l = w.layers[il];
    R1_RETURN_IF_ERROR(bind_attention(src, hp, static_cast<int>(il), l));
    R1_RETURN_IF_ERROR(bind_ffn(src, hp, static_cast<int>(il), l));
    const int i = static_cast<int>(il);
    // Optional in llama.cpp's loader, always present in Qwen2 files.
    R1_ASSIGN_OR_RETURN(l.bq, src.get_vector_optional(layer_tensor(i, "attn_q", "bias"), hp.n_head * hp.head_dim_k));
    R1_ASSIGN_OR_RETURN(l.bk, src.get_vector_optional(layer_tensor(i, "attn_k", "bias"), hp.n_head_kv * hp.head_dim_k));
    R1_ASSIGN_OR_RETURN(l.bv, src.get_vector_optional(layer_tensor(i, "attn_v", "bias"), hp.n_head_kv * hp.head_dim_v));
  }
  return ok_status();
}

void forward_qwen2(const model& m, forward_state& fs) {
  const model_hparams& hp = m.hparams();
  for (uint32_t il = fs.layer_begin; il < fs.layer_end; ++il) {
    const layer_weights& l = m.w().layers[il];
    norm_rows(fs.x.data(), l.attn_norm, fs.xn.data(), fs.n, hp.n_embd, hp.rms_eps);
    linear_many(fs, {&l.wq, &l.wk, &l.wv}, fs.xn.data(), fs.n, {fs.q.data(), fs.k.data(), fs.v.data()},
                {&l.bq, &l.bk, &l.bv});
    rope_qk(m, fs);
    attend(m, fs, static_cast<int>(il));
    attn_output(fs, l);
    ffn_swiglu(m, fs, l);
  }
}

}  // namespace

const architecture k_arch_qwen2{"qwen2", true, bind_qwen2, forward_qwen2, true};

}  // namespace r1::engine
