#include "r1/engine/context.h"

#include <algorithm>
#include <string>

#include "architecture.h"
#include "blocks.h"
#include "device_layers.h"
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
  std::vector<int32_t> tokens;  // the tokens of a decode_batch chunk
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
  kp.huge_pages = p.huge_pages;
  // deepseek2 MLA-split files cache one latent row per token; V is its first kv_lora values.
  kp.v_in_k = hp.head_dim_k_mla != 0 && hp.n_head_kv == 1;
  R1_ASSIGN_OR_RETURN(c->kv_, kv_cache::create(kp));
  if (!p.gpus.empty()) {
    // The host cache keeps its (untouched, uncommitted) pages for GPU layers: one layout for all.
    R1_ASSIGN_OR_RETURN(c->dev_, device_layers::create(m, p));
  }
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

std::vector<device_usage> context::devices() const { return dev_ ? dev_->usage() : std::vector<device_usage>{}; }

uint64_t context::host_kv_bytes() const {
  uint32_t gpu_layers = 0;
  for (const device_usage& d : devices()) gpu_layers += d.n_layers;
  const uint64_t n_layer = m_.hparams().n_layer;
  return n_layer == 0 ? 0 : kv_->bytes() / n_layer * (n_layer - gpu_layers);
}

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

status context::run_batch(std::span<const int32_t> tokens, int32_t pos, int seq, bool keep_on_device,
                          bool* on_device) {
  forward_state& fs = st_->fs;
  const int32_t n = static_cast<int32_t>(tokens.size());
  fs.spans.assign(1, seq_span{seq, pos, 0, n});
  for (int32_t i = 0; i < n; ++i) fs.pos[static_cast<size_t>(i)] = pos + i;
  return forward_chunk(tokens, keep_on_device, on_device);
}

