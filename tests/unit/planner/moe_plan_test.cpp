// The MoE-aware plan and the MLA KV cache size on the real DeepSeek-R1 671B shape
// (metadata from mkmodel's preset, tensor sizes from the tensor table), and on a
// small deepseek2 file written by mkmodel.
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

constexpr uint64_t k_gib = 1ull << 30;

struct r1_shape {
  gguf::model_params p;
  std::vector<tensor_size> sizes;
};

uint64_t bytes_of(tensor_type t, uint64_t n) { return n / type_info(t).block_elems * type_info(t).block_bytes; }

// R1 as a Q4_K_M-like file: 2-D and 3-D weights Q4_K (Q8_0 where rows are not whole
// super-blocks, as attn_k_b's 128), vectors F32.
r1_shape make_r1(bool mla_split) {
  auto spec = mkmodel::preset("deepseek2", "671b").value();
  spec.mla_split = mla_split;
  const auto bytes = mkmodel::build_metadata(spec).value().to_bytes().value();
  auto f = gguf::file::open_memory({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}).value();
  r1_shape s;
  s.p = gguf::resolve_params(f).value();
  const std::vector<gguf::tensor_spec> table = gguf::expected_tensors(s.p).value();
  for (const auto& t : table) {
    uint64_t n = 1;
    for (uint64_t d : t.ne) n *= d == 0 ? s.p.n_vocab : d;
    tensor_type type = t.ne.size() == 1 ? tensor_type::f32 : t.ne[0] % 256 ? tensor_type::q8_0 : tensor_type::q4_k;
    s.sizes.push_back({t.name, bytes_of(type, n)});
  }
  return s;
}

TEST(mla_kv, r1_latent_cache_is_one_row_of_kv_lora_plus_rope_per_layer) {
  const r1_shape split = make_r1(true);
  ASSERT_TRUE(split.p.is_mla());
  ASSERT_EQ(split.p.n_layer, 61u);
  // 61 layers x (kv_lora_rank 512 + rope 64) x 2 bytes (F16) = 70,272 bytes per token.
  EXPECT_EQ(gguf::kv_bytes_per_token(split.p), 70272u);
  EXPECT_EQ(gguf::kv_bytes_per_token(split.p, tensor_type::q8_0, tensor_type::q8_0), 61u * 576 / 32 * 34);
  const r1_shape legacy = make_r1(false);
  ASSERT_FALSE(legacy.p.is_mla());
  // 61 x 128 heads x (K 192 + V 128) x 2 bytes = 4,997,120 bytes per token.
  EXPECT_EQ(gguf::kv_bytes_per_token(legacy.p), 4997120u);

  plan_request r;
  r.n_ctx = 4096;
  auto plan = make_plan(split.p, split.sizes, r, {}).value();
  EXPECT_EQ(plan.kv_bytes, 70272ull * 4096);  // 274.5 MiB
  auto lplan = make_plan(legacy.p, legacy.sizes, r, {}).value();
  EXPECT_EQ(lplan.kv_bytes, 4997120ull * 4096);  // 19.1 GiB
}

uint64_t sum_if(const std::vector<tensor_size>& v, bool (*pred)(const std::string&)) {
  uint64_t n = 0;
  for (const auto& t : v)
    if (pred(t.name)) n += t.bytes;
  return n;
}
bool is_exps(const std::string& n) { return n.find("_exps.") != std::string::npos; }

TEST(moe_plan, cpu_only_r1_lists_leading_dense_layers_and_routed_experts) {
  const r1_shape s = make_r1(true);
  plan_request r;
  r.n_ctx = 2048;
  auto plan = make_plan(s.p, s.sizes, r, {}).value();
  ASSERT_EQ(plan.moe_layers.size(), 61u);
  for (uint32_t il = 0; il < 3; ++il) {
    EXPECT_EQ(plan.moe_layers[il].experts_device, "") << il;  // leading dense layers
    EXPECT_EQ(plan.moe_layers[il].expert_bytes, 0u);
  }
  // 58 MoE layers x 3 matrices x 7168 x 2048 x 256 experts at Q4_K (144 bytes per 256).
  const uint64_t experts = 58ull * 3 * 7168 * 2048 * 256 / 256 * 144;
  EXPECT_EQ(plan.expert_bytes, experts);
  EXPECT_EQ(sum_if(s.sizes, is_exps), experts);
  EXPECT_EQ(plan.cpu.expert_bytes, experts);
  EXPECT_EQ(plan.cpu.n_expert_layers, 58u);
  EXPECT_EQ(plan.cpu.weight_bytes, plan.weight_bytes);
  EXPECT_EQ(plan.moe_layers[3].experts_device, "cpu");
  EXPECT_EQ(plan.moe_policy, "everything on the CPU (no GPU layers)");
  EXPECT_TRUE(plan.tensor_overrides.empty());
}

