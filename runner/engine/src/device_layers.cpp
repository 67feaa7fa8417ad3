#include "device_layers.h"

#include <algorithm>
#include <string>

#include "r1/kernels/backend.h"
#include "r1/kernels/quants.h"
#include "weights.h"

namespace r1::engine {

namespace {

using kernels::buffer;
using kernels::tensor_arg;

struct dev_matrix {
  std::unique_ptr<buffer> buf;
  tensor_type type = tensor_type::f32;
  int64_t rows = 0, cols = 0;
};

struct dev_layer {
  std::unique_ptr<buffer> attn_norm, bq, bk, bv, q_norm, k_norm, ffn_norm;
  dev_matrix wq, wk, wv, wo, gate, up, down;
  std::unique_ptr<buffer> k_cache, v_cache;  // [slot][position] rows
};

tensor_arg at(const std::unique_ptr<buffer>& b, int64_t float_offset = 0) {
  return {b.get(), static_cast<size_t>(float_offset) * sizeof(float)};
}

std::string device_name(const kernels::device& d) { return d.info().backend + std::to_string(d.info().index); }

}  // namespace

struct device_layers::share {
  kernels::device* dev = nullptr;
  uint32_t first = 0, n = 0;
  bool output = false;
  uint64_t bytes = 0;
  std::vector<dev_layer> layers;
  std::unique_ptr<buffer> output_norm;
  dev_matrix head;
  std::unique_ptr<buffer> x, xn, tmp, q, k, v, att, gate, up, pos, freq_factors, logits;
  int64_t logits_rows = 1;
  size_t k_row = 0, v_row = 0;  // cache bytes per position
  std::unique_ptr<kernels::stream> s;

