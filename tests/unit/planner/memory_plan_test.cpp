// The memory plan on real GGUF files written by mkmodel (tiny, whole files) and
// on the real 7B shape (metadata only, tensor sizes from the tensor table).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "r1/gguf/model_files.h"
#include "r1/mkmodel/make_model.h"
#include "r1/mkmodel/model_spec.h"
#include "r1/planner/memory_plan.h"

namespace r1::planner {
namespace {

namespace fs = std::filesystem;

struct tiny_model {
  gguf::model_params params;
  std::vector<tensor_size> sizes;
  uint64_t file_weight_bytes = 0;
};

tiny_model load_tiny(uint32_t n_layer) {
  const fs::path dir = fs::temp_directory_path() / ("r1-planner-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto spec = mkmodel::preset("qwen2", "tiny").value();
  spec.n_layer = n_layer;
  const std::string path = (dir / ("tiny" + std::to_string(n_layer) + ".gguf")).string();
  EXPECT_TRUE(mkmodel::write_model(spec, path).ok());
  auto m = gguf::model_files::open(path);
  EXPECT_TRUE(m.ok()) << m.error().message();
  tiny_model t;
  t.params = gguf::resolve_params(m.value().metadata()).value();
  EXPECT_TRUE(gguf::check_tensors(t.params, m.value()).ok());
  t.sizes = tensor_sizes(m.value());
  t.file_weight_bytes = gguf::weight_bytes(m.value());
  fs::remove_all(dir);
  return t;
}

uint64_t layer_bytes(const tiny_model& t, uint32_t il) {
  uint64_t s = 0;
  for (const auto& x : t.sizes)
    if (layer_of(x.name) == static_cast<int>(il)) s += x.bytes;
  return s;
}

TEST(memory_plan, layer_names) {
  EXPECT_EQ(layer_of("blk.0.attn_q.weight"), 0);
  EXPECT_EQ(layer_of("blk.27.ffn_down.weight"), 27);
  EXPECT_EQ(layer_of("token_embd.weight"), -1);
  EXPECT_EQ(layer_of("blk.x.attn_q.weight"), -1);
  EXPECT_EQ(layer_of("blk.3"), -1);
  EXPECT_EQ(layer_of("blk..a"), -1);
}

TEST(memory_plan, cpu_only_holds_everything_and_kv_matches_gguf_estimate) {
  const auto t = load_tiny(3);
  plan_request r;
  r.n_ctx = 256;
  r.n_parallel = 2;
  const auto plan = make_plan(t.params, t.sizes, r, {}).value();
  EXPECT_EQ(plan.n_gpu_layers, 0u);
  EXPECT_TRUE(plan.gpus.empty());
  EXPECT_EQ(plan.weight_bytes, t.file_weight_bytes);
  EXPECT_EQ(plan.cpu.weight_bytes, t.file_weight_bytes);
  EXPECT_EQ(plan.kv_bytes, gguf::kv_bytes_per_token(t.params) * 256 * 2);
  EXPECT_EQ(plan.cpu.kv_bytes, plan.kv_bytes);
  EXPECT_TRUE(plan.cpu.output);
  EXPECT_EQ(plan.cpu.scratch_bytes, scratch_bytes(t.params, r, true));
}

TEST(memory_plan, big_gpu_takes_every_layer_and_the_head) {
  const auto t = load_tiny(3);
  const std::vector<device_budget> gpus{{"vulkan", 0, "big", 8ull << 30}};
  const auto plan = make_plan(t.params, t.sizes, {}, gpus).value();
  ASSERT_EQ(plan.gpus.size(), 1u);
  EXPECT_EQ(plan.n_gpu_layers, 3u);
  EXPECT_TRUE(plan.fully_offloaded());
  EXPECT_FALSE(plan.cpu.output);
  EXPECT_EQ(plan.cpu.n_layers, 0u);
  EXPECT_EQ(plan.cpu.kv_bytes, 0u);
  // Only the token embedding stays on the host.
  uint64_t embd = 0;
  for (const auto& s : t.sizes)
    if (s.name == "token_embd.weight") embd = s.bytes;
  EXPECT_EQ(plan.cpu.weight_bytes, embd);
  EXPECT_EQ(plan.gpus[0].weight_bytes + plan.cpu.weight_bytes, plan.weight_bytes);
}

// A Q8_0 cache (no GPU attention over it) or an architecture without GPU kernels: an automatic
// layer count plans the CPU and says why; a demanded count is refused, never placed on the CPU.
TEST(memory_plan, what_has_no_gpu_kernels_stays_on_the_cpu_with_a_note) {
  auto t = load_tiny(3);
  const std::vector<device_budget> gpus{{"vulkan", 0, "big", 8ull << 30}};
  plan_request r;
  r.kv_type = tensor_type::q8_0;
  const auto plan = make_plan(t.params, t.sizes, r, gpus).value();
  EXPECT_EQ(plan.n_gpu_layers, 0u);
  EXPECT_TRUE(plan.gpus.empty());
  EXPECT_NE(plan.note.find("Q8_0 KV cache"), std::string::npos) << plan.note;
  EXPECT_NE(plan.to_text().find("note: "), std::string::npos);
  EXPECT_NE(plan.to_json().find("\"note\""), std::string::npos);
  r.n_gpu_layers = 2;
  EXPECT_EQ(make_plan(t.params, t.sizes, r, gpus).error().code(), error_code::invalid_argument);
  t.params.arch = "deepseek2";
  r = {};
  EXPECT_NE(make_plan(t.params, t.sizes, r, gpus).value().note.find("CPU only"), std::string::npos);
  EXPECT_TRUE(make_plan(t.params, t.sizes, r, {}).value().note.empty());  // no GPU offered: nothing to explain
  r.n_gpu_layers = 1;
  const auto refused = make_plan(t.params, t.sizes, r, gpus);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("deepseek2 runs on the CPU only"), std::string::npos);
}

TEST(memory_plan, budget_for_exactly_two_layers_gives_two) {
  const auto t = load_tiny(4);
  plan_request r;
  r.n_ctx = 512;
  const uint64_t kv_layer = gguf::kv_bytes_per_token(t.params) / 4 * 512;
  const uint64_t need2 = scratch_bytes(t.params, r, false) + layer_bytes(t, 0) + layer_bytes(t, 1) + 2 * kv_layer;
  device_budget g{"cuda", 0, "small", need2, 0};
  auto plan = make_plan(t.params, t.sizes, r, std::vector{g}).value();
  EXPECT_EQ(plan.n_gpu_layers, 2u);
  EXPECT_EQ(plan.cpu.first_layer, 2u);
  EXPECT_EQ(plan.cpu.n_layers, 2u);
  EXPECT_EQ(plan.gpus[0].total(), need2);
  g.free_memory = need2 - 1;  // one byte less: one layer
  plan = make_plan(t.params, t.sizes, r, std::vector{g}).value();
  EXPECT_EQ(plan.n_gpu_layers, 1u);
  // The reserve is subtracted from free memory.
  g.free_memory = need2;
  g.reserve = 1;
  EXPECT_EQ(make_plan(t.params, t.sizes, r, std::vector{g}).value().n_gpu_layers, 1u);
}

TEST(memory_plan, two_gpus_take_consecutive_layers) {
  const auto t = load_tiny(4);
  plan_request r;
  r.n_ctx = 512;
  const uint64_t kv_layer = gguf::kv_bytes_per_token(t.params) / 4 * 512;
  const uint64_t one = scratch_bytes(t.params, r, false) + layer_bytes(t, 0) + kv_layer;
  const std::vector<device_budget> gpus{{"cuda", 0, "a", one, 0}, {"cuda", 1, "b", 8ull << 30, 0}};
  const auto plan = make_plan(t.params, t.sizes, r, gpus).value();
  ASSERT_EQ(plan.gpus.size(), 2u);
  EXPECT_EQ(plan.gpus[0].first_layer, 0u);
  EXPECT_EQ(plan.gpus[0].n_layers, 1u);
  EXPECT_EQ(plan.gpus[1].first_layer, 1u);
  EXPECT_EQ(plan.gpus[1].n_layers, 3u);
  EXPECT_TRUE(plan.gpus[1].output);
  EXPECT_EQ(plan.n_gpu_layers, 4u);
}

TEST(memory_plan, refuses_when_the_requested_layers_do_not_fit) {
  const auto t = load_tiny(3);
  plan_request r;
  r.n_gpu_layers = 3;
  const std::vector<device_budget> tiny{{"vulkan", 0, "tiny", 300ull << 20}};  // 44 MiB after the reserve
  r.n_ctx = 1 << 20;  // a KV cache of many GiB
  auto p = make_plan(t.params, t.sizes, r, tiny);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code(), error_code::resource_exhausted);
  EXPECT_NE(p.error().message().find("3 GPU layers requested but only 0 fit"), std::string::npos) << p.error().message();
  // Without GPUs an explicit GPU request is refused too (no silent CPU fallback).
  r.n_ctx = 256;
  EXPECT_EQ(make_plan(t.params, t.sizes, r, {}).error().code(), error_code::resource_exhausted);
  // Auto mode places what fits (here nothing) and says so.
  r.n_gpu_layers = -1;
  r.n_ctx = 1 << 20;
  EXPECT_EQ(make_plan(t.params, t.sizes, r, tiny).value().n_gpu_layers, 0u);
}

TEST(memory_plan, refuses_when_the_cpu_share_exceeds_host_memory) {
  const auto t = load_tiny(2);
  plan_request r;
  r.host_free = 1000;
  auto p = make_plan(t.params, t.sizes, r, {});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code(), error_code::resource_exhausted);
  EXPECT_NE(p.error().message().find("host memory"), std::string::npos);
  r.host_free = 16ull << 30;
  EXPECT_TRUE(make_plan(t.params, t.sizes, r, {}).ok());
}

