// Pull against a misbehaving registry: every failure path of the downloader.
#include <filesystem>
#include <gtest/gtest.h>

#include "fault_server.h"
#include "r1/base/raii.h"
#include "r1/registry/registry_client.h"
#include "r1/test_support/temp_dir.h"

namespace r1::registry {
namespace {

using testing::fault_server;
using test_support::temp_dir;
namespace fs = std::filesystem;

std::string random_bytes(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    s[i] = static_cast<char>(x >> 7);
  }
  return s;
}

struct served_model {
  std::string weights, weights_digest, manifest_bytes;
};

// Publishes ns/m:<tag> with a config and one model layer (served as `served` if given).
served_model publish(fault_server& srv, size_t size, const std::string& tag = "t", uint32_t seed = 1,
                     const std::string* served = nullptr) {
  served_model out;
  out.weights = random_bytes(size, seed);
  const std::string cfg = R"({"model_format":"gguf"})";
  manifest m;
  m.config = {std::string(media_type::docker_config), srv.add_blob(cfg), cfg.size(), "", {}};
  out.weights_digest = srv.add_blob(out.weights, served);
  m.layers.push_back({std::string(media_type::model), out.weights_digest, size, "", {}});
  out.manifest_bytes = m.serialize();
  srv.set_manifest("ns/m", tag, out.manifest_bytes);
  return out;
}

client_options fast_options() {
  client_options o;
  o.retry_base_ms = 10;
  o.stall_timeout_ms = 1000;
  o.min_part_bytes = 256 << 10;
  o.max_parallel_parts = 4;
  return o;
}

model_name name_on(const fault_server& srv, const std::string& tag = "t") {
  return model_name::parse(srv.host() + "/ns/m:" + tag).value();
}

std::vector<std::string> files_under(const std::string& dir) {
  std::vector<std::string> out;
  for (auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), dir).string());
  return out;
}

size_t count_blob_gets(const std::vector<testing::seen_request>& reqs, const std::string& digest) {
  size_t n = 0;
  for (const auto& r : reqs)
    if (r.method == "GET" && r.path.find(digest) != std::string::npos) ++n;
  return n;
}

class pull_test : public ::testing::Test {
 protected:
  temp_dir dir_{"pull"};
  std::unique_ptr<model_store> store_ = model_store::open(dir_ / "models").value();
};

TEST_F(pull_test, parallel_ranges_progress_and_byte_identical_result) {
  fault_server srv;
  auto model = publish(srv, 8 << 20);
  registry_client client(*store_, fast_options());
  std::vector<progress_event> events;
  auto m = client.pull(name_on(srv), [&](const progress_event& e) { events.push_back(e); });
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(read_file(store_->blobs().path_for(model.weights_digest).value()).value(), model.weights);
  EXPECT_EQ(store_->read_manifest_bytes(name_on(srv)).value(), model.manifest_bytes);
  size_t ranged = 0;
  for (const auto& r : srv.requests())
    if (r.path.find(model.weights_digest) != std::string::npos && !r.range.empty()) ++ranged;
  EXPECT_GE(ranged, 4u) << "an 8 MiB blob with 256 KiB parts should be fetched in several ranges";
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().status, "pulling manifest");
  EXPECT_EQ(events.back().status, "success");
  uint64_t last = 0, total = 0;
  for (const auto& e : events) {
    if (e.digest != model.weights_digest) continue;
    EXPECT_GE(e.completed, last) << "progress must not go backwards";
    last = e.completed;
    total = e.total;
  }
  EXPECT_EQ(total, model.weights.size());
  EXPECT_EQ(last, model.weights.size());
  // Nothing but the committed files remains.
  for (const auto& f : files_under(store_->root())) EXPECT_EQ(f.find("partial"), std::string::npos) << f;
}

