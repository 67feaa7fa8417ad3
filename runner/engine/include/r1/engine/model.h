// engine::model: a loaded GGUF model ready for the forward pass.
//
//   R1_ASSIGN_OR_RETURN(auto m, engine::model::load({"/path/blob"}));
//   m->hparams().n_embd; m->tok().encode("hi");
//
// load() maps the file(s) (several for a sharded model: give every shard, or only the first
// and let the loader find the others), resolves the hyperparameters, checks every tensor the
// architecture needs (name, type, shape) and builds the tokenizer from the file's metadata.
// Weights stay in the mapping; only small 1-D tensors (norms, biases, rope factors) are
// converted to F32 copies.
//
// Architectures: qwen2, llama, qwen3, deepseek2 (one file each under src/models/, registered in
// one table).
//
// Ownership: the model owns the mappings, the tokenizer and the weight table; it is immutable
// after load and may be shared read-only by any number of threads.
// Errors: not_found / io_error for files, corrupt for malformed files or tensors,
// invalid_argument for an unsupported architecture or tokenizer.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "r1/base/status.h"
#include "r1/base/tensor_type.h"
#include "r1/engine/tokenizer.h"
#include "r1/kernels/ops.h"

namespace r1::gguf {
class file;
}

namespace r1::engine {

// The numbers the forward pass needs, resolved as llama.cpp resolves them.
struct model_hparams {
  std::string architecture;
  uint32_t n_vocab = 0;
  uint32_t n_ctx_train = 0;
  uint32_t n_embd = 0;
  uint32_t n_layer = 0;
  uint32_t n_head = 0;
  uint32_t n_head_kv = 0;
  uint32_t head_dim_k = 0;
  uint32_t head_dim_v = 0;
  uint32_t n_ff = 0;
  float rms_eps = 1e-6f;
  float kq_scale = 0;                 // 1/sqrt(head_dim_k) unless the file says otherwise
  kernels::rope_params rope;          // freq_factors is filled by the model (rope_freqs)
  std::string rope_scaling = "none";  // none, linear, yarn

  // deepseek2 only (zero elsewhere): low-rank attention (MLA) and mixture of experts.
  // For MLA-split files head_dim_k / head_dim_v / n_head_kv describe the cached latent
  // (kv_lora + rope dims / kv_lora / 1) and head_dim_k_mla / head_dim_v_mla the per-head
  // query-key and value sizes; legacy files leave the *_mla fields 0.
  uint32_t n_lora_q = 0;
  uint32_t n_lora_kv = 0;
  uint32_t head_dim_k_mla = 0;
  uint32_t head_dim_v_mla = 0;
  uint32_t n_expert = 0;
  uint32_t n_expert_used = 0;
  uint32_t n_expert_shared = 0;
  uint32_t n_ff_exp = 0;
  uint32_t n_layer_dense_lead = 0;
  float expert_weights_scale = 0;  // routed_scaling_factor (0: none)
  bool expert_weights_norm = false;
  int expert_gating = 1;           // 1 softmax, 2 sigmoid, 3 softmax over the selected logits
  uint32_t n_expert_groups = 0;    // group-limited routing only when > 1
  uint32_t n_group_used = 0;
  float yarn_log_multiplier = 0;   // deepseek2 attention-scale multiplier (1.0 for R1)
};

struct model_info {
  std::string name;          // general.name
  std::string file_type;     // "Q4_K_M", derived from general.file_type
  uint64_t parameter_count = 0;
  uint64_t weights_bytes = 0;
  bool has_chat_template = false;
};

// Repacking of the weights for the AMX prompt GEMM (r1/kernels/amx_packed_matrix.h): a copy
// of each matrix in the tile layout, so prompt matmuls stop unpacking the same rows at every
// call. It costs memory (K-quants ~2.1 bytes per weight, Q8_0/Q4_0 ~1.1), hence the modes:
// off; on (every eligible matrix); auto (in layer order, each matrix that still fits the
// budget; the others keep unpacking per call). Results are bit for bit the same either way.
enum class repack_mode { off, on, automatic };
// "off" / "on" / "auto" -> mode; invalid_argument otherwise.
result<repack_mode> parse_repack_mode(std::string_view name);
const char* repack_mode_name(repack_mode m);

struct repack_options {
  repack_mode mode = repack_mode::off;
  uint64_t budget_bytes = 0;  // auto: 0 = half of (MemAvailable − the model's mapped bytes)
  int n_threads = 0;          // threads that repack (0: physical cores)
  // Decode panels on transparent huge pages where the system has them
  // (kernels::amx_pages: faster decode, slower load on some VMs).
  bool huge_pages = true;
};

struct repack_report {
  repack_mode mode = repack_mode::off;
  bool amx = false;           // the amx kernel path was active (else nothing is repacked)
  uint32_t eligible = 0;      // matrices prompt batches multiply on AMX tiles
  uint32_t repacked = 0;
  uint64_t eligible_bytes = 0;  // bytes a copy of every eligible matrix would take
  uint64_t bytes = 0;           // bytes of the copies made
  uint64_t budget_bytes = 0;    // auto only
  // Bytes of originals dropped from the resident set because their copy serves every
  // matmul (Q8_0's decode panels): mapped pages, read back only if touched again.
  uint64_t released_bytes = 0;
  uint64_t huge_bytes = 0;      // decode panels advised as huge pages
  double ms = 0;
};

struct weights;  // private: the bound tensor table (src/weights.h)
struct architecture;

class model {
 public:
  // progress(fraction) is called while loading (0..1); may be empty.
  static result<std::unique_ptr<model>> load(const std::vector<std::string>& paths,
                                             const std::function<void(double)>& progress = {});
  ~model();
  model(const model&) = delete;
  model& operator=(const model&) = delete;

  const model_hparams& hparams() const { return hp_; }
  const model_info& info() const { return info_; }
  const tokenizer& tok() const { return *tok_; }
  const engine::weights& w() const { return *w_; }
  const engine::architecture& arch() const { return *arch_; }
  // The open GGUF file(s), owned by the model: every shard, and the one holding the metadata
  // (what the memory planner reads).
  std::vector<const gguf::file*> gguf_files() const;
  const gguf::file& gguf_metadata() const;

  // Repacks the per-layer projection matrices (attention, feed-forward, deepseek2's shared
  // experts; not the token embedding, the output head or stacked expert tensors) for the
  // AMX prompt GEMM, when the amx kernel path is active. Call at most once, after load and
  // before any context is created (it changes the weight table); not thread safe.
  // Errors: resource_exhausted when mode is on and a copy cannot be allocated (auto skips
  // the matrix instead); invalid_argument when copies were already made.
  result<repack_report> repack_for_amx(const repack_options& o);
  const repack_report& repack() const { return repack_; }

  struct files;  // opaque: the open GGUF file(s)

 private:
  model();
  std::unique_ptr<files> files_;
  model_hparams hp_;
  model_info info_;
  repack_report repack_;
  std::unique_ptr<tokenizer> tok_;
  std::unique_ptr<engine::weights> w_;
  const engine::architecture* arch_ = nullptr;
};

}  // namespace r1::engine
