// The CUDA attention paths on shapes that reach every branch of the split-KV
// decode kernel (op_attention_split.cu): KV lengths around the 64-key tile and
// the chunk boundaries, GQA groups served by one block (1, 2, 6, 8 and a 16-head
// MLA group that is split), F16 and F32 caches, head dims up to 576/512, causal
// small batches where each query sees a different number of keys, and the switch
// to the prompt kernel above 16 queries. Each case against a float64 reference;
// also decode steps captured as CUDA graphs while the KV length (so the chunk
// count and the scratch size) changes from step to step. Skips without a CUDA
// device.
#include <string>
#include <vector>

#include "attention_reference.h"
#include "backend_test_util.h"
#include "r1/kernels/cuda_backend.h"

namespace r1::kernels::testing {
namespace {

std::vector<device*> cuda_devices() {
  std::vector<device*> out;
  for (device* d : gpu_devices())
    if (d->info().backend == "cuda") out.push_back(d);
  return out;
}

#define R1_CUDA_DEVICES_OR_SKIP(var)                                                      \
  const std::vector<device*> var = cuda_devices();                                       \
  if (var.empty()) {                                                                     \
    GTEST_SKIP() << "no CUDA device: the split-KV attention cases need one (skipped)"; \
  }

std::string case_name(const attn_case& c) {
  return std::string(c.name) + "_" + std::string(type_info(c.kt).name) + "_h" + std::to_string(c.n_head) + "_kv" +
         std::to_string(c.n_head_kv) + "_d" + std::to_string(c.dk) + "x" + std::to_string(c.dv) + "_q" +
         std::to_string(c.n_q) + "_n" + std::to_string(c.n_kv) + (c.causal ? "" : "_noncausal");
}

// A decode step: one query at the last position.
attn_case decode(tensor_type t, int n_head, int n_head_kv, int dk, int dv, int64_t n_kv) {
  return {"decode", t, t, n_head, n_head_kv, dk, dv, 1, n_kv, n_kv - 1, true};
}

std::vector<attn_case> cuda_cases() {
  std::vector<attn_case> v;
  // KV lengths: below, at and past the 64-key tile and the chunk lengths (1.5B shape).
  for (int64_t n : {1, 7, 64, 255, 256, 257, 1000, 4097}) v.push_back(decode(tensor_type::f16, 12, 2, 128, 128, n));
  for (int64_t n : {1, 257, 4097}) v.push_back(decode(tensor_type::f32, 12, 2, 128, 128, n));
  // GQA groups 1, 2, 6, 8 with both cache types and head dims 64 and 128.
  for (tensor_type t : {tensor_type::f16, tensor_type::f32})
    for (int group : {1, 2, 6, 8})
      for (int hd : {64, 128})
        for (int64_t n : {129, 2049}) v.push_back(decode(t, 2 * group, 2, hd, hd, n));
  // MLA shape: 576-dim keys, 512-dim values, one KV head for 16 query heads.
  for (tensor_type t : {tensor_type::f16, tensor_type::f32})
    for (int64_t n : {7, 1000, 4097}) v.push_back(decode(t, 16, 1, 576, 512, n));
  // Mixed cache types and a K dim above V (as an MLA cache without the rope split).
  v.push_back({"mixed", tensor_type::f16, tensor_type::f32, 8, 2, 192, 128, 1, 700, 699, true});
  // Causal small batches: the queries of one launch see different key counts.
  for (int64_t nq : {2, 3, 4}) {
    v.push_back({"batch", tensor_type::f16, tensor_type::f16, 12, 2, 128, 128, nq, 1000, 1000 - nq, true});
    v.push_back({"batch", tensor_type::f32, tensor_type::f32, 8, 8, 64, 64, nq, 257, 257 - nq, true});
  }
  v.push_back({"batch_first_keys", tensor_type::f16, tensor_type::f16, 4, 2, 64, 64, 4, 4, 0, true});
  v.push_back({"batch", tensor_type::f16, tensor_type::f16, 6, 2, 128, 128, 3, 600, 0, false});
  // 16 queries take the split kernel, 17 the prompt kernel: both against the reference.
  for (int64_t nq : {16, 17})
    v.push_back({"batch", tensor_type::f16, tensor_type::f16, 4, 1, 128, 128, nq, 300, 300 - nq, true});
  // No keys: zeros.
  v.push_back({"no_keys", tensor_type::f32, tensor_type::f32, 4, 2, 64, 64, 1, 0, 0, true});
  return v;
}

class cuda_attention : public ::testing::TestWithParam<attn_case> {};

TEST_P(cuda_attention, matches_float64_softmax) {
  R1_CUDA_DEVICES_OR_SKIP(devices);
  const attn_data data = make_attention_data(GetParam());
  for (device* d : devices) expect_attention_matches(*d, data);
}

INSTANTIATE_TEST_SUITE_P(split_kv, cuda_attention, ::testing::ValuesIn(cuda_cases()),
                         [](const auto& p) { return case_name(p.param); });

// Decode steps as CUDA graphs: the KV length grows between steps (chunk count, grid and
// scratch change), and one step queues a short and a long attention (the scratch grows
// while the step is recorded, before its capture).
TEST(cuda_attention_graphs, growing_context_in_captured_steps) {
  R1_CUDA_DEVICES_OR_SKIP(devices);
  std::vector<attn_data> steps;
  for (int64_t n : {1, 7, 65, 300, 1000, 4097, 2000})
    steps.push_back(make_attention_data(decode(tensor_type::f16, 12, 2, 128, 128, n), 200 + static_cast<uint32_t>(n)));
  const attn_case batch{"batch", tensor_type::f16, tensor_type::f16, 12, 2, 128, 128, 4, 3000, 2996, true};
  const attn_data four = make_attention_data(batch, 300);
  for (device* d : devices) {
    auto s = d->create_stream().value();
    const cuda_graph_stats before = graph_stats(*d);
    for (const attn_data& data : steps) {
      const attn_tensors t = upload_attention(*d, data);
      ASSERT_TRUE(s->begin_step(1).ok());
      ASSERT_TRUE(s->attention(t.args(data)).ok());
      ASSERT_TRUE(s->end_step().ok());
      ASSERT_TRUE(s->synchronize().ok());
      EXPECT_LT(nmse(download_floats(t.out, data.ref.size()), data.ref), 1e-6)
          << device_label(*d) << " n_kv " << data.c.n_kv;
    }
    // Two attentions in one 4-token step: a short one first, then one that needs more scratch.
    const attn_data& small = steps[1];
    const attn_tensors ts = upload_attention(*d, small), tf = upload_attention(*d, four);
    attention_op_args as = ts.args(small);
    ASSERT_TRUE(s->begin_step(4).ok());
    ASSERT_TRUE(s->attention(as).ok());
    ASSERT_TRUE(s->attention(tf.args(four)).ok());
    ASSERT_TRUE(s->end_step().ok());
    ASSERT_TRUE(s->synchronize().ok());
    EXPECT_LT(nmse(download_floats(ts.out, small.ref.size()), small.ref), 1e-6) << device_label(*d);
    EXPECT_LT(nmse(download_floats(tf.out, four.ref.size()), four.ref), 1e-6) << device_label(*d);
    const cuda_graph_stats after = graph_stats(*d);
    EXPECT_EQ(after.graph_steps - before.graph_steps, steps.size() + 1) << "every step ran as a graph";
    EXPECT_EQ(after.fallbacks, before.fallbacks) << "no capture failed";
  }
}

}  // namespace
}  // namespace r1::kernels::testing
