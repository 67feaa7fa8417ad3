#include "r1/engine/model.h"

#include <chrono>
#include <cmath>
#include <optional>

#include "architecture.h"
#include "r1/base/log.h"
#include "r1/gguf/model_files.h"
#include "r1/gguf/model_params.h"
#include "tensor_source.h"
#include "vocab_gguf.h"
#include "weights.h"

namespace r1::engine {

struct model::files {
  std::optional<gguf::model_files> set;            // one path: a file or a named split set
  std::vector<std::unique_ptr<gguf::file>> loose;  // several paths (blobs of a split set)
  std::vector<const gguf::file*> all;
  const gguf::file* meta = nullptr;
};

model::model() = default;
model::~model() = default;

std::vector<const gguf::file*> model::gguf_files() const { return files_->all; }
const gguf::file& model::gguf_metadata() const { return *files_->meta; }

namespace {

result<std::unique_ptr<model::files>> open_files(const std::vector<std::string>& paths);

status uniform(const std::vector<uint32_t>& v, const char* what, uint32_t* out) {
  if (v.empty()) return corrupt(std::string(what) + " is missing");
  for (uint32_t x : v) {
    if (x != v.front()) {
      return invalid_argument(std::string(what) + " differs between layers, which this engine does not support");
    }
  }
  *out = v.front();
  return ok_status();
}

result<model_hparams> engine_hparams(const gguf::model_params& p) {
  model_hparams hp;
  hp.architecture = p.arch;
  hp.n_ctx_train = p.n_ctx_train;
  hp.n_embd = p.n_embd;
  hp.n_layer = p.n_layer;
  hp.n_vocab = p.n_vocab;
  R1_RETURN_IF_ERROR(uniform(p.n_head, "attention.head_count", &hp.n_head));
  R1_RETURN_IF_ERROR(uniform(p.n_head_kv, "attention.head_count_kv", &hp.n_head_kv));
  R1_RETURN_IF_ERROR(uniform(p.n_ff, "feed_forward_length", &hp.n_ff));
  hp.head_dim_k = p.n_embd_head_k;
  hp.head_dim_v = p.n_embd_head_v;
  if (hp.n_head == 0 || hp.n_head_kv == 0 || hp.n_head % hp.n_head_kv != 0) {
    return corrupt("head counts " + std::to_string(hp.n_head) + " / " + std::to_string(hp.n_head_kv) +
                   " do not form query groups");
  }
  if (hp.head_dim_k == 0 || hp.head_dim_v == 0 || p.n_rot == 0 || p.n_rot > hp.head_dim_k || p.n_rot % 2 != 0) {
    return corrupt("head size " + std::to_string(hp.head_dim_k) + " / rope dimension " + std::to_string(p.n_rot) +
                   " are inconsistent");
  }
  hp.rms_eps = p.rms_eps;
  hp.kq_scale = p.attention_scale != 0 ? p.attention_scale : 1.0f / std::sqrt(static_cast<float>(hp.head_dim_k));
  kernels::rope_params& r = hp.rope;
  r.n_rot = static_cast<int>(p.n_rot);
  r.neox = p.rope == gguf::rope_mode::neox;
  r.freq_base = p.rope_freq_base;
  r.freq_scale = p.rope_freq_scale;
  r.ext_factor = p.effective_ext_factor();
  // llama.cpp's context-level attention factor cancels its own YaRN boost except for the
  // file's rope.scaling.attn_factor; the kernel then applies 1 + 0.1 ln(1/freq_scale).
  r.attn_factor = p.rope_scaling_type == gguf::rope_scaling::yarn ? p.rope_attn_factor : 1.0f;
  r.beta_fast = p.yarn_beta_fast;
  r.beta_slow = p.yarn_beta_slow;
  r.n_ctx_orig = static_cast<int>(p.n_ctx_orig_yarn != 0 ? p.n_ctx_orig_yarn : p.n_ctx_train);
  hp.rope_scaling = std::string(gguf::rope_scaling_name(p.rope_scaling_type));
  hp.n_lora_q = p.n_lora_q;
  hp.n_lora_kv = p.n_lora_kv;
  hp.head_dim_k_mla = p.n_embd_head_k_mla;
  hp.head_dim_v_mla = p.n_embd_head_v_mla;
  hp.n_expert = p.n_expert;
  hp.n_expert_used = p.n_expert_used;
  hp.n_expert_shared = p.n_expert_shared;
  hp.n_ff_exp = p.n_ff_exp;
  hp.n_layer_dense_lead = p.n_layer_dense_lead;
  hp.expert_weights_scale = p.expert_weights_scale;
  hp.expert_weights_norm = p.expert_weights_norm;
  hp.expert_gating = static_cast<int>(p.expert_gating);
  hp.n_expert_groups = p.n_expert_groups;
  hp.n_group_used = p.n_group_used;
  hp.yarn_log_multiplier = p.yarn_log_multiplier;
  return hp;
}

result<std::unique_ptr<model::files>> open_files(const std::vector<std::string>& paths) {
  if (paths.empty()) return invalid_argument("no model file given");
  auto f = std::make_unique<model::files>();
  if (paths.size() == 1) {
    R1_ASSIGN_OR_RETURN(gguf::model_files set, gguf::model_files::open(paths[0]));
    f->set.emplace(std::move(set));
    for (const auto& s : f->set->shards()) f->all.push_back(s.get());
    f->meta = &f->set->metadata();
    return f;
  }
  for (const auto& p : paths) {
    R1_ASSIGN_OR_RETURN(gguf::file one, gguf::file::open(p));
    f->loose.push_back(std::make_unique<gguf::file>(std::move(one)));
  }
  // Metadata lives in shard 0 (split.no = 0), whatever order the paths came in.
  for (const auto& one : f->loose) {
    f->all.push_back(one.get());
    R1_ASSIGN_OR_RETURN(uint64_t no, one->get_uint_or("split.no", 0));
    if (no == 0 && f->meta == nullptr) f->meta = one.get();
  }
  if (f->meta == nullptr) return corrupt("none of the " + std::to_string(paths.size()) + " files is shard 0");
  return f;
}

}  // namespace

result<std::unique_ptr<model>> model::load(const std::vector<std::string>& paths,
                                           const std::function<void(double)>& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  auto report = [&](double x) {
    if (progress) progress(x);
  };
  report(0.0);
  std::unique_ptr<model> m(new model());
  R1_ASSIGN_OR_RETURN(m->files_, open_files(paths));
  const gguf::file& meta = *m->files_->meta;
  const std::string where = meta.path();
  R1_ASSIGN_OR_RETURN(gguf::model_params p, gguf::resolve_params(meta));
  m->arch_ = find_architecture(p.arch);
  if (m->arch_ == nullptr || m->arch_->bind == nullptr) {
    return invalid_argument(where + ": architecture '" + p.arch + "' is not supported by this engine yet");
  }
  if (m->files_->set) {
    // The named set is checked as a whole; loose blobs get the engine's own binding checks.
    R1_RETURN_IF_ERROR(gguf::check_tensors(p, *m->files_->set).with_context(where));
  }
  report(0.2);
  R1_ASSIGN_OR_RETURN(vocab v, vocab_from_gguf(meta));
  R1_ASSIGN_OR_RETURN(m->tok_, tokenizer::create(std::move(v)));
  report(0.4);
  if (p.n_vocab == 0) p.n_vocab = static_cast<uint32_t>(m->tok_->size());
  R1_ASSIGN_OR_RETURN(m->hp_, engine_hparams(p));
  m->w_ = std::make_unique<weights>();
  tensor_source src(m->files_->all);
  R1_RETURN_IF_ERROR(m->arch_->bind(src, m->hp_, *m->w_).with_context(where));
  link_decode_streams(*m->w_);
  if (!m->w_->rope_freqs.empty()) m->hp_.rope.freq_factors = m->w_->rope_freqs.data();
  if (m->tok_->size() > m->hp_.n_vocab) {
    return corrupt(where + ": the tokenizer has " + std::to_string(m->tok_->size()) + " tokens but the output has " +
                   std::to_string(m->hp_.n_vocab) + " rows");
  }
  report(0.6);
  uint64_t bytes = 0, params = 0;
  for (const gguf::file* f : m->files_->all) {
    for (const auto& t : f->tensors()) {
      bytes += t.size;
      params += t.n_elements();
    }
  }
  m->info_.weights_bytes = bytes;
  m->info_.parameter_count = params;
  R1_ASSIGN_OR_RETURN(std::string_view name, meta.get_string_or("general.name", ""));
  m->info_.name = std::string(name);
  R1_ASSIGN_OR_RETURN(uint64_t ftype, meta.get_uint_or("general.file_type", 1024));
  m->info_.file_type = std::string(gguf::file_type_name(static_cast<uint32_t>(ftype)));
  m->info_.has_chat_template = !m->tok_->vocab().chat_template.empty();
  report(1.0);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  R1_LOG(info, "engine") << "loaded " << where << ": " << p.arch << ", " << m->hp_.n_layer << " layers, "
                         << m->hp_.n_embd << " embd, vocab " << m->hp_.n_vocab << ", " << (bytes >> 20)
                         << " MiB in " << ms << " ms";
  return m;
}

}  // namespace r1::engine
