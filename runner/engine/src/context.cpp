#include "r1/engine/context.h"

#include <algorithm>
#include <string>

#include "architecture.h"
#include "blocks.h"
#include "forward_state.h"
#include "r1/base/assert.h"
#include "r1/kernels/matmul.h"
#include "r1/kernels/ops.h"
#include "weights.h"

namespace r1::engine {

struct context::state {
  kernels::scratch scratch;
  forward_state fs;
  std::vector<float> out_norm;  // normalised final rows
};

context::context(const model& m, const context_params& p) : m_(m), p_(p) {}
context::~context() = default;

result<std::unique_ptr<context>> context::create(const model& m, const context_params& params) {
  context_params p = params;
  const model_hparams& hp = m.hparams();
  if (p.n_ctx <= 0) p.n_ctx = static_cast<int32_t>(hp.n_ctx_train);
  if (p.n_ctx > static_cast<int32_t>(hp.n_ctx_train) && hp.n_ctx_train > 0) {
    return invalid_argument("context " + std::to_string(p.n_ctx) + " exceeds the model's trained length " +
                            std::to_string(hp.n_ctx_train));
  }
  if (p.n_seq <= 0 || p.n_seq > 256) return invalid_argument("parallel slots must be 1..256");
  if (p.n_batch <= 0) p.n_batch = 512;
  std::unique_ptr<context> c(new context(m, p));
  kv_cache_params kp;
  kp.n_layer = static_cast<int>(hp.n_layer);
  kp.n_seq = p.n_seq;
  kp.n_ctx = p.n_ctx;
  kp.n_head_kv = static_cast<int>(hp.n_head_kv);
  kp.head_dim_k = static_cast<int>(hp.head_dim_k);
  kp.head_dim_v = static_cast<int>(hp.head_dim_v);
  kp.type = p.kv_type;
  // deepseek2 MLA-split files cache one latent row per token; V is its first kv_lora values.
  kp.v_in_k = hp.head_dim_k_mla != 0 && hp.n_head_kv == 1;
  R1_ASSIGN_OR_RETURN(c->kv_, kv_cache::create(kp));
  c->pool_ = std::make_unique<kernels::thread_pool>(p.n_threads);
  c->st_ = std::make_unique<state>();
  forward_state& fs = c->st_->fs;
  const size_t nb = static_cast<size_t>(p.n_batch);
  fs.kv = c->kv_.get();
  fs.pool = c->pool_.get();
  fs.scratch = &c->st_->scratch;
  fs.x.resize(nb * hp.n_embd);
  fs.xn.resize(nb * hp.n_embd);
  fs.tmp.resize(nb * hp.n_embd);
  fs.q.resize(nb * hp.n_head * hp.head_dim_k);
  fs.k.resize(nb * hp.n_head_kv * hp.head_dim_k);
  fs.v.resize(nb * hp.n_head_kv * hp.head_dim_v);
  fs.att.resize(nb * hp.n_head * hp.head_dim_v);
  fs.gate.resize(nb * hp.n_ff);
  fs.up.resize(nb * hp.n_ff);
  fs.pos.resize(nb);
  return c;
}

int context::n_threads() const { return pool_->size(); }

uint64_t context::scratch_bytes() const {
  const forward_state& fs = st_->fs;
  const size_t floats = fs.x.size() + fs.xn.size() + fs.tmp.size() + fs.q.size() + fs.k.size() + fs.v.size() +
                        fs.att.size() + fs.gate.size() + fs.up.size();
  return floats * sizeof(float) + st_->scratch.capacity();
}

status context::decode(int seq, std::span<const int32_t> tokens, int32_t pos, logits_mode mode,
                       std::vector<float>& logits) {
  return run(seq, tokens, pos, mode, &logits, nullptr);
}

status context::hidden(int seq, std::span<const int32_t> tokens, int32_t pos, std::vector<float>& out) {
  return run(seq, tokens, pos, logits_mode::none, nullptr, &out);
}

void context::run_batch(std::span<const int32_t> tokens, int32_t pos, int seq) {
  forward_state& fs = st_->fs;
  const model_hparams& hp = m_.hparams();
  fs.seq = seq;
  fs.pos0 = pos;
  fs.n = static_cast<int32_t>(tokens.size());
  for (int32_t i = 0; i < fs.n; ++i) fs.pos[static_cast<size_t>(i)] = pos + i;
  const kernels::matrix_view& e = m_.w().token_embd.view;
  status s = kernels::get_rows(e.type, e.data, e.row_stride_bytes, e.rows, hp.n_embd, tokens.data(), fs.n, fs.x.data());
  R1_ASSERT(s.ok());  // ids were validated by run()
  m_.arch().forward_layers(m_, fs);
}

status context::run(int seq, std::span<const int32_t> tokens, int32_t pos, logits_mode mode,
                    std::vector<float>* logits, std::vector<float>* hidden) {
  const model_hparams& hp = m_.hparams();
  if (seq < 0 || seq >= p_.n_seq) return invalid_argument("slot " + std::to_string(seq) + " does not exist");
  if (tokens.empty()) return invalid_argument("no tokens to evaluate");
  const int32_t held = static_cast<int32_t>(kv_->tokens(seq).size());
  if (pos < 0 || pos > held) {
    return invalid_argument("position " + std::to_string(pos) + " is beyond the " + std::to_string(held) +
                            " tokens slot " + std::to_string(seq) + " holds");
  }
  if (static_cast<int64_t>(pos) + static_cast<int64_t>(tokens.size()) > p_.n_ctx) {
    return resource_exhausted(std::to_string(pos + static_cast<int64_t>(tokens.size())) +
                              " tokens do not fit in the context of " + std::to_string(p_.n_ctx));
  }
  for (int32_t t : tokens) {
    if (t < 0 || static_cast<uint32_t>(t) >= hp.n_vocab) {
      return invalid_argument("token id " + std::to_string(t) + " is outside the vocabulary of " +
                              std::to_string(hp.n_vocab));
    }
  }
  kv_->truncate(seq, pos);
  const size_t n_total = tokens.size();
  const int64_t n_vocab = hp.n_vocab;
  if (logits != nullptr) {
    logits->assign(mode == logits_mode::all ? n_total * static_cast<size_t>(n_vocab)
                   : mode == logits_mode::last ? static_cast<size_t>(n_vocab) : 0, 0.0f);
  }
  if (hidden != nullptr) hidden->assign(n_total * hp.n_embd, 0.0f);
  forward_state& fs = st_->fs;
  for (size_t off = 0; off < n_total; off += static_cast<size_t>(p_.n_batch)) {
    const size_t n = std::min(n_total - off, static_cast<size_t>(p_.n_batch));
    run_batch(tokens.subspan(off, n), pos + static_cast<int32_t>(off), seq);
    auto& cached = kv_->mutable_tokens(seq);
    cached.insert(cached.end(), tokens.begin() + static_cast<std::ptrdiff_t>(off),
                  tokens.begin() + static_cast<std::ptrdiff_t>(off + n));
    // Which rows leave the model: all of them, or only the very last token.
    const bool last_chunk = off + n == n_total;
    size_t first = 0, count = n;
    if (hidden == nullptr && mode != logits_mode::all) {
      if (!last_chunk || mode == logits_mode::none) continue;
      first = n - 1;
      count = 1;
    }
    const int64_t ne = hp.n_embd;
    norm_rows(fs.x.data() + first * ne, m_.w().output_norm, fs.xn.data(), static_cast<int32_t>(count), ne, hp.rms_eps);
    if (hidden != nullptr) {
      std::copy(fs.xn.begin(), fs.xn.begin() + static_cast<std::ptrdiff_t>(count * ne),
                hidden->begin() + static_cast<std::ptrdiff_t>((off + first) * ne));
    }
    if (logits != nullptr && mode != logits_mode::none) {
      float* dst = mode == logits_mode::all ? logits->data() + (off + first) * n_vocab : logits->data();
      const matrix& out = m_.w().output;
      kernels::matmul(out.view, fs.xn.data(), static_cast<int64_t>(count), ne, dst, n_vocab, *fs.pool, *fs.scratch);
    }
  }
  return ok_status();
}

}  // namespace r1::engine
