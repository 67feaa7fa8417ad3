// The backend interface itself: registry, device listing JSON, buffers and the
// argument checks every backend shares.
#include <nlohmann/json.hpp>

#include "backend_test_util.h"
#include "r1/kernels/cpu_backend.h"
#include "r1/kernels/quants.h"
#ifdef R1_EXPECT_VULKAN_DEVICE
#include "r1/kernels/vulkan_backend.h"
#endif

namespace r1::kernels::testing {
namespace {

TEST(backend_api, registry_lists_cpu_last_and_compiled_gpus) {
  const auto& r = registry();
  ASSERT_FALSE(r.backends().empty());
  EXPECT_EQ(r.backends().back()->name(), "cpu");
  for (const std::string& name : compiled_backends()) {
    const bool present = r.find(name) != nullptr;
    bool recorded = false;
    for (const auto& u : r.unavailable()) recorded |= u.name == name && !u.why.message().empty();
    EXPECT_TRUE(present != recorded) << name << ": either usable or recorded with a reason";
  }
#ifdef R1_EXPECT_VULKAN_DEVICE
  EXPECT_NE(r.find("vulkan"), nullptr) << "a Vulkan device (lavapipe) was expected on this machine";
#endif
}

// A GPU backend compiled in without a usable device (CUDA on a machine without
// an NVIDIA GPU) skips here, saying why; its op cases run only where a device exists.
TEST(backend_api, compiled_gpu_backends_have_devices_or_skip) {
  std::string missing;
  for (const auto& u : registry().unavailable()) missing += u.name + ": " + u.why.message() + "; ";
  if (!missing.empty()) GTEST_SKIP() << "no device for compiled backend(s): " << missing;
  for (const std::string& name : compiled_backends()) EXPECT_NE(registry().find(name), nullptr) << name;
}

TEST(backend_api, cpu_only_registry_touches_no_gpu) {
  auto r = make_backend_registry({.cpu_threads = 1, .enable_gpu = false});
  ASSERT_EQ(r.backends().size(), 1u);
  EXPECT_TRUE(r.unavailable().empty());
}

TEST(backend_api, list_devices_json_describes_every_device) {
  const std::string text = list_devices_json(registry());
  std::printf("[ DEVICES ] %s\n", text.c_str());
  const auto j = nlohmann::json::parse(text, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << text;
  ASSERT_TRUE(j["devices"].is_array());
  ASSERT_EQ(j["devices"].size(), registry().all_devices().size());
  bool saw_cpu = false;
  for (const auto& d : j["devices"]) {
    for (const char* k : {"backend", "name", "type"}) ASSERT_TRUE(d[k].is_string()) << k << " in " << d.dump();
    ASSERT_TRUE(d["total_memory"].is_number_unsigned());
    ASSERT_TRUE(d["free_memory"].is_number_unsigned());
    EXPECT_GT(d["total_memory"].get<uint64_t>(), 0u) << d.dump();
    EXPECT_LE(d["free_memory"].get<uint64_t>(), d["total_memory"].get<uint64_t>()) << d.dump();
    if (d["backend"] == "cuda") {
      EXPECT_TRUE(d["compute_capability"].is_string());
    }
    saw_cpu |= d["backend"] == "cpu" && d["type"] == "cpu";
  }
  EXPECT_TRUE(saw_cpu);
  EXPECT_TRUE(j["unavailable"].is_array());
}

TEST(backend_api, buffers_round_trip_and_refuse_out_of_range) {
  for (device* d : registry().all_devices()) {
    auto b = d->alloc(1000);
    ASSERT_TRUE(b.ok()) << device_label(*d);
    std::vector<uint8_t> in(1000), out(1000);
    for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<uint8_t>(i * 7 + 3);
    ASSERT_TRUE(b.value()->upload(0, in.data(), in.size()).ok());
    ASSERT_TRUE(b.value()->download(0, out.data(), out.size()).ok());
    EXPECT_EQ(in, out) << device_label(*d);
    ASSERT_TRUE(b.value()->upload(500, in.data(), 10).ok());
    ASSERT_TRUE(b.value()->download(500, out.data(), 10).ok());
    EXPECT_TRUE(std::equal(in.begin(), in.begin() + 10, out.begin()));
    EXPECT_EQ(b.value()->upload(995, in.data(), 10).code(), error_code::invalid_argument);
    EXPECT_EQ(b.value()->download(1001, out.data(), 0).code(), error_code::invalid_argument);
  }
}

TEST(backend_api, device_copy_between_buffers) {
  for (device* d : registry().all_devices()) {
    const auto v = random_floats(64, -1, 1, 7);
    auto a = upload(*d, v), b = zeros(*d, 64 * 4);
    auto s = d->create_stream().value();
    ASSERT_TRUE(s->copy({a.buf.get(), 32}, {b.buf.get(), 0}, 128).ok());
    ASSERT_TRUE(s->synchronize().ok());
    const auto got = download_floats(b, 64);
    for (int i = 0; i < 32; ++i) ASSERT_EQ(got[i], v[i + 8]) << device_label(*d);
  }
}

TEST(backend_api, ops_refuse_bad_arguments_on_every_device) {
  for (device* d : registry().all_devices()) {
    auto small = zeros(*d, 64), big = zeros(*d, 16384);
    auto s = d->create_stream().value();
    // y needs rows*4 = 256 bytes, the buffer has 64.
    auto st = s->matmul({tensor_type::f32, 64, 32, big.arg(), big.arg(), 1, 32, small.arg(), 64});
    EXPECT_EQ(st.code(), error_code::invalid_argument) << device_label(*d);
    EXPECT_NE(st.message().find("matmul: y"), std::string::npos) << st.message();
    // cols not a multiple of 32.
    EXPECT_EQ(s->matmul({tensor_type::f32, 2, 20, big.arg(), big.arg(), 1, 20, big.arg(), 2}).code(),
              error_code::invalid_argument);
    // misaligned offset.
    EXPECT_EQ(s->swiglu({{big.buf.get(), 2}, big.arg(), big.arg(), 8}).code(), error_code::invalid_argument);
    // odd rope dims.
    rope_args r;
    r.x = big.arg();
    r.pos = big.arg();
    r.n_tokens = 1;
    r.n_heads = 1;
    r.head_dim = 8;
    r.n_rot = 3;
    EXPECT_EQ(s->rope(r).code(), error_code::invalid_argument);
    // a Q8_0 cache is not a device cache type here.
    attention_op_args a;
    a.q = a.out = big.arg();
    a.head_dim_k = a.head_dim_v = 32;
    a.n_kv = 1;
    a.k = {tensor_type::q8_0, big.arg(), 64, 64};
    a.v = {tensor_type::f16, big.arg(), 64, 64};
    EXPECT_EQ(s->attention(a).code(), error_code::invalid_argument);
    EXPECT_TRUE(s->synchronize().ok());
  }
}

TEST(backend_api, streams_refuse_buffers_of_another_device) {
  auto devs = registry().all_devices();
  if (devs.size() < 2) GTEST_SKIP() << "needs a second device (a GPU) to mix buffers";
  auto a = zeros(*devs[0], 256), b = zeros(*devs[1], 256);
  auto s = devs[0]->create_stream().value();
  EXPECT_EQ(s->swiglu({a.arg(), b.arg(), a.arg(), 8}).code(), error_code::invalid_argument);
  auto s2 = devs[1]->create_stream().value();
  EXPECT_EQ(s2->swiglu({b.arg(), a.arg(), b.arg(), 8}).code(), error_code::invalid_argument);
}

#ifdef R1_EXPECT_VULKAN_DEVICE
// Discrete GPUs without resizable BAR cannot map device memory: uploads and
// downloads then go through staging buffers. Forced here on lavapipe.
TEST(backend_api, vulkan_staging_transfers) {
  auto b = make_vulkan_backend({.map_device_memory = false});
  ASSERT_TRUE(b.ok()) << b.error().message();
  ASSERT_GT(b.value()->device_count(), 0u);
  device& d = b.value()->device_at(0);
  std::vector<uint8_t> in(100003), out(100003);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<uint8_t>(i * 13 + 1);
  auto buf = d.alloc(in.size()).value();
  ASSERT_TRUE(buf->upload(0, in.data(), in.size()).ok());
  ASSERT_TRUE(buf->download(0, out.data(), out.size()).ok());
  EXPECT_EQ(in, out);
  ASSERT_TRUE(buf->download(777, out.data(), 1000).ok());
  EXPECT_TRUE(std::equal(out.begin(), out.begin() + 1000, in.begin() + 777));
  // An op between staged transfers: y = W·x for a Q8_0 matrix, against the CPU.
  const int64_t rows = 16, cols = 64;
  const auto wf = random_floats(rows * cols, -1, 1, 3), x = random_floats(cols, -1, 1, 4);
  std::vector<uint8_t> wq(row_size(tensor_type::q8_0, cols) * rows);
  for (int64_t r = 0; r < rows; ++r)
    ASSERT_TRUE(quantize_row(tensor_type::q8_0, wf.data() + r * cols, wq.data() + r * row_size(tensor_type::q8_0, cols),
                             cols).ok());
  std::vector<float> got[2];
  device* devs[2] = {&d, &cpu_device()};
  for (int i = 0; i < 2; ++i) {
    auto w = upload(*devs[i], wq), xt = upload(*devs[i], x), y = zeros(*devs[i], rows * 4);
    auto s = devs[i]->create_stream().value();
    ASSERT_TRUE(s->matmul({tensor_type::q8_0, rows, cols, w.arg(), xt.arg(), 1, cols, y.arg(), rows}).ok());
    ASSERT_TRUE(s->synchronize().ok());
    got[i] = download_floats(y, rows);
  }
  EXPECT_LT(nmse(got[0], got[1]), 5e-4);
}
#endif

}  // namespace
}  // namespace r1::kernels::testing
