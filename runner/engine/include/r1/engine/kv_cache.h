// The KV cache: keys and values of every layer for n_seq independent sequences (slots).
//
// Layout, per layer and sequence: all of K, then all of V; each of them head by head, and each
// head's positions 0 .. n_ctx-1 as packed rows of head_dim values in the cache type (F16 by
// default, F32 or Q8_0). A decode's attention task reads one head's keys and values, so each
// is one sequential stream that the hardware prefetchers follow (with positions outermost,
// a task would read one head's slice of every row and wait on memory row by row). Memory is
// reserved once at creation and touched only as positions are written (see huge_pages). Each
// sequence also remembers the tokens whose K/V it holds, which is what prompt-prefix reuse
// compares against.
//
// Ownership: owns its memory. Thread safety: none; the inference thread owns the cache (kernel
// threads read views of it during a forward pass). Errors: create() fails with
// invalid_argument for a bad type or shape, resource_exhausted when memory cannot be reserved.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "r1/base/status.h"
#include "r1/base/tensor_type.h"
#include "r1/kernels/attention.h"
#include "r1/kernels/huge_memory.h"

namespace r1::engine {

struct kv_cache_params {
  int n_layer = 0;
  int n_seq = 1;
  int32_t n_ctx = 0;  // positions per sequence
  int n_head_kv = 0;
  int head_dim_k = 0;
  int head_dim_v = 0;
  tensor_type type = tensor_type::f16;  // f16, f32 or q8_0
  // Latent attention (deepseek2 MLA-split files): V is the first head_dim_v values of each K
  // row, so no V is stored and v_view() reads inside K (n_head_kv must be 1). Halves the cache.
  bool v_in_k = false;
  // Transparent huge pages where the system offers them: a decode reads every cached row of
  // a head each token, long after the weights have evicted them, and on 4 KiB pages it waits
  // on a page walk and a restarted prefetch stream every 16 rows. Commits up to 2 MiB ahead
  // of the written positions per head.
  bool huge_pages = true;
};

class kv_cache {
 public:
  static result<std::unique_ptr<kv_cache>> create(const kv_cache_params& p);

  const kv_cache_params& params() const { return p_; }
  uint64_t bytes() const { return bytes_; }
  // Bytes one cached token costs over all layers.
  uint64_t bytes_per_token() const;

  // Converts n rows of K and V (row i at k + i*k_stride floats, n_head_kv*head_dim values) into
  // positions pos .. pos+n-1 of (layer, seq). Asserts the range is inside the context.
  // With v_in_k, v is ignored (may be nullptr).
  void store(int layer, int seq, int32_t pos, int32_t n, const float* k, int64_t k_stride, const float* v,
             int64_t v_stride);
  kernels::kv_view k_view(int layer, int seq) const;
  kernels::kv_view v_view(int layer, int seq) const;

  // Tokens whose K/V are held for `seq` at positions 0 .. size-1.
  const std::vector<int32_t>& tokens(int seq) const { return tokens_[static_cast<size_t>(seq)]; }
  std::vector<int32_t>& mutable_tokens(int seq) { return tokens_[static_cast<size_t>(seq)]; }
  // Forgets positions >= n of `seq` (their bytes are simply overwritten later).
  void truncate(int seq, int32_t n);
  // Length of the common prefix of `prompt` and the tokens cached for `seq`.
  int32_t common_prefix(int seq, std::span<const int32_t> prompt) const;

 private:
  kv_cache() = default;
  uint8_t* k_ptr(int layer, int seq, int head, int32_t pos) const;
  uint8_t* v_ptr(int layer, int seq, int head, int32_t pos) const;
  size_t k_head_bytes() const;  // one head's K over the whole context
  size_t v_head_bytes() const;

  kv_cache_params p_;
  size_t k_row_ = 0;  // bytes per position of one head
  size_t v_row_ = 0;
  size_t seq_bytes_ = 0;  // K + V of one layer and sequence
  uint64_t bytes_ = 0;
  kernels::huge_memory mem_;
  std::vector<std::vector<int32_t>> tokens_;
};

}  // namespace r1::engine
