#include "attention_reference.h"

#include <algorithm>
#include <cmath>

#include "r1/kernels/quants.h"

namespace r1::kernels::testing {

namespace {

// Cache rows in type t; `rounded` gets the values as the cache holds them.
std::vector<uint8_t> store(tensor_type t, const std::vector<float>& f, std::vector<double>& rounded) {
  std::vector<uint8_t> bytes(row_size(t, static_cast<int64_t>(f.size())));
  EXPECT_TRUE(quantize_row(t, f.data(), bytes.data(), static_cast<int64_t>(f.size())).ok());
  std::vector<float> back(f.size());
  EXPECT_TRUE(dequantize_row(t, bytes.data(), back.data(), static_cast<int64_t>(f.size())).ok());
  rounded.assign(back.begin(), back.end());
  return bytes;
}

}  // namespace

attn_data make_attention_data(const attn_case& c, uint32_t seed) {
  attn_data d{c, {}, {}, {}, {}, 1.0f / std::sqrt(static_cast<float>(c.dk))};
  const int64_t q_stride = int64_t{c.n_head} * c.dk, out_stride = int64_t{c.n_head} * c.dv;
  d.q = random_floats(c.n_q * q_stride, -1, 1, seed);
  const auto kf = random_floats(std::max<int64_t>(c.n_kv, 1) * c.n_head_kv * c.dk, -1, 1, seed + 1);
  const auto vf = random_floats(std::max<int64_t>(c.n_kv, 1) * c.n_head_kv * c.dv, -1, 1, seed + 2);
  std::vector<double> kd, vd;
  d.k = store(c.kt, kf, kd);
  d.v = store(c.vt, vf, vd);
  d.ref.assign(c.n_q * out_stride, 0.0);
  const int group = c.n_head / c.n_head_kv;
  for (int64_t i = 0; i < c.n_q; ++i)
    for (int h = 0; h < c.n_head; ++h) {
      const int hk = h / group;
      const int64_t end = c.causal ? std::min(c.n_kv, c.q_pos0 + i + 1) : c.n_kv;
      std::vector<double> sc(end);
      double m = -INFINITY, sum = 0;
      for (int64_t j = 0; j < end; ++j) {
        double s = 0;
        for (int e = 0; e < c.dk; ++e) s += d.q[i * q_stride + h * c.dk + e] * kd[(j * c.n_head_kv + hk) * c.dk + e];
        sc[j] = s * d.scale;
        m = std::max(m, sc[j]);
      }
      for (int64_t j = 0; j < end; ++j) sum += (sc[j] = std::exp(sc[j] - m));
      for (int64_t j = 0; j < end; ++j)
        for (int e = 0; e < c.dv; ++e)
          d.ref[i * out_stride + h * c.dv + e] += sc[j] / sum * vd[(j * c.n_head_kv + hk) * c.dv + e];
    }
  return d;
}

attn_tensors upload_attention(device& dev, const attn_data& d) {
  return {upload(dev, d.q), upload(dev, d.k), upload(dev, d.v), zeros(dev, d.ref.size() * 4)};
}

attention_op_args attn_tensors::args(const attn_data& d) const {
  const attn_case& c = d.c;
  return {.q = q.arg(),
          .out = out.arg(),
          .q_stride = int64_t{c.n_head} * c.dk,
          .out_stride = int64_t{c.n_head} * c.dv,
          .n_q = c.n_q,
          .n_head = c.n_head,
          .n_head_kv = c.n_head_kv,
          .head_dim_k = c.dk,
          .head_dim_v = c.dv,
          .n_kv = c.n_kv,
          .q_pos0 = c.q_pos0,
          .causal = c.causal,
          .scale = d.scale,
          .k = {c.kt, k.arg(), row_size(c.kt, int64_t{c.n_head_kv} * c.dk), row_size(c.kt, c.dk)},
          .v = {c.vt, v.arg(), row_size(c.vt, int64_t{c.n_head_kv} * c.dv), row_size(c.vt, c.dv)}};
}

void expect_attention_matches(device& dev, const attn_data& d) {
  const attn_tensors t = upload_attention(dev, d);
  auto s = dev.create_stream().value();
  const status st = s->attention(t.args(d));
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_TRUE(s->synchronize().ok());
  const auto y = download_floats(t.out, d.ref.size());
  // CPU converts q to F16 for an F16 cache (~1e-7); GPUs use f32 q.
  EXPECT_LT(nmse(y, d.ref), 1e-6) << device_label(dev) << " " << d.c.name;
  if (d.c.n_kv == 0) {
    for (float v : y) ASSERT_EQ(v, 0.0f) << device_label(dev);
  }
}

}  // namespace r1::kernels::testing
