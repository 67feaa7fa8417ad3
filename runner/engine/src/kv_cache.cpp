#include "r1/engine/kv_cache.h"

#include <string>

#include "r1/base/assert.h"
#include "r1/kernels/huge_memory.h"
#include "r1/kernels/quants.h"

namespace r1::engine {

result<std::unique_ptr<kv_cache>> kv_cache::create(const kv_cache_params& p) {
  if (p.type != tensor_type::f16 && p.type != tensor_type::f32 && p.type != tensor_type::q8_0) {
    return invalid_argument("kv cache type " + std::string(type_info(p.type).name) +
                            " is not supported (use f16, f32 or q8_0)");
  }
  if (p.n_layer <= 0 || p.n_seq <= 0 || p.n_ctx <= 0 || p.n_head_kv <= 0 || p.head_dim_k <= 0 ||
      p.head_dim_v <= 0) {
    return invalid_argument("kv cache: every dimension must be positive");
  }
  const auto& ti = type_info(p.type);
  if (p.head_dim_k % static_cast<int>(ti.block_elems) != 0 || p.head_dim_v % static_cast<int>(ti.block_elems) != 0) {
    return invalid_argument("kv cache type " + std::string(ti.name) + " needs head sizes that are multiples of " +
                            std::to_string(ti.block_elems));
  }
  if (p.v_in_k && (p.n_head_kv != 1 || p.head_dim_v > p.head_dim_k)) {
    return invalid_argument("kv cache: V inside K needs one KV head and head_dim_v <= head_dim_k");
  }
  std::unique_ptr<kv_cache> c(new kv_cache());
  c->p_ = p;
  c->k_row_ = kernels::row_size(p.type, p.head_dim_k);
  c->v_row_ = p.v_in_k ? 0 : kernels::row_size(p.type, p.head_dim_v);
  c->seq_bytes_ = (c->k_row_ + c->v_row_) * static_cast<size_t>(p.n_ctx) * static_cast<size_t>(p.n_head_kv);
  c->bytes_ = static_cast<uint64_t>(c->seq_bytes_) * static_cast<uint64_t>(p.n_layer) * static_cast<uint64_t>(p.n_seq);
  // Pages are committed only when positions are written (2 MiB at a time where huge).
  auto mem = kernels::huge_memory::map(c->bytes_, p.huge_pages);
  if (!mem.ok()) {
    return resource_exhausted("kv cache: cannot reserve " + std::to_string(c->bytes_ >> 20) + " MiB for " +
                              std::to_string(p.n_ctx) + " positions x " + std::to_string(p.n_seq) + " slots");
  }
  c->mem_ = std::move(*mem);
  c->tokens_.resize(static_cast<size_t>(p.n_seq));
  return c;
}

uint64_t kv_cache::bytes_per_token() const {
  return (k_row_ + v_row_) * static_cast<uint64_t>(p_.n_head_kv) * static_cast<uint64_t>(p_.n_layer);
}

size_t kv_cache::k_head_bytes() const { return k_row_ * static_cast<size_t>(p_.n_ctx); }
size_t kv_cache::v_head_bytes() const { return v_row_ * static_cast<size_t>(p_.n_ctx); }

uint8_t* kv_cache::k_ptr(int layer, int seq, int head, int32_t pos) const {
  const size_t base = (static_cast<size_t>(layer) * static_cast<size_t>(p_.n_seq) + static_cast<size_t>(seq)) * seq_bytes_;
  return mem_.data() + base + static_cast<size_t>(head) * k_head_bytes() + static_cast<size_t>(pos) * k_row_;
}

uint8_t* kv_cache::v_ptr(int layer, int seq, int head, int32_t pos) const {
  const size_t base = (static_cast<size_t>(layer) * static_cast<size_t>(p_.n_seq) + static_cast<size_t>(seq)) * seq_bytes_;
  return mem_.data() + base + k_head_bytes() * static_cast<size_t>(p_.n_head_kv) +
         static_cast<size_t>(head) * v_head_bytes() + static_cast<size_t>(pos) * v_row_;
}

void kv_cache::store(int layer, int seq, int32_t pos, int32_t n, const float* k, int64_t k_stride, const float* v,
                     int64_t v_stride) {
  R1_ASSERT(layer >= 0 && layer < p_.n_layer && seq >= 0 && seq < p_.n_seq);
  R1_ASSERT(pos >= 0 && n >= 0 && pos + n <= p_.n_ctx);
  const int dk = p_.head_dim_k, dv = p_.head_dim_v;
  for (int h = 0; h < p_.n_head_kv; ++h) {
    for (int32_t i = 0; i < n; ++i) {
      status s1 = kernels::quantize_row(p_.type, k + i * k_stride + int64_t{h} * dk, k_ptr(layer, seq, h, pos + i), dk);
      status s2 = p_.v_in_k ? ok_status()
                            : kernels::quantize_row(p_.type, v + i * v_stride + int64_t{h} * dv,
                                                    v_ptr(layer, seq, h, pos + i), dv);
      R1_ASSERT(s1.ok() && s2.ok());
    }
  }
}

kernels::kv_view kv_cache::k_view(int layer, int seq) const {
  return {p_.type, k_ptr(layer, seq, 0, 0), k_row_, k_head_bytes()};
}

kernels::kv_view kv_cache::v_view(int layer, int seq) const {
  if (p_.v_in_k) return {p_.type, k_ptr(layer, seq, 0, 0), k_row_, k_head_bytes()};
  return {p_.type, v_ptr(layer, seq, 0, 0), v_row_, v_head_bytes()};
}

void kv_cache::truncate(int seq, int32_t n) {
  auto& t = tokens_[static_cast<size_t>(seq)];
  if (n < 0) n = 0;
  if (static_cast<size_t>(n) < t.size()) t.resize(static_cast<size_t>(n));
}

int32_t kv_cache::common_prefix(int seq, std::span<const int32_t> prompt) const {
  const auto& t = tokens_[static_cast<size_t>(seq)];
  size_t i = 0;
  while (i < t.size() && i < prompt.size() && t[i] == prompt[i]) ++i;
  return static_cast<int32_t>(i);
}

}  // namespace r1::engine
