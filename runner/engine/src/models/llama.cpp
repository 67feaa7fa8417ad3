// llama (DeepSeek-R1-Distill-Llama): as qwen2 without q/k/v biases, NORM RoPE (adjacent pairs;
// the converter permuted the Q/K rows for it) with the Llama-3.1 frequency divisors from the
// optional `rope_freqs` tensor.
#include "../architecture.h"
#include "../blocks.h"
#include "common_bind.h"

namespace r1::engine {
namespace {

status bind_llama(const tensor_source& src, const model_hparams& hp, weights& w) {
  R1_RETURN_IF_ERROR(bind_common(src, hp, w));
  R1_ASSIGN_OR_RETURN(w.rope_freqs, src.get_vector_optional("rope_freqs.weight", hp.rope.n_rot / 2));
  for (uint32_t il = 0; il < hp.n_layer; ++il) {
    layer_weights& l = w.layers[il];
    R1_RETURN_IF_ERROR(bind_attention(src, hp, static_cast<int>(il), l));
    R1_RETURN_IF_ERROR(bind_ffn(src, hp, static_cast<int>(il), l));
  }
  return ok_status();
}

void forward_llama(const model& m, forward_state& fs) {
  const model_hparams& hp = m.hparams();
  for (uint32_t il = fs.layer_begin; il < fs.layer_end; ++il) {
    const layer_weights& l = m.w().layers[il];
    norm_rows(fs.x.data(), l.attn_norm, fs.xn.data(), fs.n, hp.n_embd, hp.rms_eps);
    linear_many(fs, {&l.wq, &l.wk, &l.wv}, fs.xn.data(), fs.n, {fs.q.data(), fs.k.data(), fs.v.data()});
    rope_qk(m, fs);  // hp.rope.freq_factors points at w.rope_freqs when present
    attend(m, fs, static_cast<int>(il));
    attn_output(fs, l);
    ffn_swiglu(m, fs, l);
  }
}

}  // namespace

const architecture k_arch_llama{"llama", false, bind_llama, forward_llama, true};

}  // namespace r1::engine
