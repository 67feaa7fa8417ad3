// GPU placement arithmetic (r1/daemon/gpu_placement.h) with the real planner on the real
// Qwen2-7B shape (Q4_K weights, F32 vectors; tensor sizes from the tensor table, metadata only).
// Expected numbers are computed here from the per-tensor sizes, not read back from the planner.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "gpu_plan.h"
#include "r1/daemon/gpu_placement.h"
#include "seven_b_shape.h"

namespace d = r1::daemon;
namespace planner = r1::planner;
using namespace r1::daemon_test;

namespace {

d::gpu_device card(int index, uint64_t capacity, bool software = false) {
  return {"cuda", index, "card " + std::to_string(index), software, capacity};
}

}  // namespace

TEST(gpu_placement, shape_sanity) {
  const shape& s = seven_b();
  ASSERT_EQ(s.p.n_layer, 28u);
  ASSERT_EQ(s.p.n_head_kv[0], 4u);
  EXPECT_GT(full_gpu_bytes(), 4000 * MiB);
  EXPECT_LT(full_gpu_bytes(), 5000 * MiB);
}

TEST(gpu_placement, two_models_share_a_gpu_that_holds_both) {
  const uint64_t full = full_gpu_bytes();
  const std::vector<d::gpu_device> gpus{card(0, 2 * full + 10 * MiB)};
  const std::vector<d::gpu_bytes> other{{"cuda", 0, full}};
  auto p = d::place_model(gpus, other, plan_for(-1));
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  ASSERT_EQ(p->what, d::placement::verdict::place);
  EXPECT_TRUE(p->full_offload);
  EXPECT_EQ(p->plan.n_gpu_layers, 28u);
  ASSERT_EQ(p->gpus.size(), 1u);
  EXPECT_EQ(p->gpus[0].bytes, full);
  // The CPU keeps the token embedding table and its own scratch.
  EXPECT_EQ(p->host_bytes, seven_b().embd + planner::scratch_bytes(seven_b().p, seven_b().r, false));
  ASSERT_EQ(p->remaining.size(), 1u);
  EXPECT_EQ(p->remaining[0].bytes, full + 10 * MiB);
  EXPECT_EQ(d::runner_args(*p, gpus, -1),
            (std::vector<std::string>{"--main-gpu", "0", "--gpu-memory-limit", std::to_string(full + 10 * MiB)}));
}

TEST(gpu_placement, a_gpu_that_holds_one_model_asks_for_room) {
  const uint64_t full = full_gpu_bytes();
  const std::vector<d::gpu_device> gpus{card(0, full + full / 2)};
  const std::vector<d::gpu_bytes> other{{"cuda", 0, full / 2}, {"cuda", 0, full / 2}};  // two parts of one runner
  auto p = d::place_model(gpus, other, plan_for(-1));
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  ASSERT_EQ(p->what, d::placement::verdict::make_room);
  ASSERT_EQ(p->contended.size(), 1u);
  EXPECT_EQ(p->contended[0].index, 0);
  EXPECT_EQ(p->contended[0].bytes, full);
  EXPECT_TRUE(d::runner_args(*p, gpus, -1).empty());
  // With the other runner gone it goes whole onto the GPU.
  auto alone = d::place_model(gpus, {}, plan_for(-1));
  ASSERT_TRUE(alone.ok());
  EXPECT_EQ(alone->what, d::placement::verdict::place);
  EXPECT_TRUE(alone->full_offload);
}

TEST(gpu_placement, exactly_full_fits_and_one_byte_less_does_not) {
  const uint64_t full = full_gpu_bytes();
  const std::vector<d::gpu_bytes> other{{"cuda", 0, 300 * MiB}};
  auto fits = d::place_model(std::vector<d::gpu_device>{card(0, full + 300 * MiB)}, other, plan_for(-1));
  ASSERT_TRUE(fits.ok());
  EXPECT_EQ(fits->what, d::placement::verdict::place);
  EXPECT_TRUE(fits->full_offload);
  auto tight = d::place_model(std::vector<d::gpu_device>{card(0, full + 300 * MiB - 1)}, other, plan_for(-1));
  ASSERT_TRUE(tight.ok());
  EXPECT_EQ(tight->what, d::placement::verdict::make_room);
}