TEST(memory_plan, bad_requests) {
  const auto t = load_tiny(2);
  plan_request r;
  r.n_ctx = 0;
  EXPECT_EQ(make_plan(t.params, t.sizes, r, {}).error().code(), error_code::invalid_argument);
  r = {};
  r.n_gpu_layers = 3;
  EXPECT_EQ(make_plan(t.params, t.sizes, r, {}).error().code(), error_code::invalid_argument);
  r = {};
  r.kv_type = tensor_type::q4_k;
  EXPECT_EQ(make_plan(t.params, t.sizes, r, {}).error().code(), error_code::invalid_argument);
}

TEST(memory_plan, json_and_text_describe_every_share) {
  const auto t = load_tiny(3);
  const std::vector<device_budget> gpus{{"vulkan", 0, "big", 8ull << 30}};
  const auto plan = make_plan(t.params, t.sizes, {}, gpus).value();
  const auto j = nlohmann::json::parse(plan.to_json(), nullptr, false);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["n_gpu_layers"], 3);
  ASSERT_EQ(j["devices"].size(), 2u);
  EXPECT_EQ(j["devices"][0]["backend"], "vulkan");
  EXPECT_EQ(j["devices"][1]["backend"], "cpu");
  EXPECT_EQ(j["devices"][0]["total_bytes"].get<uint64_t>(), plan.gpus[0].total());
  const std::string text = plan.to_text();
  EXPECT_NE(text.find("layers on GPU: 3/3 (full offload)"), std::string::npos) << text;
  EXPECT_NE(text.find("vulkan"), std::string::npos);
}

