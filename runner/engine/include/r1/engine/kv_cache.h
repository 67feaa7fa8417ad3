// The KV cache: keys and values of every layer for n_seq independent sequences (slots).
//
// Layout, per layer and sequence: positions 0 .. n_ctx-1, each holding n_head_kv heads of
// head_dim values stored in the cache type (F16 by default, F32 or Q8_0), so a position is one
// packed row of n_head_kv*head_dim elements. Memory is reserved once at creation and touched
// only as positions are written. Each sequence also remembers the tokens whose K/V it holds,
// which is what prompt-prefix reuse compares against.
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
  uint8_t* k_ptr(int layer, int seq, int32_t pos) const;
  uint8_t* v_ptr(int layer, int seq, int32_t pos) const;

  kv_cache_params p_;
  size_t k_row_ = 0;  // bytes per position
  size_t v_row_ = 0;
  size_t seq_bytes_ = 0;  // K + V of one layer and sequence
  uint64_t bytes_ = 0;
  std::unique_ptr<uint8_t[]> mem_;
  std::vector<std::vector<int32_t>> tokens_;
};

}  // namespace r1::engine