TEST_F(pull_test, connection_cut_mid_blob_resumes_from_where_it_stopped) {
  fault_server srv;
  auto model = publish(srv, 3 << 20);
  srv.cut_blob_after = 1 << 20;
  client_options o = fast_options();
  o.min_part_bytes = 64 << 20;  // one stream, so the resume point is visible
  registry_client client(*store_, o);
  auto m = client.pull(name_on(srv), nullptr);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(sha256_of_file(store_->blobs().path_for(model.weights_digest).value()).value(), model.weights_digest);
  std::vector<std::string> ranges;
  for (const auto& r : srv.requests())
    if (r.path.find(model.weights_digest) != std::string::npos) ranges.push_back(r.range);
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0], "bytes=0-3145727");
  EXPECT_EQ(ranges[1], "bytes=1048576-3145727") << "the retry must continue after the bytes already received";
}

TEST_F(pull_test, wrong_digest_is_rejected_and_nothing_is_committed) {
  fault_server srv;
  const std::string lie = random_bytes(1 << 20, 99);
  auto model = publish(srv, 1 << 20, "t", 1, &lie);
  registry_client client(*store_, fast_options());
  auto m = client.pull(name_on(srv), nullptr);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code(), error_code::corrupt);
  const std::string msg = m.error().message();
  EXPECT_NE(msg.find(model.weights_digest), std::string::npos) << msg;
  EXPECT_NE(msg.find(sha256_of(lie)), std::string::npos) << msg;
  EXPECT_NE(msg.find("layer " + model.weights_digest.substr(7, 12)), std::string::npos) << msg;
  EXPECT_FALSE(store_->blobs().has(model.weights_digest));
  EXPECT_FALSE(store_->has_model(name_on(srv)));
  for (const auto& f : files_under(store_->root())) {
    EXPECT_EQ(f.find("manifests"), std::string::npos) << f;
    EXPECT_EQ(f.find("partial"), std::string::npos) << "partial data of a bad blob must be discarded: " << f;
  }
}

TEST_F(pull_test, pull_by_digest_checks_the_manifest_bytes_before_using_them) {
  fault_server srv;
  auto good = publish(srv, 300 << 10, "t", 3);
  const std::string good_digest = sha256_of(good.manifest_bytes);
  auto other = publish(srv, 200 << 10, "other", 4);
  // The registry answers the digest with a different (valid) manifest.
  srv.set_manifest("ns/m", good_digest, other.manifest_bytes);
  registry_client client(*store_, fast_options());
  const model_name pinned = model_name::parse(srv.host() + "/ns/m@" + good_digest).value();
  auto bad = client.pull(pinned, nullptr);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), error_code::corrupt);
  EXPECT_NE(bad.error().message().find(good_digest), std::string::npos) << bad.error().message();
  EXPECT_NE(bad.error().message().find(sha256_of(other.manifest_bytes)), std::string::npos) << bad.error().message();
  EXPECT_EQ(count_blob_gets(srv.requests(), other.weights_digest), 0u) << "nothing of a wrong manifest may be fetched";
  EXPECT_TRUE(files_under(store_->root()).empty());

  // The right bytes: pulled, asked for by digest, stored under the digest name only.
  srv.set_manifest("ns/m", good_digest, good.manifest_bytes);
  const model_name tagged = model_name::parse(srv.host() + "/ns/m:other@" + good_digest).value();
  auto m = client.pull(tagged, nullptr);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  bool asked_by_digest = false;
  for (const auto& r : srv.requests())
    if (r.path == "/v2/ns/m/manifests/" + good_digest) asked_by_digest = true;
  EXPECT_TRUE(asked_by_digest);
  EXPECT_TRUE(store_->blobs().has(good.weights_digest));
  EXPECT_FALSE(store_->blobs().has(other.weights_digest)) << "the tag next to a digest selects nothing";
  EXPECT_TRUE(store_->has_model(pinned));
  EXPECT_TRUE(store_->has_model(model_name::parse(srv.host() + "/ns/m:sha256-" + good_digest.substr(7)).value()));
  EXPECT_FALSE(store_->has_model(name_on(srv, "other")));
  auto listed = store_->list();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].name.display(), srv.host() + "/ns/m@" + good_digest);
  EXPECT_EQ((*listed)[0].manifest_digest, good_digest);
  EXPECT_TRUE(fs::exists(store_->root() + "/manifests/" + srv.host() + "/ns/m/sha256-" + good_digest.substr(7)));
  // A digest name never stores bytes that do not hash to it.
  EXPECT_FALSE(store_->write_manifest(pinned, other.manifest_bytes).ok());
}