// The real Qwen2 7B shape with Q4_K weights (F32 norms and biases): the weight
// sum and how many layers a 4 GiB card takes follow from the per-layer sizes.
TEST(memory_plan, seven_b_shape_on_a_4gib_card) {
  auto spec = mkmodel::preset("qwen2", "7b").value();
  auto w = mkmodel::build_metadata(spec).value();
  const auto bytes = w.to_bytes().value();
  auto f = gguf::file::open_memory({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}).value();
  auto p = gguf::resolve_params(f).value();
  ASSERT_EQ(p.n_layer, 28u);
  std::vector<tensor_size> sizes;
  uint64_t layer0 = 0;
  auto specs = gguf::expected_tensors(p);
  ASSERT_TRUE(specs.ok());
  const std::vector<gguf::tensor_spec> table = std::move(specs).value();
  for (const auto& s : table) {
    const bool vec = s.ne.size() == 1;
    uint64_t n = 1;
    for (uint64_t d : s.ne) n *= d == 0 ? p.n_vocab : d;
    const tensor_type t = vec ? tensor_type::f32 : tensor_type::q4_k;
    sizes.push_back({s.name, n / type_info(t).block_elems * type_info(t).block_bytes});
    if (layer_of(s.name) == 0) layer0 += sizes.back().bytes;
  }
  plan_request r;
  r.n_ctx = 4096;
  const uint64_t kv_layer = gguf::kv_bytes_per_token(p) / p.n_layer * 4096;
  const std::vector<device_budget> gpus{{"cuda", 0, "4 GiB card", 4ull << 30}};
  const auto plan = make_plan(p, sizes, r, gpus).value();
  const uint64_t usable = (4ull << 30) - (256ull << 20) - scratch_bytes(p, r, false);
  EXPECT_EQ(plan.n_gpu_layers, usable / (layer0 + kv_layer));  // layers of a dense model are equal
  EXPECT_GT(plan.n_gpu_layers, 10u);
  EXPECT_LT(plan.n_gpu_layers, 28u);
  EXPECT_LE(plan.gpus[0].total(), usable + scratch_bytes(p, r, false));
  EXPECT_EQ(kv_layer * 28, plan.kv_bytes);
  EXPECT_EQ(plan.kv_bytes, 229376ull * 1024 * 1);  // 28 layers * 4 kv heads * 128 * 2 (K,V) * 2 bytes * 4096
}

}  // namespace
}  // namespace r1::planner
