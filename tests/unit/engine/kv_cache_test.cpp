// kv_cache: what store() writes at (layer, seq, head, position) is what the attention views
// read there (pos_stride / head_stride), for every cache type, on small and huge pages, with
// V stored or read inside K; slots and layers never overlap; bad shapes are refused.
#include "r1/engine/kv_cache.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "r1/kernels/quants.h"

namespace r1::engine {
namespace {

std::vector<float> read_row(const kernels::kv_view& v, int head, int32_t pos, int dim) {
  const auto* row = static_cast<const uint8_t*>(v.data) + static_cast<size_t>(pos) * v.pos_stride_bytes +
                    static_cast<size_t>(head) * v.head_stride_bytes;
  std::vector<float> out(static_cast<size_t>(dim));
  EXPECT_TRUE(kernels::dequantize_row(v.type, row, out.data(), dim).ok());
  return out;
}

// The value stored at (layer, seq, head, pos, element): distinct everywhere, exact in F16.
float value(int layer, int seq, int head, int32_t pos, int e, bool is_v) {
  return static_cast<float>(((layer * 7 + seq * 5 + head * 3 + pos) % 61) - 30) * 0.25f + (is_v ? 0.125f : 0.0f) +
         static_cast<float>(e % 4) * 0.0625f;
}

void fill_and_check(const kv_cache_params& p) {
  auto made = kv_cache::create(p);
  ASSERT_TRUE(made.ok()) << made.error().to_string();
  kv_cache& c = **made;
  const int nk = p.n_head_kv * p.head_dim_k, nv = p.n_head_kv * p.head_dim_v;
  // Positions written out of order, two at a time, so rows of one store land apart.
  for (int32_t pos = p.n_ctx - 2; pos >= 0; pos -= 2) {
    for (int layer = 0; layer < p.n_layer; ++layer) {
      for (int seq = 0; seq < p.n_seq; ++seq) {
        std::vector<float> k(2 * static_cast<size_t>(nk)), v(2 * static_cast<size_t>(nv));
        for (int i = 0; i < 2; ++i)
          for (int h = 0; h < p.n_head_kv; ++h) {
            for (int e = 0; e < p.head_dim_k; ++e) k[i * nk + h * p.head_dim_k + e] = value(layer, seq, h, pos + i, e, false);
            for (int e = 0; e < p.head_dim_v; ++e) v[i * nv + h * p.head_dim_v + e] = value(layer, seq, h, pos + i, e, true);
          }
        c.store(layer, seq, pos, 2, k.data(), nk, p.v_in_k ? nullptr : v.data(), nv);
      }
    }
  }
  const float tol = p.type == tensor_type::q8_0 ? 0.06f : 0.0f;
  for (int layer = 0; layer < p.n_layer; ++layer) {
    for (int seq = 0; seq < p.n_seq; ++seq) {
      const kernels::kv_view kv = c.k_view(layer, seq), vv = c.v_view(layer, seq);
      EXPECT_EQ(kv.type, p.type);
      for (int h = 0; h < p.n_head_kv; ++h) {
        for (int32_t pos = 0; pos < p.n_ctx; ++pos) {
          const std::vector<float> kr = read_row(kv, h, pos, p.head_dim_k);
          const std::vector<float> vr = read_row(vv, h, pos, p.head_dim_v);
          for (int e = 0; e < p.head_dim_k; ++e)
            ASSERT_NEAR(kr[e], value(layer, seq, h, pos, e, false), tol) << layer << " " << seq << " " << h << " " << pos;
          for (int e = 0; e < p.head_dim_v; ++e)
            ASSERT_NEAR(vr[e], value(layer, seq, h, pos, e, !p.v_in_k), tol) << layer << " " << seq << " " << h << " " << pos;
        }
      }
    }
  }
  EXPECT_EQ(c.bytes_per_token(), static_cast<uint64_t>(p.n_layer) *
                                     (kernels::row_size(p.type, nk) + (p.v_in_k ? 0 : kernels::row_size(p.type, nv))));
}

kv_cache_params shape(int n_layer, int n_seq, int32_t n_ctx, int n_head_kv, int head_dim_k, int head_dim_v) {
  kv_cache_params p;
  p.n_layer = n_layer, p.n_seq = n_seq, p.n_ctx = n_ctx;
  p.n_head_kv = n_head_kv, p.head_dim_k = head_dim_k, p.head_dim_v = head_dim_v;
  return p;
}

TEST(KvCache, ViewsReadWhatStoreWroteForEveryTypeAndPageSize) {
  for (tensor_type t : {tensor_type::f32, tensor_type::f16, tensor_type::q8_0}) {
    for (bool huge : {false, true}) {
      kv_cache_params p = shape(3, 2, 40, 3, 64, 32);
      p.type = t;
      p.huge_pages = huge;
      SCOPED_TRACE(std::string(type_info(t).name) + (huge ? " huge" : " small"));
      fill_and_check(p);
    }
  }
}

TEST(KvCache, ValuesInsideKeys) {
  kv_cache_params p = shape(2, 2, 10, 1, 96, 64);
  p.v_in_k = true;
  fill_and_check(p);
}

TEST(KvCache, RefusesBadShapes) {
  kv_cache_params p = shape(1, 1, 8, 2, 48, 48);  // 48: not a multiple of Q8_0's 32
  p.type = tensor_type::q8_0;
  EXPECT_FALSE(kv_cache::create(p).ok());
  p.type = tensor_type::q4_k;
  EXPECT_FALSE(kv_cache::create(p).ok());
  p.type = tensor_type::f16;
  p.v_in_k = true;  // needs one KV head
  EXPECT_FALSE(kv_cache::create(p).ok());
}

}  // namespace
}  // namespace r1::engine
