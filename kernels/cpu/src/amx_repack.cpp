// Activation packing for the AMX GEMM (baseline code: plain 4-byte copies).
// Each column's quants are already in Q8_K / Q8_0; packing only transposes
// 4-byte groups into the B-tile layout and gathers the per-block scales (and,
// for Q8_K, the 32-element block sums used by the Q4_K/Q5_K mins term).
#include <cstring>

#include "amx_tiles.h"
#include "r1/kernels/quants.h"

namespace r1::kernels::detail {
namespace {

void pack_q8_k_block(const block_q8_k* b, int j, uint8_t* q, float* d, int32_t* pairs) {
  for (int kk = 0; kk < qk_k / 4; ++kk) std::memcpy(q + kk * 64 + 4 * j, b->qs + 4 * kk, 4);
  d[j] = b->d;
  int32_t s32[8];
  for (int i = 0; i < 8; ++i) s32[i] = b->bsums[2 * i] + b->bsums[2 * i + 1];
  for (int p = 0; p < 4; ++p) pairs[p * amx_tile + j] = pack_int16_pair(s32[2 * p], s32[2 * p + 1]);
}

void pack_q8_0_block(const block_q8_0* b, int j, uint8_t* q, float* d) {
  for (int kk = 0; kk < qk_legacy / 4; ++kk) std::memcpy(q + kk * 64 + 4 * j, b->qs + 4 * kk, 4);
  d[j] = fp16_to_fp32(b->d);
}

}  // namespace

amx_act_sizes amx_act_bytes(bool q8_k, int64_t n_cols, int64_t k) {
  const size_t tiles = static_cast<size_t>((n_cols + amx_tile - 1) / amx_tile);
  const size_t kb = static_cast<size_t>(k / (q8_k ? qk_k : qk_legacy));
  return {tiles * static_cast<size_t>(k) * amx_tile, tiles * kb * amx_tile * sizeof(float),
          q8_k ? tiles * kb * 4 * amx_tile * sizeof(int32_t) : 0};
}

void amx_pack_act_tile(bool q8_k, const void* x_q, int64_t n_cols, size_t x_stride, int64_t k, int64_t t,
                       const amx_packed_act& out) {
  const int64_t kblock = q8_k ? qk_k : qk_legacy;
  const int64_t nkb = k / kblock;
  const size_t tile_bytes = static_cast<size_t>(kblock / 4) * 64;
  uint8_t* q = out.quants + static_cast<size_t>(t * nkb) * tile_bytes;
  float* d = out.scales + t * nkb * amx_tile;
  int32_t* pairs = q8_k ? out.bsum_pairs + t * nkb * 4 * amx_tile : nullptr;
  std::memset(q, 0, static_cast<size_t>(nkb) * tile_bytes);
  std::memset(d, 0, static_cast<size_t>(nkb) * amx_tile * sizeof(float));
  if (pairs) std::memset(pairs, 0, static_cast<size_t>(nkb) * 4 * amx_tile * sizeof(int32_t));
  const auto* x = static_cast<const uint8_t*>(x_q);
  for (int j = 0; j < amx_tile; ++j) {
    const int64_t c = t * amx_tile + j;
    if (c >= n_cols) break;
    const uint8_t* col = x + static_cast<size_t>(c) * x_stride;
    for (int64_t b = 0; b < nkb; ++b) {
      uint8_t* qb = q + static_cast<size_t>(b) * tile_bytes;
      if (q8_k)
        pack_q8_k_block(reinterpret_cast<const block_q8_k*>(col) + b, j, qb, d + b * amx_tile,
                        pairs + b * 4 * amx_tile);
      else
        pack_q8_0_block(reinterpret_cast<const block_q8_0*>(col) + b, j, qb, d + b * amx_tile);
    }
  }
}

}  // namespace r1::kernels::detail