TEST_F(pull_test, stalled_part_is_restarted) {
  fault_server srv;
  auto model = publish(srv, 1 << 20);
  srv.stall_next_blob_gets = 1;
  srv.stall_ms = 3000;
  client_options o = fast_options();
  o.max_retries = 0;  // a stall must not need a retry
  registry_client client(*store_, o);
  auto start = std::chrono::steady_clock::now();
  auto m = client.pull(name_on(srv), nullptr);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_LT(secs, 2.9) << "the stalled connection should be abandoned, not waited out";
  EXPECT_GE(count_blob_gets(srv.requests(), model.weights_digest), 2u);
  EXPECT_TRUE(store_->blobs().has(model.weights_digest));
}

TEST_F(pull_test, server_errors_are_retried_with_backoff) {
  fault_server srv;
  auto model = publish(srv, 512 << 10);
  srv.fail_next_blob_gets = 3;
  client_options single = fast_options();
  single.min_part_bytes = 64 << 20;  // one stream: 3 failures + 1 success
  registry_client client(*store_, single);
  auto m = client.pull(name_on(srv), nullptr);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(count_blob_gets(srv.requests(), model.weights_digest), 4u);

  fault_server srv2;
  publish(srv2, 512 << 10, "t", 7);
  srv2.fail_next_blob_gets = 100;
  client_options o = fast_options();
  o.max_retries = 2;
  registry_client give_up(*store_, o);
  auto failed = give_up.pull(name_on(srv2), nullptr);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code(), error_code::unavailable) << failed.error().to_string();
  EXPECT_NE(failed.error().message().find("503"), std::string::npos) << failed.error().message();
}

TEST_F(pull_test, bearer_token_flow_and_no_authorization_across_hosts) {
  fault_server cdn;  // the other host, reached as "localhost"
  fault_server srv;
  auto model = publish(srv, 1 << 20);
  cdn.add_blob(model.weights);
  cdn.add_blob(R"({"model_format":"gguf"})");
  srv.require_token = true;
  srv.redirect_blobs_to = "http://localhost:" + std::to_string(cdn.port());
  registry_client client(*store_, fast_options());
  auto m = client.pull(name_on(srv), nullptr);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_GE(srv.token_requests(), 1);
  EXPECT_EQ(srv.last_token_scope(), "repository:ns/m:pull");
  bool saw_authorized_manifest = false;
  for (const auto& r : srv.requests())
    if (r.path.find("/manifests/") != std::string::npos && r.authorization == "Bearer good-token") saw_authorized_manifest = true;
  EXPECT_TRUE(saw_authorized_manifest);
  const auto cdn_reqs = cdn.requests();
  ASSERT_FALSE(cdn_reqs.empty()) << "blobs should have come from the redirect target";
  for (const auto& r : cdn_reqs) EXPECT_EQ(r.authorization, "") << "Authorization leaked to " << r.path;
  EXPECT_EQ(read_file(store_->blobs().path_for(model.weights_digest).value()).value(), model.weights);
}

TEST_F(pull_test, credentials_go_to_the_registrys_own_token_realm) {
  fault_server srv;
  publish(srv, 1024);
  srv.require_token = true;
  client_options o = fast_options();
  o.credentials[srv.host()] = {"alice", "s3cret", ""};
  registry_client client(*store_, o);
  ASSERT_TRUE(client.pull(name_on(srv), nullptr).ok());
  bool basic = false;
  for (const auto& r : srv.requests())
    if (r.path == "/token" && r.authorization == "Basic YWxpY2U6czNjcmV0") basic = true;
  EXPECT_TRUE(basic) << "the token request should carry the configured credentials";
}

TEST_F(pull_test, oversized_manifest_is_refused) {
  fault_server srv;
  srv.huge_manifest_tag = "huge";
  registry_client client(*store_, fast_options());
  auto m = client.pull(name_on(srv, "huge"), nullptr);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code(), error_code::resource_exhausted) << m.error().to_string();
  EXPECT_TRUE(files_under(store_->root()).empty());
}

