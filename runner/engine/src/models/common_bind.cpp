#include "common_bind.h"

namespace r1::engine {

status bind_common(const tensor_source& src, const model_hparams& hp, weights& w) {
  R1_ASSIGN_OR_RETURN(w.token_embd, src.get_matrix("token_embd.weight", hp.n_embd, hp.n_vocab));
  R1_ASSIGN_OR_RETURN(w.output_norm, src.get_vector("output_norm.weight", hp.n_embd));
  R1_ASSIGN_OR_RETURN(w.output, src.get_matrix_optional("output.weight", hp.n_embd, hp.n_vocab));
  if (!w.output) {
    w.output = w.token_embd;
    w.tied_output = true;
  }
  w.layers.resize(hp.n_layer);
  return ok_status();
}

status bind_attention(const tensor_source& src, const model_hparams& hp, int il, layer_weights& l) {
  const uint64_t nq = uint64_t{hp.n_head} * hp.head_dim_k;
  const uint64_t nk = uint64_t{hp.n_head_kv} * hp.head_dim_k;
  const uint64_t nv = uint64_t{hp.n_head_kv} * hp.head_dim_v;
  const uint64_t no = uint64_t{hp.n_head} * hp.head_dim_v;
  R1_ASSIGN_OR_RETURN(l.attn_norm, src.get_vector(layer_tensor(il, "attn_norm"), hp.n_embd));
  R1_ASSIGN_OR_RETURN(l.wq, src.get_matrix(layer_tensor(il, "attn_q"), hp.n_embd, nq));
  R1_ASSIGN_OR_RETURN(l.wk, src.get_matrix(layer_tensor(il, "attn_k"), hp.n_embd, nk));
  R1_ASSIGN_OR_RETURN(l.wv, src.get_matrix(layer_tensor(il, "attn_v"), hp.n_embd, nv));
  R1_ASSIGN_OR_RETURN(l.wo, src.get_matrix(layer_tensor(il, "attn_output"), no, hp.n_embd));
  return ok_status();
}

status bind_ffn(const tensor_source& src, const model_hparams& hp, int il, layer_weights& l) {
  R1_ASSIGN_OR_RETURN(l.ffn_norm, src.get_vector(layer_tensor(il, "ffn_norm"), hp.n_embd));
  R1_ASSIGN_OR_RETURN(l.ffn_gate, src.get_matrix(layer_tensor(il, "ffn_gate"), hp.n_embd, hp.n_ff));
  R1_ASSIGN_OR_RETURN(l.ffn_up, src.get_matrix(layer_tensor(il, "ffn_up"), hp.n_embd, hp.n_ff));
  R1_ASSIGN_OR_RETURN(l.ffn_down, src.get_matrix(layer_tensor(il, "ffn_down"), hp.n_ff, hp.n_embd));
  return ok_status();
}

}  // namespace r1::engine