TEST(moe_plan, r1_on_a_24_gib_card_keeps_attention_and_kv_there_and_experts_on_the_cpu) {
  const r1_shape s = make_r1(true);
  plan_request r;
  r.n_ctx = 4096;
  r.assume_gpu_kernels = true;
  const std::vector<device_budget> gpus{{"cuda", 0, "24 GiB card", 24 * k_gib}};
  auto plan = make_plan(s.p, s.sizes, r, gpus).value();
  ASSERT_EQ(plan.gpus.size(), 1u);
  EXPECT_TRUE(plan.note.empty());
  EXPECT_EQ(plan.n_gpu_layers, 61u);  // every layer's attention, shared expert and KV
  EXPECT_TRUE(plan.gpus[0].output);
  const uint64_t usable = 24 * k_gib - (256ull << 20);
  const uint64_t dense = plan.weight_bytes - plan.expert_bytes - sum_if(s.sizes, [](const std::string& n) {
                           return n == "token_embd.weight";
                         });
  const uint64_t per_layer_experts = 3ull * 7168 * 2048 * 256 / 256 * 144;  // 6.3 GiB
  const uint64_t left = usable - dense - plan.kv_bytes - scratch_bytes(s.p, r, true);
  const uint32_t on_gpu = static_cast<uint32_t>(left / per_layer_experts);
  ASSERT_GE(on_gpu, 1u);
  EXPECT_EQ(plan.gpus[0].n_expert_layers, on_gpu);
  EXPECT_EQ(plan.gpus[0].kv_bytes, plan.kv_bytes);
  EXPECT_LE(plan.gpus[0].total(), usable);
  EXPECT_EQ(plan.cpu.n_expert_layers, 58u - on_gpu);
  EXPECT_EQ(plan.cpu.n_layers, 0u);
  for (uint32_t il = 0; il < 61; ++il) {
    EXPECT_EQ(plan.moe_layers[il].dense_device, "cuda:0") << il;
    if (il < 3) continue;
    EXPECT_EQ(plan.moe_layers[il].experts_device, il < 3 + on_gpu ? "cuda:0" : "cpu") << il;
  }
  ASSERT_EQ(plan.tensor_overrides.size(), 1u);
  EXPECT_EQ(plan.tensor_overrides[0].rfind("blk\\.(" + std::to_string(3 + on_gpu) + "|", 0), 0u)
      << plan.tensor_overrides[0];
  EXPECT_NE(plan.tensor_overrides[0].find("|60)\\.ffn_.*_exps\\.=CPU"), std::string::npos);
  EXPECT_NE(plan.moe_policy.find("stay on the CPU"), std::string::npos) << plan.moe_policy;

  auto j = nlohmann::json::parse(plan.to_json());
  EXPECT_EQ(j["moe"]["layers"].size(), 61u);
  EXPECT_EQ(j["moe"]["layers"][0]["experts"], nullptr);
  EXPECT_EQ(j["moe"]["layers"][60]["experts"], "cpu");
  EXPECT_EQ(j["devices"][0]["n_expert_layers"], on_gpu);
  const std::string text = plan.to_text();
  EXPECT_NE(text.find("layers 0-2: attention+shared cuda:0, dense FFN"), std::string::npos) << text;
  EXPECT_NE(text.find("routed experts cpu"), std::string::npos) << text;
  EXPECT_NE(text.find("-ot "), std::string::npos) << text;
}