TEST_F(pull_test, traversal_digests_are_refused_before_any_file_is_touched) {
  fault_server srv;
  for (const char* evil : {"sha256:../../../../etc/passwd", "sha256:..%2f..%2fetc", "sha512:abc"}) {
    const std::string man = std::string(R"({"schemaVersion":2,"config":{"mediaType":"x","digest":")") +
                            sha256_of("c") + R"(","size":1},"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":")" +
                            evil + R"(","size":10}]})";
    srv.set_manifest("ns/m", "evil", man);
    registry_client client(*store_, fast_options());
    auto m = client.pull(name_on(srv, "evil"), nullptr);
    ASSERT_FALSE(m.ok()) << evil;
    EXPECT_EQ(m.error().code(), error_code::corrupt);
    EXPECT_TRUE(files_under(store_->root()).empty()) << evil;
  }
  for (const auto& r : srv.requests()) EXPECT_EQ(r.path.find("/blobs/"), std::string::npos) << r.path;
}

TEST_F(pull_test, cancelled_pull_keeps_partial_data_and_resumes) {
  fault_server srv;
  auto model = publish(srv, 4 << 20);
  srv.throttle_bytes_per_s = 4 << 20;
  client_options o = fast_options();
  o.min_part_bytes = 64 << 20;
  std::atomic<bool> cancel{false};
  {
    registry_client client(*store_, o);
    auto m = client.pull(name_on(srv), [&](const progress_event& e) {
      if (e.digest == model.weights_digest && e.completed >= (1u << 20)) cancel = true;
    }, &cancel);
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.error().code(), error_code::cancelled);
  }
  const std::string state = store_->blobs().partial_state_path_for(model.weights_digest).value();
  ASSERT_TRUE(fs::exists(state)) << "the part table must survive for a resume";
  ASSERT_TRUE(fs::exists(store_->blobs().partial_path_for(model.weights_digest).value()));
  srv.throttle_bytes_per_s = 0;
  const uint64_t sent_before = srv.blob_bytes_sent();
  registry_client again(*store_, o);
  uint64_t first_completed = UINT64_MAX;
  auto m = again.pull(name_on(srv), [&](const progress_event& e) {
    if (e.digest == model.weights_digest && first_completed == UINT64_MAX) first_completed = e.completed;
  });
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(read_file(store_->blobs().path_for(model.weights_digest).value()).value(), model.weights);
  EXPECT_LT(srv.blob_bytes_sent() - sent_before, model.weights.size() - (1u << 20) + 1)
      << "the resumed pull downloaded bytes it already had";
  EXPECT_FALSE(fs::exists(state));
}

TEST_F(pull_test, concurrent_pulls_share_one_download) {
  fault_server srv;
  auto model = publish(srv, 2 << 20);
  srv.set_manifest("ns/m", "other", model.manifest_bytes);
  srv.throttle_bytes_per_s = 8 << 20;
  registry_client client(*store_, fast_options());
  result<manifest> a = internal_error("unset"), b = internal_error("unset");
  std::thread t1([&] { a = client.pull(name_on(srv, "t"), nullptr); });
  std::thread t2([&] { b = client.pull(name_on(srv, "other"), nullptr); });
  t1.join();
  t2.join();
  ASSERT_TRUE(a.ok()) << a.error().to_string();
  ASSERT_TRUE(b.ok()) << b.error().to_string();
  EXPECT_LE(srv.blob_bytes_sent(), model.weights.size() + 1024) << "the blob was downloaded twice";
  EXPECT_TRUE(store_->has_model(name_on(srv, "t")));
  EXPECT_TRUE(store_->has_model(name_on(srv, "other")));
}

