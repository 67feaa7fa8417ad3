// qwen3 (DeepSeek-R1-0528-Qwen3-8B): as qwen2 without biases, with an RMSNorm over each head of
// Q and K (attn_q_norm / attn_k_norm) before NEOX RoPE; YaRN when the file declares it.
#include "../architecture.h"
#include "../blocks.h"
#include "common_bind.h"

namespace r1::engine {
namespace {

status bind_qwen3(const tensor_source& src, const model_hparams& hp, weights& w) {
  R1_RETURN_IF_ERROR(bind_common(src, hp, w));
  for (uint32_t il = 0; il < hp.n_layer; ++il) {
    layer_weights& l = w.layers[il];
    const int i = static_cast<int>(il);
    R1_RETURN_IF_ERROR(bind_attention(src, hp, i, l));
    R1_RETURN_IF_ERROR(bind_ffn(src, hp, i, l));
    R1_ASSIGN_OR_RETURN(l.q_norm, src.get_vector(layer_tensor(i, "attn_q_norm"), hp.head_dim_k));
    R1_ASSIGN_OR_RETURN(l.k_norm, src.get_vector(layer_tensor(i, "attn_k_norm"), hp.head_dim_k));
  }
  return ok_status();
}

void forward_qwen3(const model& m, forward_state& fs) {
  const model_hparams& hp = m.hparams();
  for (uint32_t il = fs.layer_begin; il < fs.layer_end; ++il) {
    const layer_weights& l = m.w().layers[il];
    norm_rows(fs.x.data(), l.attn_norm, fs.xn.data(), fs.n, hp.n_embd, hp.rms_eps);
    linear_many(fs, {&l.wq, &l.wk, &l.wv}, fs.xn.data(), fs.n, {fs.q.data(), fs.k.data(), fs.v.data()});
    norm_heads(fs.q.data(), l.q_norm, fs.n, hp.n_head, hp.head_dim_k, hp.rms_eps);
    norm_heads(fs.k.data(), l.k_norm, fs.n, hp.n_head_kv, hp.head_dim_k, hp.rms_eps);
    rope_qk(m, fs);
    attend(m, fs, static_cast<int>(il));
    attn_output(fs, l);
    ffn_swiglu(m, fs, l);
  }
}

}  // namespace

const architecture k_arch_qwen3{"qwen3", true, bind_qwen3, forward_qwen3, true};

}  // namespace r1::engine
