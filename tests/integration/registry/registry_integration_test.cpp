// Push and pull against a real registry (Debian's docker-registry on loopback).
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <gtest/gtest.h>
#include <thread>

#include <nlohmann/json.hpp>

#include "r1/base/raii.h"
#include "r1/registry/digest.h"
#include "r1/registry/registry_client.h"
#include "r1/test_support/registry_fixture.h"

extern char** environ;

namespace r1::registry {
namespace {

using test_support::registry_fixture;
using test_support::temp_dir;
namespace fs = std::filesystem;

std::string random_gguf(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint64_t x = 0x9E3779B97F4A7C15ull * (seed + 1);
  for (size_t i = 0; i + 8 <= n; i += 8) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    std::memcpy(&s[i], &x, 8);
  }
  std::memcpy(s.data(), "GGUF", 4);
  return s;
}

class registry_test : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = registry_fixture::start();
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    reg_ = std::move(r).value();
  }
  model_name remote(const std::string& repo_tag) { return model_name::parse(reg_->host() + "/" + repo_tag).value(); }
  std::unique_ptr<model_store> make_store(const std::string& sub) { return model_store::open(dir_ / sub).value(); }

  // A local model with a (multi-shard) GGUF, template and params layers.
  manifest create_local(model_store& store, const model_name& name, size_t weight_bytes, int shards = 1) {
    std::vector<layer_source> layers;
    for (int i = 0; i < shards; ++i) {
      const std::string file = dir_ / ("w" + std::to_string(i) + ".gguf");
      EXPECT_TRUE(write_file_atomic(file, random_gguf(weight_bytes, static_cast<uint32_t>(i + 7))).ok());
      auto layer = store.import_local_gguf(file);
      EXPECT_TRUE(layer.ok()) << layer.error().to_string();
      layers.push_back({std::string(media_type::model), "", layer->digest});
    }
    layers.push_back({std::string(media_type::template_), "{{ .Prompt }}", ""});
    layers.push_back({std::string(media_type::params), R"({"stop":["<|end|>"]})", ""});
    auto m = store.create_model(name, layers, R"({"model_family":"qwen2"})");
    EXPECT_TRUE(m.ok()) << m.error().to_string();
    return m.value_or(manifest{});
  }

  temp_dir dir_{"regint"};
  std::unique_ptr<registry_fixture> reg_;
};

TEST_F(registry_test, push_then_pull_into_empty_store_is_byte_identical) {
  auto src = make_store("src");
  const model_name name = remote("team/r1-distill:q4");
  manifest m = create_local(*src, name, 24 << 20, /*shards=*/2);
  registry_client pusher(*src, {});
  std::vector<std::string> statuses;
  ASSERT_TRUE(pusher.push(name, [&](const progress_event& e) { statuses.push_back(e.status); }).ok());
  EXPECT_EQ(statuses.back(), "success");

  auto dst = make_store("dst");
  client_options o;
  o.min_part_bytes = 2 << 20;
  registry_client puller(*dst, o);
  auto pulled = puller.pull(name, nullptr);
  ASSERT_TRUE(pulled.ok()) << pulled.error().to_string();
  EXPECT_EQ(dst->read_manifest_bytes(name).value(), src->read_manifest_bytes(name).value());
  for (const auto& d : m.blobs()) {
    EXPECT_EQ(read_file(dst->blobs().path_for(d.digest).value(), size_t{1} << 30).value(),
              read_file(src->blobs().path_for(d.digest).value(), size_t{1} << 30).value())
        << d.digest;
  }
  EXPECT_EQ(pulled->layers_of(media_type::model).size(), 2u);

  // Pushing again uploads nothing new: every blob is found by HEAD.
  std::vector<progress_event> again;
  ASSERT_TRUE(pusher.push(name, [&](const progress_event& e) { again.push_back(e); }).ok());
  for (const auto& e : again) {
    if (!e.digest.empty()) {
      EXPECT_EQ(e.completed, e.total);
    }
  }
}

TEST_F(registry_test, chunked_upload_and_cross_repository_mount) {
  auto src = make_store("src");
  const model_name first = remote("team/a:v1");
  manifest m = create_local(*src, first, 5 << 20);
  client_options chunked;
  chunked.upload_chunk_bytes = 1 << 20;
  registry_client pusher(*src, chunked);
  const std::string weights = m.layers_of(media_type::model).at(0).digest;
  auto count_events = [&](std::vector<progress_event>& events) {
    return std::count_if(events.begin(), events.end(), [&](const progress_event& e) { return e.digest == weights; });
  };
  std::vector<progress_event> first_events;
  ASSERT_TRUE(pusher.push(first, [&](const progress_event& e) { first_events.push_back(e); }).ok());
  EXPECT_GE(count_events(first_events), 6) << "5 MiB in 1 MiB chunks: a start event and one per chunk";

  // A second repository whose layers say where they can be mounted from.
  for (auto& l : m.layers) l.from = "team/a";
  m.config.from = "team/a";
  const model_name second = remote("other/b:v1");
  ASSERT_TRUE(src->write_manifest(second, m.serialize()).ok());
  std::vector<progress_event> second_events;
  ASSERT_TRUE(pusher.push(second, [&](const progress_event& e) { second_events.push_back(e); }).ok());
  EXPECT_EQ(count_events(second_events), 2) << "a mounted blob is not uploaded chunk by chunk";

  auto dst = make_store("dst");
  registry_client puller(*dst, {});
  auto pulled = puller.pull(second, nullptr);
  ASSERT_TRUE(pulled.ok()) << pulled.error().to_string();
  for (const auto& d : m.blobs())
    EXPECT_EQ(sha256_of_file(dst->blobs().path_for(d.digest).value()).value(), d.digest);
}

