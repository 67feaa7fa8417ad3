// CUDA graphs at the stream level: a decode-shaped step (norm, projections, RoPE,
// KV stores, attention over the cache, output projection, residual) queued between
// begin_step and end_step, at a new position every step. A backend with graphs on
// and one with graphs off run the same steps on the same device and must give the
// same bits; the counters prove the update path (one instantiation per batch size,
// updates after it) and that prompt-sized steps stay eager. Also: errors inside a
// step, synchronize() in an open step, and the default hook of the CPU backend.
// Skips (with the driver's reason) where no CUDA device exists.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "r1/kernels/cpu_backend.h"
#include "r1/kernels/cuda_backend.h"

namespace r1::kernels {
namespace {

constexpr int64_t k_embd = 64, k_heads = 2, k_heads_kv = 1, k_hd = 32, k_ctx = 40;

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = u(g);
  return v;
}

// Buffers of one attention block on a device, and the step that runs it.
struct mini_layer {
  device& d;
  std::unique_ptr<buffer> wq, wk, wv, wo, x, xn, q, k, v, att, tmp, out, pos, k_cache, v_cache;

  explicit mini_layer(device& dev) : d(dev) {}

  std::unique_ptr<buffer> make(size_t bytes, const void* data = nullptr) {
    auto b = d.alloc(bytes);
    EXPECT_TRUE(b.ok()) << b.error().message();
    if (!b.ok()) return nullptr;
    std::vector<uint8_t> zero(bytes, 0);
    EXPECT_TRUE(b.value()->upload(0, data ? data : zero.data(), bytes).ok());
    return std::move(b).value();
  }
  void init(int64_t max_n) {
    const auto w = [&](int64_t rows, uint32_t seed) {
      auto f = random_floats(static_cast<size_t>(rows * k_embd), seed);
      for (float& v : f) v *= 0.2f;
      return make(f.size() * 4, f.data());
    };
    wq = w(k_heads * k_hd, 1);
    wk = w(k_heads_kv * k_hd, 2);
    wv = w(k_heads_kv * k_hd, 3);
    wo = w(k_embd, 4);  // k_heads * k_hd == k_embd
    const size_t row = static_cast<size_t>(max_n * k_embd) * 4;
    x = make(row);
    xn = make(row);
    q = make(row);
    att = make(row);
    tmp = make(row);
    out = make(row);
    k = make(static_cast<size_t>(max_n * k_heads_kv * k_hd) * 4);
    v = make(static_cast<size_t>(max_n * k_heads_kv * k_hd) * 4);
    pos = make(static_cast<size_t>(max_n) * 4);
    k_cache = make(static_cast<size_t>(k_ctx * k_heads_kv * k_hd) * 2);
    v_cache = make(static_cast<size_t>(k_ctx * k_heads_kv * k_hd) * 2);
  }

