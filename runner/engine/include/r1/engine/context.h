// engine::context: the KV cache, thread pool and activation buffers for running one model.
//
//   R1_ASSIGN_OR_RETURN(auto ctx, engine::context::create(*m, {.n_ctx = 4096}));
//   std::vector<float> logits;
//   R1_RETURN_IF_ERROR(ctx->decode(0, tokens, 0, logits_mode::last, logits));
//
// decode() appends tokens to a sequence (slot) at a position no greater than what that slot
// already holds: positions >= pos are overwritten, so truncating and re-evaluating is how a
// prompt that shares only a prefix with the cache is handled. Batches larger than n_batch are
// split internally (the logits are identical: each row of a matmul is computed alone).
// decode_batch() is continuous batching: rows of several slots (the next token of each
// generating slot, a chunk of a new prompt) in one forward pass that reads the weights once.
//
// Ownership: borrows the model (which must outlive the context); owns the KV cache, the pool
// and the buffers. Thread safety: none; one thread (the inference thread) drives a context.
// Errors: invalid_argument for a token id out of range, a bad slot or a position beyond what
// the slot holds; resource_exhausted when tokens would not fit in the slot's context.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "r1/base/status.h"
#include "r1/base/tensor_type.h"
#include "r1/engine/kv_cache.h"
#include "r1/engine/model.h"
#include "r1/kernels/thread_pool.h"

namespace r1::kernels {
class device;
}

namespace r1::engine {

class device_layers;

// Layers [first_layer, first_layer + n_layers) run on `device` (borrowed from a
// kernels::backend_registry that outlives the context): weights uploaded at create(), a device
// KV cache and scratch. Only dense architectures (qwen2, llama, qwen3) with an F16/F32 cache.
struct gpu_offload {
  kernels::device* device = nullptr;
  uint32_t first_layer = 0, n_layers = 0;
  bool output = false;  // the output norm and head too (the share must end at the last layer)
};

// What one GPU share really holds after create(): bytes of its buffers (weights, KV, scratch).
struct device_usage {
  std::string backend;
  int index = 0;
  std::string name;
  uint32_t first_layer = 0, n_layers = 0;
  bool output = false;
  uint64_t bytes = 0;
};

struct context_params {
  int32_t n_ctx = 4096;                    // positions per slot (0: the model's trained length)
  int n_seq = 1;                           // slots (--parallel)
  tensor_type kv_type = tensor_type::f16;  // f16, f32 or q8_0
  int n_threads = 0;                       // 0: physical cores
  int32_t n_batch = 512;                   // tokens per forward pass
  std::vector<gpu_offload> gpus;           // in layer order; empty: everything on the CPU
  bool huge_pages = true;                  // the KV cache on huge pages (kv_cache_params::huge_pages)
};

enum class logits_mode {
  none,  // only fill the cache (hidden() ignores this)
  last,  // logits of the last token: one row of n_vocab
  all,   // logits of every token: n rows of n_vocab (teacher forcing, prompt logprobs)
};

// One row of a multi-sequence batch: `token` of slot `seq` at position `pos`.
struct batch_row {
  int seq = 0;
  int32_t pos = 0;
  int32_t token = 0;
  bool want_logits = false;  // this row's logits go to decode_batch's output
};

class context {
 public:
  static result<std::unique_ptr<context>> create(const model& m, const context_params& p);
  ~context();

  // Evaluates tokens for `seq` at positions pos .. pos+n-1; the slot's cached tokens become
  // its first pos tokens followed by `tokens`. Logits go to `logits` per `mode`.
  status decode(int seq, std::span<const int32_t> tokens, int32_t pos, logits_mode mode, std::vector<float>& logits);

  // Evaluates the rows of several slots in one forward pass: each matmul reads the weights once
  // for all rows, each row is rotated at its own position and attends over its own slot's
  // cache. The rows of one slot must be adjacent in `rows`, at consecutive positions (a prompt
  // chunk, or one generated token), the first no greater than what the slot holds (as for
  // decode(), the slot's cached tokens become its first pos tokens followed by these); a slot
  // appears in one run of rows only. `logits` gets one row of n_vocab per row with
  // want_logits, in row order, equal to what decode() of each slot alone gives: bit for bit on
  // the dot kernels (each matmul column is computed alone); on the amx kernel path a pass of a
  // dozen rows or more with K-quant/Q8_0/Q4_0 weights runs on AMX tiles, which do not round as
  // the dot kernels do (docs/dev/engine.md). More than n_batch rows are split internally.
  // Architectures without multi-sequence batches (deepseek2) and contexts with GPU layers
  // evaluate each slot's rows in a pass of their own: same results, no shared weight reads.
  // Errors: as decode(), plus invalid_argument for rows of one slot that are not adjacent or
  // not consecutive; every row is checked before anything is evaluated.
  status decode_batch(std::span<const batch_row> rows, std::vector<float>& logits);

  // Same evaluation, returning the final normalised hidden states (n rows of n_embd).
  status hidden(int seq, std::span<const int32_t> tokens, int32_t pos, std::vector<float>& out);

  const model& m() const { return m_; }
  kv_cache& kv() { return *kv_; }
  const kv_cache& kv() const { return *kv_; }
  const context_params& params() const { return p_; }
  int n_threads() const;
  uint64_t scratch_bytes() const;
  // One entry per GPU share (empty on the CPU); host_kv_bytes() is the KV cache of CPU layers.
  std::vector<device_usage> devices() const;
  uint64_t host_kv_bytes() const;

 private:
  context(const model& m, const context_params& p);
  status run(int seq, std::span<const int32_t> tokens, int32_t pos, logits_mode mode, std::vector<float>* logits,
             std::vector<float>* hidden);
  // Leaves the residual of the batch in the forward state, or on the output GPU (*on_device).
  status run_batch(std::span<const int32_t> tokens, int32_t pos, int seq, bool keep_on_device, bool* on_device);
  // The same for a batch whose rows, spans and positions are already in the forward state.
  status forward_chunk(std::span<const int32_t> tokens, bool keep_on_device, bool* on_device);
  status check_rows(std::span<const batch_row> rows) const;
  // decode_batch of the multi-sequence CPU path, and the fallback one slot at a time.
  void decode_rows(std::span<const batch_row> rows, std::vector<float>& logits);
  status decode_each(std::span<const batch_row> rows, std::vector<float>& logits);

  const model& m_;
  context_params p_;
  std::unique_ptr<kv_cache> kv_;
  std::unique_ptr<kernels::thread_pool> pool_;
  std::unique_ptr<device_layers> dev_;
  struct state;
  std::unique_ptr<state> st_;
};

}  // namespace r1::engine