  result<std::unique_ptr<buffer>> alloc(size_t n_bytes, const std::string& what) {
    auto b = dev->alloc(std::max<size_t>(n_bytes, 4));
    if (!b.ok()) return b.error().with_context(what + " on " + device_name(*dev));
    bytes += (*b)->size();
    return std::move(*b);
  }
  status upload_vec(const vec& v, const std::string& what, std::unique_ptr<buffer>& out) {
    if (v.empty()) return ok_status();
    R1_ASSIGN_OR_RETURN(out, alloc(v.size() * sizeof(float), what));
    return out->upload(0, v.data(), v.size() * sizeof(float));
  }
  status upload_matrix(const matrix& m, dev_matrix& out) {
    const kernels::matrix_view& v = m.view;
    if (!dev->supports(kernels::op_kind::matmul, v.type)) {
      return unavailable(m.name + " (" + std::string(type_info(v.type).name) + ") cannot be multiplied on " +
                         device_name(*dev) + ": run that layer on the CPU (fewer GPU layers)");
    }
    const size_t row = kernels::row_size(v.type, v.cols);
    const size_t stride = v.row_stride_bytes ? v.row_stride_bytes : row;
    R1_ASSIGN_OR_RETURN(out.buf, alloc(row * static_cast<size_t>(v.rows), m.name));
    out.type = v.type;
    out.rows = v.rows;
    out.cols = v.cols;
    const auto* src = static_cast<const uint8_t*>(v.data);
    if (stride == row) return out.buf->upload(0, src, row * static_cast<size_t>(v.rows));
    for (int64_t r = 0; r < v.rows; ++r) {
      R1_RETURN_IF_ERROR(out.buf->upload(static_cast<size_t>(r) * row, src + static_cast<size_t>(r) * stride, row));
    }
    return ok_status();
  }
  status matmul(const dev_matrix& w, const tensor_arg& x, int64_t n, const tensor_arg& y) {
    return s->matmul({w.type, w.rows, w.cols, {w.buf.get(), 0}, x, n, w.cols, y, w.rows});
  }
  // y = W·x (+ bias).
  status linear(const dev_matrix& w, const std::unique_ptr<buffer>& bias, const tensor_arg& x, int64_t n,
                const tensor_arg& y) {
    R1_RETURN_IF_ERROR(matmul(w, x, n, y));
    if (!bias) return ok_status();
    return s->binary({kernels::binary_op::add, y, {bias.get(), 0}, y, n * w.rows, w.rows});
  }
};

bool device_layers::supported(std::string_view a) { return a == "qwen2" || a == "llama" || a == "qwen3"; }

device_layers::device_layers(const model& m, const context_params& p) : m_(m), p_(p) {}
device_layers::~device_layers() {
  // Queued work may still reference the buffers: wait for it before they go.
  for (auto& s : shares_) {
    if (s->s) (void)s->s->synchronize();
  }
}

namespace {

status check_layout(const model& m, const context_params& p) {
  const model_hparams& hp = m.hparams();
  if (!device_layers::supported(hp.architecture)) {
    return invalid_argument("architecture " + hp.architecture +
                            " runs on the CPU only (no GPU kernels for it yet): use 0 GPU layers");
  }
  if (p.kv_type != tensor_type::f16 && p.kv_type != tensor_type::f32) {
    return invalid_argument("a " + std::string(type_info(p.kv_type).name) +
                            " KV cache cannot live on a GPU (use f16 or f32, or 0 GPU layers)");
  }
  uint32_t next = 0;
  for (size_t i = 0; i < p.gpus.size(); ++i) {
    const gpu_offload& g = p.gpus[i];
    if (g.device == nullptr || g.n_layers == 0) return invalid_argument("GPU share " + std::to_string(i) + " is empty");
    if (g.first_layer < next || g.first_layer + g.n_layers > hp.n_layer) {
      return invalid_argument("GPU layers " + std::to_string(g.first_layer) + ".." +
                              std::to_string(g.first_layer + g.n_layers - 1) + " overlap or exceed the " +
                              std::to_string(hp.n_layer) + " layers");
    }
    if (g.output && (i + 1 != p.gpus.size() || g.first_layer + g.n_layers != hp.n_layer)) {
      return invalid_argument("the output head can only follow the last layer on the last GPU");
    }
    next = g.first_layer + g.n_layers;
  }
  return ok_status();
}

}  // namespace

result<std::unique_ptr<device_layers>> device_layers::create(const model& m, const context_params& p) {
  R1_RETURN_IF_ERROR(check_layout(m, p));
  std::unique_ptr<device_layers> d(new device_layers(m, p));
  const model_hparams& hp = m.hparams();
  const weights& w = m.w();
  // A batch never holds more tokens than one slot's context.
  const int64_t nb = std::min<int64_t>(p.n_batch, p.n_ctx), e = hp.n_embd;
  const int64_t kw = int64_t{hp.n_head_kv} * hp.head_dim_k, vw = int64_t{hp.n_head_kv} * hp.head_dim_v;
  const size_t positions = static_cast<size_t>(p.n_ctx) * static_cast<size_t>(p.n_seq);
  for (const gpu_offload& g : p.gpus) {
    auto sh = std::make_unique<share>();
    sh->dev = g.device;
    sh->first = g.first_layer;
    sh->n = g.n_layers;
    sh->output = g.output;
    if (!sh->dev->supports(kernels::op_kind::attention, p.kv_type)) {
      return unavailable(device_name(*sh->dev) + " has no attention over a " +
                         std::string(type_info(p.kv_type).name) + " cache");
    }
    sh->k_row = kernels::row_size(p.kv_type, kw);
    sh->v_row = kernels::row_size(p.kv_type, vw);
    for (uint32_t il = g.first_layer; il < g.first_layer + g.n_layers; ++il) {
      const layer_weights& l = w.layers[il];
      dev_layer& dl = sh->layers.emplace_back();
      const std::string pre = "blk." + std::to_string(il) + ".";
      R1_RETURN_IF_ERROR(sh->upload_vec(l.attn_norm, pre + "attn_norm", dl.attn_norm));
      R1_RETURN_IF_ERROR(sh->upload_vec(l.bq, pre + "attn_q.bias", dl.bq));
      R1_RETURN_IF_ERROR(sh->upload_vec(l.bk, pre + "attn_k.bias", dl.bk));
      R1_RETURN_IF_ERROR(sh->upload_vec(l.bv, pre + "attn_v.bias", dl.bv));
      R1_RETURN_IF_ERROR(sh->upload_vec(l.q_norm, pre + "attn_q_norm", dl.q_norm));
      R1_RETURN_IF_ERROR(sh->upload_vec(l.k_norm, pre + "attn_k_norm", dl.k_norm));
      R1_RETURN_IF_ERROR(sh->upload_vec(l.ffn_norm, pre + "ffn_norm", dl.ffn_norm));
      R1_RETURN_IF_ERROR(sh->upload_matrix(l.wq, dl.wq));
      R1_RETURN_IF_ERROR(sh->upload_matrix(l.wk, dl.wk));
      R1_RETURN_IF_ERROR(sh->upload_matrix(l.wv, dl.wv));
      R1_RETURN_IF_ERROR(sh->upload_matrix(l.wo, dl.wo));
      R1_RETURN_IF_ERROR(sh->upload_matrix(l.ffn_gate, dl.gate));
      R1_RETURN_IF_ERROR(sh->upload_matrix(l.ffn_up, dl.up));
      R1_RETURN_IF_ERROR(sh->upload_matrix(l.ffn_down, dl.down));
      R1_ASSIGN_OR_RETURN(dl.k_cache, sh->alloc(sh->k_row * positions, pre + "K cache"));
      R1_ASSIGN_OR_RETURN(dl.v_cache, sh->alloc(sh->v_row * positions, pre + "V cache"));
    }
    if (g.output) {
      R1_RETURN_IF_ERROR(sh->upload_vec(w.output_norm, "output_norm", sh->output_norm));
      R1_RETURN_IF_ERROR(sh->upload_matrix(w.output, sh->head));
      sh->logits_rows = std::max<int64_t>(1, std::min<int64_t>(p.n_seq, nb));
      R1_ASSIGN_OR_RETURN(sh->logits, sh->alloc(static_cast<size_t>(sh->logits_rows) * hp.n_vocab * 4, "logits"));
    }
    auto f = [&](std::unique_ptr<buffer>& b, int64_t floats, const char* what) -> status {
      R1_ASSIGN_OR_RETURN(b, sh->alloc(static_cast<size_t>(floats) * sizeof(float), what));
      return ok_status();
    };
    R1_RETURN_IF_ERROR(f(sh->x, nb * e, "residual"));
    R1_RETURN_IF_ERROR(f(sh->xn, nb * e, "scratch"));
    R1_RETURN_IF_ERROR(f(sh->tmp, nb * e, "scratch"));
    R1_RETURN_IF_ERROR(f(sh->q, nb * hp.n_head * hp.head_dim_k, "scratch"));
    R1_RETURN_IF_ERROR(f(sh->k, nb * kw, "scratch"));
    R1_RETURN_IF_ERROR(f(sh->v, nb * vw, "scratch"));
    R1_RETURN_IF_ERROR(f(sh->att, nb * hp.n_head * hp.head_dim_v, "scratch"));
    R1_RETURN_IF_ERROR(f(sh->gate, nb * hp.n_ff, "scratch"));
    R1_RETURN_IF_ERROR(f(sh->up, nb * hp.n_ff, "scratch"));
    R1_RETURN_IF_ERROR(f(sh->pos, nb, "positions"));
    if (hp.rope.freq_factors != nullptr) {
      R1_RETURN_IF_ERROR(f(sh->freq_factors, hp.rope.n_rot / 2, "rope factors"));
      R1_RETURN_IF_ERROR(sh->freq_factors->upload(0, hp.rope.freq_factors, static_cast<size_t>(hp.rope.n_rot / 2) * 4));
    }
    R1_ASSIGN_OR_RETURN(sh->s, sh->dev->create_stream());
    d->shares_.push_back(std::move(sh));
  }
  return d;
}

size_t device_layers::size() const { return shares_.size(); }
uint32_t device_layers::first_layer(size_t i) const { return shares_[i]->first; }
uint32_t device_layers::n_layers(size_t i) const { return shares_[i]->n; }
bool device_layers::has_output(size_t i) const { return shares_[i]->output; }

std::vector<device_usage> device_layers::usage() const {
  std::vector<device_usage> out;
  for (const auto& s : shares_) {
    const kernels::device_info& info = s->dev->info();
    out.push_back({info.backend, info.index, info.name, s->first, s->n, s->output, s->bytes});
  }
  return out;
}

// One layer on the share's stream, as the CPU blocks compute it (blocks.cpp).
status device_layers::layer(size_t i, size_t local, const forward_state& fs) {
  share& sh = *shares_[i];
  const dev_layer& l = sh.layers[local];
  const model_hparams& hp = m_.hparams();
  const int64_t n = fs.n, e = hp.n_embd, hd = hp.head_dim_k;
  const int64_t qw = int64_t{hp.n_head} * hd, kw = int64_t{hp.n_head_kv} * hd;
  const int64_t vw = int64_t{hp.n_head_kv} * hp.head_dim_v, ow = int64_t{hp.n_head} * hp.head_dim_v;
  kernels::stream& s = *sh.s;
  R1_RETURN_IF_ERROR(s.rms_norm({at(sh.x), {l.attn_norm.get(), 0}, at(sh.xn), e, n, e, hp.rms_eps}));
  R1_RETURN_IF_ERROR(sh.linear(l.wq, l.bq, at(sh.xn), n, at(sh.q)));
  R1_RETURN_IF_ERROR(sh.linear(l.wk, l.bk, at(sh.xn), n, at(sh.k)));
  R1_RETURN_IF_ERROR(sh.linear(l.wv, l.bv, at(sh.xn), n, at(sh.v)));
  if (l.q_norm) R1_RETURN_IF_ERROR(s.rms_norm({at(sh.q), {l.q_norm.get(), 0}, at(sh.q), hd, n * hp.n_head, hd, hp.rms_eps}));
  if (l.k_norm) R1_RETURN_IF_ERROR(s.rms_norm({at(sh.k), {l.k_norm.get(), 0}, at(sh.k), hd, n * hp.n_head_kv, hd, hp.rms_eps}));
  kernels::rope_args r;
  const kernels::rope_params& rp = hp.rope;
  r.pos = at(sh.pos);
  r.freq_factors = sh.freq_factors ? at(sh.freq_factors) : tensor_arg{};
  r.n_tokens = n;
  r.head_dim = hd;
  r.n_rot = rp.n_rot;
  r.neox = rp.neox;
  r.freq_base = rp.freq_base;
  r.freq_scale = rp.freq_scale;
  r.ext_factor = rp.ext_factor;
  r.attn_factor = rp.attn_factor;
  r.beta_fast = rp.beta_fast;
  r.beta_slow = rp.beta_slow;
  r.n_ctx_orig = rp.n_ctx_orig;
  r.x = at(sh.q);
  r.n_heads = hp.n_head;
  r.token_stride = qw;
  R1_RETURN_IF_ERROR(s.rope(r));
  r.x = at(sh.k);
  r.n_heads = hp.n_head_kv;
  r.token_stride = kw;
  R1_RETURN_IF_ERROR(s.rope(r));
  // The slot's rows start at seq * n_ctx; the batch goes to positions pos0 .. pos0+n-1.
  const size_t slot = static_cast<size_t>(fs.seq) * static_cast<size_t>(p_.n_ctx);
  const size_t k0 = slot * sh.k_row, v0 = slot * sh.v_row;
  const size_t at_k = k0 + static_cast<size_t>(fs.pos0) * sh.k_row, at_v = v0 + static_cast<size_t>(fs.pos0) * sh.v_row;
  R1_RETURN_IF_ERROR(s.convert_rows({at(sh.k), kw, n, kw, p_.kv_type, {l.k_cache.get(), at_k}, sh.k_row}));
  R1_RETURN_IF_ERROR(s.convert_rows({at(sh.v), vw, n, vw, p_.kv_type, {l.v_cache.get(), at_v}, sh.v_row}));
  kernels::attention_op_args a;
  a.q = at(sh.q);
  a.out = at(sh.att);
  a.q_stride = qw;
  a.out_stride = ow;
  a.n_q = n;
  a.n_head = static_cast<int>(hp.n_head);
  a.n_head_kv = static_cast<int>(hp.n_head_kv);
  a.head_dim_k = static_cast<int>(hd);
  a.head_dim_v = static_cast<int>(hp.head_dim_v);
  a.n_kv = fs.pos0 + n;
  a.q_pos0 = fs.pos0;
  a.causal = true;
  a.scale = hp.kq_scale;
  a.k = {p_.kv_type, {l.k_cache.get(), k0}, sh.k_row, kernels::row_size(p_.kv_type, hd)};
  a.v = {p_.kv_type, {l.v_cache.get(), v0}, sh.v_row, kernels::row_size(p_.kv_type, hp.head_dim_v)};
  R1_RETURN_IF_ERROR(s.attention(a));
  R1_RETURN_IF_ERROR(sh.matmul(l.wo, at(sh.att), n, at(sh.tmp)));
  R1_RETURN_IF_ERROR(s.binary({kernels::binary_op::add, at(sh.x), at(sh.tmp), at(sh.x), n * e, 0}));
  R1_RETURN_IF_ERROR(s.rms_norm({at(sh.x), {l.ffn_norm.get(), 0}, at(sh.xn), e, n, e, hp.rms_eps}));
  R1_RETURN_IF_ERROR(sh.matmul(l.gate, at(sh.xn), n, at(sh.gate)));
  R1_RETURN_IF_ERROR(sh.matmul(l.up, at(sh.xn), n, at(sh.up)));
  R1_RETURN_IF_ERROR(s.swiglu({at(sh.gate), at(sh.up), at(sh.gate), n * hp.n_ff}));
  R1_RETURN_IF_ERROR(sh.matmul(l.down, at(sh.gate), n, at(sh.tmp)));
  return s.binary({kernels::binary_op::add, at(sh.x), at(sh.tmp), at(sh.x), n * e, 0});
}

status device_layers::run(size_t i, forward_state& fs, bool keep_on_device) {
  share& sh = *shares_[i];
  const size_t x_bytes = static_cast<size_t>(fs.n) * m_.hparams().n_embd * sizeof(float);
  R1_RETURN_IF_ERROR(sh.x->upload(0, fs.x.data(), x_bytes));
  R1_RETURN_IF_ERROR(sh.pos->upload(0, fs.pos.data(), static_cast<size_t>(fs.n) * sizeof(int32_t)));
  // One step of the stream: a backend may launch a decode step as a whole (CUDA graphs).
  R1_RETURN_IF_ERROR(sh.s->begin_step(fs.n));
  for (size_t local = 0; local < sh.layers.size(); ++local) R1_RETURN_IF_ERROR(layer(i, local, fs));
  R1_RETURN_IF_ERROR(sh.s->end_step().with_context(device_name(*sh.dev)));
  R1_RETURN_IF_ERROR(sh.s->synchronize().with_context(device_name(*sh.dev)));
  if (keep_on_device) return ok_status();
  return sh.x->download(0, fs.x.data(), x_bytes);
}

status device_layers::head(size_t i, int32_t first, int32_t count, float* dst) {
  share& sh = *shares_[i];
  const model_hparams& hp = m_.hparams();
  const int64_t e = hp.n_embd, nv = hp.n_vocab;
  for (int64_t r = 0; r < count; r += sh.logits_rows) {
    const int64_t rows = std::min<int64_t>(sh.logits_rows, count - r);
    R1_RETURN_IF_ERROR(sh.s->rms_norm({at(sh.x, (first + r) * e), {sh.output_norm.get(), 0}, at(sh.xn), e, rows, e,
                                       hp.rms_eps}));
    R1_RETURN_IF_ERROR(sh.matmul(sh.head, at(sh.xn), rows, at(sh.logits)));
    R1_RETURN_IF_ERROR(sh.s->synchronize().with_context(device_name(*sh.dev)));
    R1_RETURN_IF_ERROR(sh.logits->download(0, dst + r * nv, static_cast<size_t>(rows * nv) * sizeof(float)));
  }
  return ok_status();
}

}  // namespace r1::engine