  // Queues the block for n tokens at pos0 (no upload or wait: the caller brackets it).
  status queue(stream& s, int32_t pos0, int32_t n) {
    const int64_t kw = k_heads_kv * k_hd;
    R1_RETURN_IF_ERROR(s.rms_norm({{x.get(), 0}, {}, {xn.get(), 0}, k_embd, n, k_embd, 1e-6f}));
    R1_RETURN_IF_ERROR(s.matmul({tensor_type::f32,
                                 k_heads * k_hd,
                                 k_embd,
                                 {wq.get(), 0},
                                 {xn.get(), 0},
                                 n,
                                 k_embd,
                                 {q.get(), 0},
                                 k_heads * k_hd}));
    R1_RETURN_IF_ERROR(
        s.matmul({tensor_type::f32, kw, k_embd, {wk.get(), 0}, {xn.get(), 0}, n, k_embd, {k.get(), 0}, kw}));
    R1_RETURN_IF_ERROR(
        s.matmul({tensor_type::f32, kw, k_embd, {wv.get(), 0}, {xn.get(), 0}, n, k_embd, {v.get(), 0}, kw}));
    rope_args r;
    r.pos = {pos.get(), 0};
    r.n_tokens = n;
    r.head_dim = k_hd;
    r.n_rot = static_cast<int>(k_hd);
    r.neox = true;
    r.freq_base = 1000000.0f;
    r.x = {q.get(), 0};
    r.n_heads = k_heads;
    r.token_stride = k_heads * k_hd;
    R1_RETURN_IF_ERROR(s.rope(r));
    r.x = {k.get(), 0};
    r.n_heads = k_heads_kv;
    r.token_stride = kw;
    R1_RETURN_IF_ERROR(s.rope(r));
    const size_t krow = static_cast<size_t>(kw) * 2, at = static_cast<size_t>(pos0) * krow;
    R1_RETURN_IF_ERROR(
        s.convert_rows({{k.get(), 0}, kw, n, kw, tensor_type::f16, {k_cache.get(), at}, krow}));
    R1_RETURN_IF_ERROR(
        s.convert_rows({{v.get(), 0}, kw, n, kw, tensor_type::f16, {v_cache.get(), at}, krow}));
    attention_op_args a;
    a.q = {q.get(), 0};
    a.out = {att.get(), 0};
    a.q_stride = a.out_stride = k_heads * k_hd;
    a.n_q = n;
    a.n_head = static_cast<int>(k_heads);
    a.n_head_kv = static_cast<int>(k_heads_kv);
    a.head_dim_k = a.head_dim_v = static_cast<int>(k_hd);
    a.n_kv = pos0 + n;
    a.q_pos0 = pos0;
    a.scale = 0.17f;
    a.k = {tensor_type::f16, {k_cache.get(), 0}, krow, static_cast<size_t>(k_hd) * 2};
    a.v = a.k;
    a.v.data = {v_cache.get(), 0};
    R1_RETURN_IF_ERROR(s.attention(a));
    R1_RETURN_IF_ERROR(s.matmul({tensor_type::f32,
                                 k_embd,
                                 k_embd,
                                 {wo.get(), 0},
                                 {att.get(), 0},
                                 n,
                                 k_embd,
                                 {tmp.get(), 0},
                                 k_embd}));
    R1_RETURN_IF_ERROR(s.binary({binary_op::add, {x.get(), 0}, {tmp.get(), 0}, {x.get(), 0}, n * k_embd, 0}));
    return s.copy({x.get(), 0}, {out.get(), 0}, static_cast<size_t>(n * k_embd) * 4);
  }