TEST(gpu_placement, too_big_for_an_empty_gpu_is_a_partial_offload) {
  const shape& s = seven_b();
  const uint64_t cap = 2048 * MiB;
  const std::vector<d::gpu_device> gpus{card(0, cap)};
  auto p = d::place_model(gpus, {}, plan_for(-1));
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  ASSERT_EQ(p->what, d::placement::verdict::place);
  const uint64_t layers = (cap - planner::scratch_bytes(s.p, s.r, false)) / (s.layer + s.kv_layer);
  EXPECT_EQ(p->plan.n_gpu_layers, layers);
  EXPECT_GT(layers, 5u);
  EXPECT_LT(layers, 28u);
  EXPECT_FALSE(p->full_offload);
  ASSERT_EQ(p->gpus.size(), 1u);
  EXPECT_EQ(p->gpus[0].bytes, layers * (s.layer + s.kv_layer) + planner::scratch_bytes(s.p, s.r, false));
  EXPECT_LE(p->gpus[0].bytes, cap);
  const uint64_t cpu_layers = 28 - layers;
  EXPECT_EQ(p->host_bytes, s.embd + s.output + cpu_layers * (s.layer + s.kv_layer) + planner::scratch_bytes(s.p, s.r, true));
  // Another runner on that GPU: the partial plan next to it is worse than on the empty GPU.
  auto crowded = d::place_model(gpus, std::vector<d::gpu_bytes>{{"cuda", 0, 512 * MiB}}, plan_for(-1));
  ASSERT_TRUE(crowded.ok());
  EXPECT_EQ(crowded->what, d::placement::verdict::make_room);
}

TEST(gpu_placement, explicit_layer_counts_are_demanded_not_shrunk) {
  const shape& s = seven_b();
  const std::vector<d::gpu_device> gpus{card(0, 2048 * MiB)};
  // 27 layers never fit in 2 GiB: the planner's refusal, not a CPU fallback.
  auto never = d::place_model(gpus, {}, plan_for(27));
  ASSERT_FALSE(never.ok());
  EXPECT_EQ(never.error().code(), r1::error_code::resource_exhausted);
  EXPECT_NE(never.error().message().find("27 GPU layers requested but only"), std::string::npos)
      << never.error().message();
  // 4 layers fit on the empty GPU but not next to 1.9 GiB of another runner: room first.
  const std::vector<d::gpu_bytes> other{{"cuda", 0, 1900 * MiB}};
  auto later = d::place_model(gpus, other, plan_for(4));
  ASSERT_TRUE(later.ok()) << later.error().to_string();
  EXPECT_EQ(later->what, d::placement::verdict::make_room);
  // Next to 0.5 GiB they fit: exactly 4 layers, budget left passed on.
  auto now = d::place_model(gpus, std::vector<d::gpu_bytes>{{"cuda", 0, 512 * MiB}}, plan_for(4));
  ASSERT_TRUE(now.ok());
  ASSERT_EQ(now->what, d::placement::verdict::place);
  EXPECT_EQ(now->plan.n_gpu_layers, 4u);
  EXPECT_EQ(now->gpus[0].bytes, 4 * (s.layer + s.kv_layer) + planner::scratch_bytes(s.p, s.r, false));
  EXPECT_EQ(d::runner_args(*now, gpus, 4),
            (std::vector<std::string>{"--main-gpu", "0", "--gpu-memory-limit", std::to_string(1536 * MiB)}));
}

TEST(gpu_placement, only_the_gpus_in_the_way_are_contended) {
  const uint64_t full = full_gpu_bytes();
  // Two cards of 60% of the model each: on empty cards it is split over both, whole.
  const std::vector<d::gpu_device> gpus{card(0, full * 6 / 10), card(1, full * 6 / 10)};
  auto empty = d::place_model(gpus, {}, plan_for(-1));
  ASSERT_TRUE(empty.ok());
  ASSERT_EQ(empty->what, d::placement::verdict::place);
  EXPECT_EQ(empty->plan.n_gpu_layers, 28u);
  EXPECT_EQ(empty->gpus.size(), 2u);
  EXPECT_TRUE(d::runner_args(*empty, gpus, -1).empty());  // several GPUs: the runner plans them itself
  // Half of card 0 held by another runner: card 0 is in the way, card 1 is not.
  const std::vector<d::gpu_bytes> other{{"cuda", 0, full * 3 / 10}};
  auto p = d::place_model(gpus, other, plan_for(-1));
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->what, d::placement::verdict::make_room);
  ASSERT_EQ(p->contended.size(), 1u);
  EXPECT_EQ(p->contended[0].index, 0);
  // Memory held on a card the plan does not need is not in the way.
  const std::vector<d::gpu_device> big{card(0, 2 * full), card(1, full / 2)};
  auto q = d::place_model(big, std::vector<d::gpu_bytes>{{"cuda", 1, full / 2}}, plan_for(-1));
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->what, d::placement::verdict::place);
  ASSERT_EQ(q->gpus.size(), 1u);
  EXPECT_EQ(q->gpus[0].index, 0);
}

TEST(gpu_placement, software_devices_get_an_explicit_layer_count) {
  const std::vector<d::gpu_device> gpus{card(0, 2048 * MiB, /*software=*/true)};
  auto p = d::place_model(gpus, {}, plan_for(-1));
  ASSERT_TRUE(p.ok());
  const std::string layers = std::to_string(p->plan.n_gpu_layers);
  EXPECT_EQ(d::runner_args(*p, gpus, -1),
            (std::vector<std::string>{"--n-gpu-layers", layers, "--main-gpu", "0", "--gpu-memory-limit",
                                      std::to_string(2048 * MiB)}));
  // A count asked for by the model is passed by the scheduler itself, not repeated.
  EXPECT_EQ(d::runner_args(*p, gpus, 3)[0], "--main-gpu");
}