status context::forward_chunk(std::span<const int32_t> tokens, bool keep_on_device, bool* on_device) {
  forward_state& fs = st_->fs;
  *on_device = false;
  const model_hparams& hp = m_.hparams();
  R1_ASSERT(fs.spans.size() == 1 || (m_.arch().multi_seq && !dev_));
  fs.seq = fs.spans.front().seq;
  fs.pos0 = fs.spans.front().pos0;
  fs.n = static_cast<int32_t>(tokens.size());
  const kernels::matrix_view& e = m_.w().token_embd.view;
  status s = kernels::get_rows(e.type, e.data, e.row_stride_bytes, e.rows, hp.n_embd, tokens.data(), fs.n, fs.x.data());
  R1_ASSERT(s.ok());  // ids were validated by run() / check_rows()
  if (!dev_) {
    fs.layer_begin = 0;
    fs.layer_end = hp.n_layer;
    m_.arch().forward_layers(m_, fs);
    return ok_status();
  }
  // CPU layers before each GPU share, the share on its device, the CPU layers after the last.
  uint32_t next = 0;
  for (size_t i = 0; i < dev_->size(); ++i) {
    if (next < dev_->first_layer(i)) {
      fs.layer_begin = next;
      fs.layer_end = dev_->first_layer(i);
      m_.arch().forward_layers(m_, fs);
    }
    *on_device = keep_on_device && dev_->has_output(i);
    R1_RETURN_IF_ERROR(dev_->run(i, fs, *on_device));
    next = dev_->first_layer(i) + dev_->n_layers(i);
  }
  if (next < hp.n_layer) {
    fs.layer_begin = next;
    fs.layer_end = hp.n_layer;
    m_.arch().forward_layers(m_, fs);
  }
  return ok_status();
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
    // A GPU holding the head keeps the residual when only logits leave the model.
    bool on_device = false;
    const status s = run_batch(tokens.subspan(off, n), pos + static_cast<int32_t>(off), seq, hidden == nullptr, &on_device);
    if (!s.ok()) {
      kv_->truncate(seq, pos);  // the device cache may be half written: forget the whole batch
      return s;
    }
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
    if (on_device) {
      if (logits == nullptr || mode == logits_mode::none) continue;
      float* dst = mode == logits_mode::all ? logits->data() + (off + first) * n_vocab : logits->data();
      R1_RETURN_IF_ERROR(dev_->head(dev_->size() - 1, static_cast<int32_t>(first), static_cast<int32_t>(count), dst));
      continue;
    }
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

status context::check_rows(std::span<const batch_row> rows) const {
  if (rows.empty()) return invalid_argument("no rows to evaluate");
  const uint32_t n_vocab = m_.hparams().n_vocab;
  std::vector<bool> seen(static_cast<size_t>(p_.n_seq), false);
  for (size_t i = 0; i < rows.size(); ++i) {
    const batch_row& r = rows[i];
    const std::string where = "batch row " + std::to_string(i) + ": ";
    if (r.seq < 0 || r.seq >= p_.n_seq) return invalid_argument(where + "slot " + std::to_string(r.seq) + " does not exist");
    if (r.token < 0 || static_cast<uint32_t>(r.token) >= n_vocab) {
      return invalid_argument(where + "token id " + std::to_string(r.token) + " is outside the vocabulary of " +
                              std::to_string(n_vocab));
    }
    if (r.pos < 0 || r.pos >= p_.n_ctx) {
      return resource_exhausted(where + "position " + std::to_string(r.pos) + " does not fit in the context of " +
                                std::to_string(p_.n_ctx));
    }
    const bool continues = i > 0 && rows[i - 1].seq == r.seq;
    if (continues) {
      if (r.pos != rows[i - 1].pos + 1) {
        return invalid_argument(where + "position " + std::to_string(r.pos) + " does not follow " +
                                std::to_string(rows[i - 1].pos) + " of the same slot");
      }
      continue;
    }
    if (seen[static_cast<size_t>(r.seq)]) {
      return invalid_argument(where + "slot " + std::to_string(r.seq) + " already has rows earlier in the batch");
    }
    seen[static_cast<size_t>(r.seq)] = true;
    const int32_t held = static_cast<int32_t>(kv_->tokens(r.seq).size());
    if (r.pos > held) {
      return invalid_argument(where + "position " + std::to_string(r.pos) + " is beyond the " + std::to_string(held) +
                              " tokens slot " + std::to_string(r.seq) + " holds");
    }
  }
  return ok_status();
}

status context::decode_batch(std::span<const batch_row> rows, std::vector<float>& logits) {
  R1_RETURN_IF_ERROR(check_rows(rows));
  size_t wanted = 0;
  for (const batch_row& r : rows) wanted += r.want_logits ? 1 : 0;
  logits.assign(wanted * m_.hparams().n_vocab, 0.0f);
  if (!m_.arch().multi_seq || dev_) return decode_each(rows, logits);
  decode_rows(rows, logits);
  return ok_status();
}

void context::decode_rows(std::span<const batch_row> rows, std::vector<float>& logits) {
  const model_hparams& hp = m_.hparams();
  const int64_t ne = hp.n_embd, n_vocab = hp.n_vocab;
  forward_state& fs = st_->fs;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i == 0 || rows[i - 1].seq != rows[i].seq) kv_->truncate(rows[i].seq, rows[i].pos);
  }
  float* out = logits.data();
  std::vector<int32_t>& tokens = st_->tokens;
  for (size_t off = 0; off < rows.size(); off += static_cast<size_t>(p_.n_batch)) {
    const size_t n = std::min(rows.size() - off, static_cast<size_t>(p_.n_batch));
    tokens.resize(n);
    fs.spans.clear();
    for (size_t i = 0; i < n; ++i) {
      const batch_row& r = rows[off + i];
      tokens[i] = r.token;
      fs.pos[i] = r.pos;
      if (i == 0 || rows[off + i - 1].seq != r.seq) fs.spans.push_back({r.seq, r.pos, static_cast<int32_t>(i), 0});
      ++fs.spans.back().n;
    }
    bool on_device = false;
    const status s = forward_chunk(tokens, false, &on_device);
    R1_ASSERT(s.ok());  // the CPU path has no failure of its own
    for (const seq_span& sp : fs.spans) {
      auto& cached = kv_->mutable_tokens(sp.seq);
      cached.insert(cached.end(), tokens.begin() + sp.row0, tokens.begin() + sp.row0 + sp.n);
    }
    // The wanted rows, normalised side by side, go through the head in one matmul.
    int32_t k = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!rows[off + i].want_logits) continue;
      norm_rows(fs.x.data() + static_cast<int64_t>(i) * ne, m_.w().output_norm, fs.xn.data() + k * ne, 1, ne, hp.rms_eps);
      ++k;
    }
    if (k == 0) continue;
    kernels::matmul(m_.w().output.view, fs.xn.data(), k, ne, out, n_vocab, *fs.pool, *fs.scratch);
    out += k * n_vocab;
  }
}

status context::decode_each(std::span<const batch_row> rows, std::vector<float>& logits) {
  const size_t n_vocab = m_.hparams().n_vocab;
  float* out = logits.data();
  std::vector<int32_t> tokens;
  std::vector<float> part;
  for (size_t b = 0; b < rows.size();) {
    size_t e = b + 1;
    while (e < rows.size() && rows[e].seq == rows[b].seq) ++e;
    tokens.clear();
    size_t wanted = 0;
    for (size_t i = b; i < e; ++i) {
      tokens.push_back(rows[i].token);
      wanted += rows[i].want_logits ? 1 : 0;
    }
    // The narrowest mode that covers the wanted rows.
    const bool only_last = wanted == 1 && rows[e - 1].want_logits;
    const logits_mode mode = wanted == 0 ? logits_mode::none : only_last ? logits_mode::last : logits_mode::all;
    R1_RETURN_IF_ERROR(run(rows[b].seq, tokens, rows[b].pos, mode, &part, nullptr));
    for (size_t i = b; i < e; ++i) {
      if (!rows[i].want_logits) continue;
      const float* src = mode == logits_mode::last ? part.data() : part.data() + (i - b) * n_vocab;
      out = std::copy(src, src + n_vocab, out);
    }
    b = e;
  }
  return ok_status();
}

}  // namespace r1::engine