  // Uploads the inputs, runs one step and returns the block's output.
  std::vector<float> step(stream& s, int32_t pos0, int32_t n, uint32_t seed, bool as_step = true) {
    const auto in = random_floats(static_cast<size_t>(n * k_embd), seed);
    std::vector<int32_t> p(static_cast<size_t>(n));
    for (int32_t i = 0; i < n; ++i) p[static_cast<size_t>(i)] = pos0 + i;
    EXPECT_TRUE(x->upload(0, in.data(), in.size() * 4).ok());
    EXPECT_TRUE(pos->upload(0, p.data(), p.size() * 4).ok());
    if (as_step) {
      EXPECT_TRUE(s.begin_step(n).ok());
    }
    const status q = queue(s, pos0, n);
    EXPECT_TRUE(q.ok()) << q.to_string();
    if (as_step) {
      const status e = s.end_step();
      EXPECT_TRUE(e.ok()) << e.to_string();
    }
    const status w = s.synchronize();
    EXPECT_TRUE(w.ok()) << w.to_string();
    std::vector<float> o(in.size());
    EXPECT_TRUE(out->download(0, o.data(), o.size() * 4).ok());
    return o;
  }
};

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// A CUDA backend with the given options, or the reason there is none.
struct cuda_or_skip {
  std::unique_ptr<backend> b;
  std::string why;
};
cuda_or_skip cuda(const cuda_options& o) {
  auto b = make_cuda_backend(o);
  if (!b.ok()) return {nullptr, b.error().message()};
  if (b.value()->device_count() == 0) return {nullptr, "the CUDA driver lists no device"};
  return {std::move(b).value(), ""};
}

#define R1_CUDA_OR_SKIP(var, opts)                          \
  auto var = cuda(opts);                                    \
  if (!var.b) {                                             \
    GTEST_SKIP() << "no CUDA device, skipped: " << var.why; \
  }

TEST(cuda_graph_stream, graph_steps_match_eager_bit_for_bit) {
  R1_CUDA_OR_SKIP(on, (cuda_options{.graphs = true}));
  auto off = cuda({.graphs = false});
  ASSERT_TRUE(off.b);
  device& dg = on.b->device_at(0);
  device& de = off.b->device_at(0);
  mini_layer lg(dg), le(de);
  lg.init(12);
  le.init(12);
  auto sg = dg.create_stream().value();
  auto se = de.create_stream().value();
  // Decode steps at a new position each time (RoPE positions, KV rows and length change).
  int32_t pos = 0;
  for (int step = 0; step < 10; ++step, ++pos) {
    const auto g = lg.step(*sg, pos, 1, 100 + static_cast<uint32_t>(step));
    const auto e = le.step(*se, pos, 1, 100 + static_cast<uint32_t>(step));
    ASSERT_TRUE(same_bits(g, e)) << "step " << step;
  }
  cuda_graph_stats st = graph_stats(dg);
  EXPECT_EQ(st.graph_steps, 10u);
  EXPECT_EQ(st.instantiations, 1u) << "one executable for one-token steps";
  EXPECT_EQ(st.updates, 9u) << "later steps update it in place";
  EXPECT_EQ(st.eager_steps, 0u);
  EXPECT_EQ(st.fallbacks, 0u);
  const cuda_graph_stats se_st = graph_stats(de);
  EXPECT_EQ(se_st.graph_steps, 0u);
  EXPECT_EQ(se_st.eager_steps, 10u);

  // Two tokens: a new batch size forces a new instantiation; back to one token updates again.
  ASSERT_TRUE(same_bits(lg.step(*sg, pos, 2, 7), le.step(*se, pos, 2, 7)));
  pos += 2;
  st = graph_stats(dg);
  EXPECT_EQ(st.instantiations, 2u);
  EXPECT_EQ(st.updates, 9u);
  ASSERT_TRUE(same_bits(lg.step(*sg, pos, 1, 8), le.step(*se, pos, 1, 8)));
  ++pos;
  st = graph_stats(dg);
  EXPECT_EQ(st.instantiations, 2u);
  EXPECT_EQ(st.updates, 10u);
  // More tokens than graph_max_tokens (a prompt batch): launched eagerly, same bits.
  ASSERT_TRUE(same_bits(lg.step(*sg, pos, 12, 9), le.step(*se, pos, 12, 9)));
  st = graph_stats(dg);
  EXPECT_EQ(st.eager_steps, 1u);
  EXPECT_EQ(st.graph_steps, 12u);
  // Ops outside a step still run at once (the output head of the engine does this).
  ASSERT_TRUE(same_bits(lg.step(*sg, 3, 1, 10, false), le.step(*se, 3, 1, 10, false)));
  EXPECT_EQ(graph_stats(dg).graph_steps, 12u);
}

TEST(cuda_graph_stream, graph_steps_match_the_cpu_backend) {
  R1_CUDA_OR_SKIP(on, (cuda_options{}));
  auto cpu = make_cpu_backend(1);
  mini_layer lg(on.b->device_at(0)), lc(cpu->device_at(0));
  lg.init(2);
  lc.init(2);
  auto sg = on.b->device_at(0).create_stream().value();
  auto sc = cpu->device_at(0).create_stream().value();
  for (int32_t pos = 0; pos < 6; ++pos) {
    const auto g = lg.step(*sg, pos, 1, 50 + static_cast<uint32_t>(pos));
    const auto c = lc.step(*sc, pos, 1, 50 + static_cast<uint32_t>(pos));
    double se = 0, sr = 0;
    for (size_t i = 0; i < c.size(); ++i) {
      se += (g[i] - c[i]) * static_cast<double>(g[i] - c[i]);
      sr += c[i] * static_cast<double>(c[i]);
    }
    EXPECT_LT(se / sr, 1e-5) << "position " << pos;  // rounding only: the sums run in other orders
  }
  EXPECT_EQ(graph_stats(on.b->device_at(0)).graph_steps, 6u);
}

TEST(cuda_graph_stream, errors_inside_a_step) {
  R1_CUDA_OR_SKIP(on, (cuda_options{}));
  device& d = on.b->device_at(0);
  mini_layer l(d);
  l.init(1);
  auto s = d.create_stream().value();
  auto cpu = make_cpu_backend(1);
  auto foreign = cpu->device_at(0).alloc(4096).value();
  // A foreign buffer is refused when queued, as outside a step.
  ASSERT_TRUE(s->begin_step(1).ok());
  const status bad = s->binary({binary_op::add, {foreign.get(), 0}, {l.x.get(), 0}, {l.x.get(), 0}, 4, 0});
  EXPECT_EQ(bad.code(), error_code::invalid_argument) << bad.to_string();
  // The next step drops the half-queued one and runs normally.
  const auto first = l.step(*s, 0, 1, 1);
  EXPECT_EQ(graph_stats(d).graph_steps, 1u);
  // A launch the kernel refuses (a K head beyond the CUDA attention's 576) surfaces from end_step.
  auto big_q = d.alloc(640 * 4).value();
  auto big_o = d.alloc(64 * 4).value();
  attention_op_args a;
  a.q = {big_q.get(), 0};
  a.out = {big_o.get(), 0};
  a.n_head = a.n_head_kv = 1;
  a.head_dim_k = 640;
  a.head_dim_v = 64;
  a.q_stride = 640;
  a.out_stride = 64;
  a.n_q = 1;
  a.n_kv = 1;
  a.k = {tensor_type::f16, {l.k_cache.get(), 0}, 1280, 1280};
  a.v = {tensor_type::f16, {l.v_cache.get(), 0}, 128, 128};
  ASSERT_TRUE(s->begin_step(1).ok());
  const status queued = s->attention(a);
  ASSERT_TRUE(queued.ok()) << "the shared checks accept it: " << queued.to_string();
  const status ended = s->end_step();
  EXPECT_EQ(ended.code(), error_code::unavailable) << ended.to_string();
  EXPECT_EQ(graph_stats(d).fallbacks, 0u) << "an op error is not a capture failure";
  EXPECT_EQ(graph_stats(d).graph_steps, 1u);
  // synchronize() inside an open step ends (launches) it first.
  const auto again = random_floats(k_embd, 1);
  ASSERT_TRUE(l.x->upload(0, again.data(), again.size() * 4).ok());
  const int32_t zero = 0;
  ASSERT_TRUE(l.pos->upload(0, &zero, 4).ok());
  ASSERT_TRUE(s->begin_step(1).ok());
  ASSERT_TRUE(l.queue(*s, 0, 1).ok());
  ASSERT_TRUE(s->synchronize().ok());
  std::vector<float> o(k_embd);
  ASSERT_TRUE(l.out->download(0, o.data(), o.size() * 4).ok());
  EXPECT_TRUE(same_bits(o, first)) << "same input and position, same output";
}

// The hook is a no-op elsewhere: the CPU stream runs a step exactly as loose ops.
TEST(cuda_graph_stream, cpu_backend_ignores_steps) {
  auto cpu = make_cpu_backend(1);
  device& d = cpu->device_at(0);
  mini_layer a(d), b(d);
  a.init(3);
  b.init(3);
  auto sa = d.create_stream().value();
  auto sb = d.create_stream().value();
  for (int32_t pos = 0; pos < 6; pos += 3) {
    EXPECT_TRUE(same_bits(a.step(*sa, pos, 3, 70 + static_cast<uint32_t>(pos), true),
                          b.step(*sb, pos, 3, 70 + static_cast<uint32_t>(pos), false)));
  }
  const cuda_graph_stats st = graph_stats(d);
  EXPECT_EQ(st.graph_steps + st.eager_steps + st.instantiations, 0u);
}

}  // namespace
}  // namespace r1::kernels