TEST(gpu_placement, no_room_at_all_keeps_the_model_on_the_cpu_explicitly) {
  const shape& s = seven_b();
  const std::vector<d::gpu_device> gpus{card(0, 100 * MiB)};  // less than one layer
  auto p = d::place_model(gpus, {}, plan_for(-1));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->what, d::placement::verdict::place);
  EXPECT_EQ(p->plan.n_gpu_layers, 0u);
  EXPECT_TRUE(p->gpus.empty());
  EXPECT_EQ(p->host_bytes, p->plan.weight_bytes + 28 * s.kv_layer + planner::scratch_bytes(s.p, s.r, true));
  EXPECT_EQ(d::runner_args(*p, gpus, -1), (std::vector<std::string>{"--n-gpu-layers", "0"}));
  // Without GPUs the plan is the CPU's and there are no flags.
  auto cpu = d::place_model({}, {}, plan_for(-1));
  ASSERT_TRUE(cpu.ok());
  EXPECT_EQ(cpu->host_bytes, p->host_bytes);
  EXPECT_TRUE(d::runner_args(*cpu, {}, -1).empty());
}

TEST(gpu_placement, bytes_are_summed_per_device) {
  const std::vector<d::gpu_bytes> parts{{"cuda", 0, 5}, {"vulkan", 0, 7}, {"cuda", 0, 11}, {"cuda", 1, 13}};
  const auto s = d::sum_by_device(parts);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].bytes, 16u);
  EXPECT_EQ(s[1].backend, "vulkan");
  EXPECT_EQ(s[1].bytes, 7u);
  EXPECT_EQ(s[2].index, 1);
}

// The GPUs the scheduler places on, from `r1-runner --list-devices` output (the corpus seeds of
// fuzz_device_listing), by r1-runner's own rule.
namespace {
nlohmann::json seed(const std::string& name) {
  std::ifstream f(std::string(R1_SOURCE_DIR) + "/tests/fuzz/corpus/fuzz_device_listing/" + name);
  std::stringstream ss;
  ss << f.rdbuf();
  auto j = d::parse_device_listing(ss.str(), name);
  EXPECT_TRUE(j.ok()) << name;
  return j.ok() ? *j : nlohmann::json::object();
}
}  // namespace

TEST(gpu_placement, listing_software_devices_only_when_asked) {
  const auto listing = seed("lavapipe.json");
  d::plan_settings s;
  EXPECT_TRUE(d::listing_gpus(listing, s).empty());  // automatic count: lavapipe is skipped
  s.num_gpu = 2;
  auto g = d::listing_gpus(listing, s);
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].backend, "vulkan");
  EXPECT_TRUE(g[0].software);
  EXPECT_EQ(g[0].capacity, (2048 - 256) * MiB);  // total less the planner's reserve
  s.num_gpu = -1;
  s.gpu_software_devices = true;
  s.gpu_memory_limit = 64 * MiB;
  g = d::listing_gpus(listing, s);
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].capacity, 64 * MiB);  // the budget, no reserve on top
  s.no_gpu = true;
  EXPECT_TRUE(d::listing_gpus(listing, s).empty());
}

TEST(gpu_placement, listing_first_gpu_backend_and_main_gpu) {
  const auto listing = seed("two_cuda.json");
  d::plan_settings s;
  auto g = d::listing_gpus(listing, s);
  ASSERT_EQ(g.size(), 2u);  // the Vulkan view of the same card is not used twice
  EXPECT_EQ(g[0].backend, "cuda");
  EXPECT_EQ(g[1].index, 1);
  EXPECT_EQ(g[1].capacity, 150000000000ull - 256 * MiB);  // total, not the free memory of the moment
  s.main_gpu = 1;
  g = d::listing_gpus(listing, s);
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].index, 1);
  s.num_gpu = 0;
  EXPECT_TRUE(d::listing_gpus(listing, s).empty());
}

TEST(gpu_placement, listing_fields_of_the_wrong_type_are_skipped) {
  d::plan_settings s;
  s.num_gpu = 1;
  EXPECT_TRUE(d::listing_gpus(seed("wrong_types.json"), s).empty());
  EXPECT_TRUE(d::listing_gpus(seed("devices_object.json"), s).empty());
  EXPECT_FALSE(d::parse_device_listing("[1, 2]", "r1-runner").ok());
  auto bad = d::parse_device_listing("not json", "r1-runner");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("r1-runner --list-devices printed no JSON object"), std::string::npos);
}