TEST(moe_plan, small_card_takes_the_dense_parts_of_the_first_layers_only) {
  const r1_shape s = make_r1(true);
  plan_request r;
  r.n_ctx = 4096;
  r.assume_gpu_kernels = true;
  const std::vector<device_budget> gpus{{"vulkan", 0, "4 GiB card", 4 * k_gib}};
  auto plan = make_plan(s.p, s.sizes, r, gpus).value();
  ASSERT_EQ(plan.gpus.size(), 1u);
  EXPECT_GT(plan.n_gpu_layers, 3u);
  EXPECT_LT(plan.n_gpu_layers, 61u);
  EXPECT_EQ(plan.gpus[0].n_expert_layers, 0u);
  EXPECT_FALSE(plan.gpus[0].output);
  EXPECT_TRUE(plan.cpu.output);
  EXPECT_EQ(plan.cpu.first_layer, plan.n_gpu_layers);
  EXPECT_EQ(plan.moe_layers[plan.n_gpu_layers].dense_device, "cpu");
  EXPECT_EQ(plan.moe_layers[plan.n_gpu_layers - 1].dense_device, "vulkan:0");
  EXPECT_EQ(plan.cpu.expert_bytes, plan.expert_bytes);
  EXPECT_EQ(plan.gpus[0].weight_bytes + plan.cpu.weight_bytes, plan.weight_bytes);
  EXPECT_EQ(plan.gpus[0].kv_bytes + plan.cpu.kv_bytes, plan.kv_bytes);
  // Demanding every layer is refused with the sizes, never a silent CPU fallback.
  r.n_gpu_layers = 61;
  auto refused = make_plan(s.p, s.sizes, r, gpus);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), error_code::resource_exhausted);
  EXPECT_NE(refused.error().message().find("routed expert"), std::string::npos) << refused.error().message();
}

TEST(moe_plan, without_gpu_kernels_for_deepseek2_everything_stays_on_the_cpu_with_a_note) {
  const r1_shape s = make_r1(true);
  plan_request r;
  r.n_ctx = 1024;
  const std::vector<device_budget> gpus{{"cuda", 0, "80 GiB card", 80 * k_gib}};
  auto plan = make_plan(s.p, s.sizes, r, gpus).value();
  EXPECT_EQ(plan.n_gpu_layers, 0u);
  EXPECT_FALSE(plan.note.empty());
  EXPECT_EQ(plan.moe_layers.size(), 61u);
  EXPECT_EQ(plan.cpu.expert_bytes, plan.expert_bytes);
}

// A whole small deepseek2 file from mkmodel: the plan's expert bytes are the file's
// *_exps tensors, and a big enough card takes everything.
TEST(moe_plan, small_deepseek2_file_fits_whole_on_a_big_card) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("r1-moe-plan-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto spec = mkmodel::preset("deepseek2", "tiny").value();
  const std::string path = (dir / "moe.gguf").string();
  ASSERT_TRUE(mkmodel::write_model(spec, path).ok());
  auto m = gguf::model_files::open(path).value();
  auto p = gguf::resolve_params(m.metadata()).value();
  ASSERT_GT(p.n_expert, 0u);
  const auto sizes = tensor_sizes(m);
  uint64_t exps = 0;
  for (const auto& r : m.tensors())
    if (std::string_view(r.info->name).find("_exps.") != std::string_view::npos) exps += r.info->size;
  ASSERT_GT(exps, 0u);
  plan_request r;
  r.n_ctx = 128;
  r.assume_gpu_kernels = true;
  const std::vector<device_budget> gpus{{"cuda", 0, "big", 8 * k_gib}};
  auto plan = make_plan(p, sizes, r, gpus).value();
  std::filesystem::remove_all(dir);
  EXPECT_EQ(plan.expert_bytes, exps);
  EXPECT_TRUE(plan.fully_offloaded());
  EXPECT_EQ(plan.cpu.expert_bytes, 0u);
  EXPECT_EQ(plan.moe_policy, "every layer fits on the GPUs, routed experts included");
  EXPECT_TRUE(plan.tensor_overrides.empty());
}

}  // namespace
}  // namespace r1::planner