TEST_F(pull_test, an_idle_worker_splits_the_slow_part) {
  fault_server srv;
  // Pulls start with one stream and add one after a measuring interval
  // (~0.8 s), so the slow half must outlast that.
  auto model = publish(srv, 16 << 20);
  srv.throttle_bytes_per_s = 4 << 20;        // the second half of the blob comes slowly
  srv.throttle_from_offset = 8 << 20;
  client_options o = fast_options();
  o.max_parallel_parts = 2;                  // two parts: [0, 8 MiB) fast, [8 MiB, 16 MiB) slow
  o.min_part_bytes = 1 << 20;
  registry_client client(*store_, o);
  auto m = client.pull(name_on(srv), nullptr);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(read_file(store_->blobs().path_for(model.weights_digest).value()).value(), model.weights);
  bool split = false;
  for (const auto& r : srv.requests()) {
    unsigned long long a = 0, b = 0;
    if (r.path.find(model.weights_digest) != std::string::npos &&
        std::sscanf(r.range.c_str(), "bytes=%llu-%llu", &a, &b) == 2 && a > (8u << 20) && b == (16u << 20) - 1)
      split = true;
  }
  EXPECT_TRUE(split) << "a second worker should have taken over the tail of the slow part";
}

TEST_F(pull_test, bandwidth_cap_is_honoured) {
  fault_server srv;
  publish(srv, 2 << 20);
  client_options o = fast_options();
  o.bandwidth_limit_bytes_per_s = 2 << 20;
  registry_client client(*store_, o);
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(client.pull(name_on(srv), nullptr).ok());
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GT(secs, 0.8) << "2 MiB at 2 MiB/s cannot take " << secs << " s";
  EXPECT_LT(secs, 3.0);
}

TEST_F(pull_test, hugging_face_and_ollama_names_take_the_same_path_through_a_mirror) {
  fault_server srv;
  served_model model = publish(srv, 300 << 10);
  srv.set_manifest("bartowski/DeepSeek-R1-Distill-Qwen-7B-GGUF", "Q4_K_M", model.manifest_bytes);
  srv.set_manifest("library/deepseek-r1", "7b", model.manifest_bytes);
  client_options o = fast_options();
  o.host_overrides["hf.co"] = "http://" + srv.host();
  o.host_overrides["registry.ollama.ai"] = "http://" + srv.host();
  registry_client client(*store_, o);
  for (const char* n : {"hf.co/bartowski/DeepSeek-R1-Distill-Qwen-7B-GGUF:Q4_K_M", "deepseek-r1:7b"}) {
    auto m = client.pull(model_name::parse(n).value(), nullptr);
    ASSERT_TRUE(m.ok()) << n << ": " << m.error().to_string();
    EXPECT_TRUE(store_->has_model(model_name::parse(n).value()));
  }
  size_t manifest_gets = 0;
  for (const auto& r : srv.requests()) {
    if (r.path.find("/manifests/") == std::string::npos) continue;
    ++manifest_gets;
    EXPECT_NE(r.accept.find("application/vnd.docker.distribution.manifest.v2+json"), std::string::npos);
    EXPECT_NE(r.accept.find("application/vnd.oci.image.manifest.v1+json"), std::string::npos);
  }
  EXPECT_EQ(manifest_gets, 2u);
  EXPECT_EQ(store_->list().value().size(), 2u);
}

TEST_F(pull_test, unknown_model_and_plain_http_rules) {
  fault_server srv;
  registry_client client(*store_, fast_options());
  auto missing = client.pull(name_on(srv, "nope"), nullptr);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), error_code::not_found);
  EXPECT_EQ(client.base_url(model_name::parse("deepseek-r1:7b").value()).value(), "https://registry.ollama.ai");
  EXPECT_EQ(client.base_url(model_name::parse("hf.co/u/r:Q4_K_M").value()).value(), "https://hf.co");
  EXPECT_EQ(client.base_url(model_name::parse("localhost:5000/a/b").value()).value(), "http://localhost:5000");
  auto refused = client.base_url(model_name::parse("http://mirror.corp/a/b").value());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), error_code::permission_denied);
  client_options o;
  o.insecure_registries = {"mirror.corp"};
  o.host_overrides["registry.ollama.ai"] = "https://mirror.corp/ollama/";
  registry_client insecure(*store_, o);
  EXPECT_EQ(insecure.base_url(model_name::parse("mirror.corp/a/b").value()).value(), "http://mirror.corp");
  EXPECT_EQ(insecure.base_url(model_name::parse("deepseek-r1").value()).value(), "https://mirror.corp/ollama");
}

}  // namespace
}  // namespace r1::registry