TEST_F(registry_test, missing_model_and_tag_errors) {
  auto dst = make_store("dst");
  registry_client puller(*dst, {});
  auto r = puller.pull(remote("nobody/none:x"), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), error_code::not_found) << r.error().to_string();
  EXPECT_TRUE(dst->list().value().empty());
}

TEST_F(registry_test, pull_by_digest_and_by_tag_and_digest) {
  auto src = make_store("src");
  const model_name name = remote("team/pinned:v1");
  create_local(*src, name, 3 << 20);
  registry_client pusher(*src, {});
  ASSERT_TRUE(pusher.push(name, nullptr).ok());
  const std::string bytes = src->read_manifest_bytes(name).value();
  const std::string digest = sha256_of(bytes);

  // The registry's own idea of the digest matches ours (it answers the digest we computed).
  auto dst = make_store("dst");
  registry_client puller(*dst, {});
  const model_name pinned = remote("team/pinned@" + digest);
  auto m = puller.pull(pinned, nullptr);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(dst->read_manifest_bytes(pinned).value(), bytes);
  EXPECT_FALSE(dst->has_model(name)) << "a pull by digest does not create the tag";
  auto listed = dst->list().value();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].name.display(), reg_->host() + "/team/pinned@" + digest);
  EXPECT_TRUE(dst->verify(pinned).ok());

  // Tag and digest: the digest wins, even when the tag has moved on.
  create_local(*src, name, 2 << 20);
  ASSERT_TRUE(pusher.push(name, nullptr).ok());
  ASSERT_NE(sha256_of(src->read_manifest_bytes(name).value()), digest);
  auto dst2 = make_store("dst2");
  registry_client puller2(*dst2, {});
  auto m2 = puller2.pull(remote("team/pinned:v1@" + digest), nullptr);
  ASSERT_TRUE(m2.ok()) << m2.error().to_string();
  EXPECT_EQ(dst2->read_manifest_bytes(pinned).value(), bytes);

  // An unknown digest is not found; nothing is stored.
  auto dst3 = make_store("dst3");
  registry_client puller3(*dst3, {});
  auto none = puller3.pull(remote("team/pinned@sha256:" + std::string(64, '0')), nullptr);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code(), error_code::not_found) << none.error().to_string();
  EXPECT_TRUE(dst3->list().value().empty());
}

// Sum of "done" in a partial state file (0 if absent or unreadable).
uint64_t partial_done(const std::string& state_path) {
  auto text = read_file(state_path);
  if (!text.ok()) return 0;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.contains("parts")) return 0;
  uint64_t done = 0;
  for (const auto& p : j["parts"]) done += p[2].get<uint64_t>();
  return done;
}

TEST_F(registry_test, pull_killed_mid_way_resumes_where_it_stopped) {
  auto src = make_store("src");
  const model_name name = remote("team/big:v1");
  manifest m = create_local(*src, name, 48 << 20);
  registry_client pusher(*src, {});
  ASSERT_TRUE(pusher.push(name, nullptr).ok());
  const descriptor weights = m.layers_of(media_type::model).at(0);

  auto dst = make_store("dst");
  const std::string state = dst->blobs().partial_state_path_for(weights.digest).value();
  std::string helper = std::string(R1_BINARY_DIR) + "/tests/registry_pull_helper";
  std::string store_dir = dst->root(), model = name.full(), rate = std::to_string(8 << 20);
  char* argv[] = {helper.data(), store_dir.data(), model.data(), rate.data(), nullptr};
  pid_t pid = -1;
  ASSERT_EQ(::posix_spawn(&pid, helper.c_str(), nullptr, nullptr, argv, environ), 0);
  uint64_t seen = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline && (seen = partial_done(state)) < (12u << 20))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ::kill(pid, SIGKILL);
  int st = 0;
  ::waitpid(pid, &st, 0);
  ASSERT_TRUE(WIFSIGNALED(st)) << "the helper finished before it could be killed";
  ASSERT_GE(seen, 12u << 20);
  EXPECT_FALSE(dst->has_model(name));
  EXPECT_FALSE(dst->blobs().has(weights.digest));

  registry_client resumer(*dst, {});
  uint64_t first = UINT64_MAX;
  auto pulled = resumer.pull(name, [&](const progress_event& e) {
    if (e.digest == weights.digest && first == UINT64_MAX) first = e.completed;
  });
  ASSERT_TRUE(pulled.ok()) << pulled.error().to_string();
  EXPECT_GE(first, seen) << "the second pull should start from the bytes the first one saved";
  EXPECT_EQ(sha256_of_file(dst->blobs().path_for(weights.digest).value()).value(), weights.digest);
  EXPECT_FALSE(fs::exists(state));
}

}  // namespace
}  // namespace r1::registry
