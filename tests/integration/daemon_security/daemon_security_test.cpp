// r1d as a service, end to end with real processes: keys and scopes through the
// r1 CLI and curl, expiry and revocation, per-key rate limits, TLS with a CA
// made here, the Unix socket, the registry allow-list, request ids in the
// daemon's and the runner's log lines, `r1 ps --verbose`, and /metrics read by
// the Prometheus client library's parser while counters move.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "r1/base/raii.h"
#include "r1/test_support/registry_fixture.h"
#include "security_harness.h"

namespace {

using json = nlohmann::json;
using r1::test::curl;
using r1::test::start_r1d;
using r1::test_support::daemon_process;

std::string trim_nl(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

std::string auth(const std::string& key) { return "Authorization: Bearer " + key; }

class daemon_security : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure() && d_) std::cerr << "---- r1d log ----\n" << d_->log() << "\n";
  }
  void start(const std::vector<std::string>& flags) {
    d_ = start_r1d(flags);
    ASSERT_TRUE(d_) << "r1d did not start";
  }
  std::string url(const std::string& path) const { return "http://" + d_->host() + path; }
  // `r1 keys create` with the given key (or none) and extra arguments; returns the printed key.
  std::string create_key(const std::string& with_key, std::vector<std::string> args) {
    args.insert(args.begin(), {"keys", "create"});
    auto r = d_->cli(args, "", {{"R1_API_KEY", with_key}});
    EXPECT_EQ(r.code, 0) << r.err;
    return trim_nl(r.out);
  }
  std::string id_of(const std::string& key) const { return key.substr(3, 16); }
  // Writes a random-weight model and imports it as `name` (needs admin when keys are on).
  void create_model(const std::string& name, const std::string& key = "") {
    std::string gguf = r1::test_support::make_model(d_->dir(), "demo");
    ASSERT_FALSE(gguf.empty()) << "r1-mkmodel failed";
    std::ofstream(d_->dir() + "/Modelfile") << "FROM ./demo.gguf\nPARAMETER num_predict 12\n";
    auto r = d_->cli({"create", name, "-f", d_->dir() + "/Modelfile"}, "", {{"R1_API_KEY", key}});
    ASSERT_EQ(r.code, 0) << r.err;
  }

  std::unique_ptr<daemon_process> d_;
};

TEST_F(daemon_security, keys_scopes_expiry_and_revocation) {
  start({});
  // No key exists: auth is off, so the local admin creates the first key.
  std::string admin = create_key("", {"--scope", "admin", "--name", "ops"});
  ASSERT_EQ(admin.rfind("r1_", 0), 0u) << admin;
  // From now on every route but / and /api/version needs a key.
  EXPECT_EQ(curl({url("/")}).status, 200);
  auto none = curl({url("/api/tags")});
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.json()["error"], "missing API key");
  EXPECT_EQ(none.headers["www-authenticate"], "Bearer");
  auto wrong = curl({"-H", auth("r1_0123456789abcdef_" + std::string(64, '0')), url("/v1/models")});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.json()["error"]["type"], "authentication_error") << wrong.body;

  std::string user = create_key(admin, {"--scope", "inference", "--name", "app"});
  EXPECT_EQ(curl({"-H", auth(user), url("/api/tags")}).status, 200);
  EXPECT_EQ(curl({"-H", "x-api-key: " + user, url("/v1/models")}).status, 200);
  // An inference key on admin routes: 403, in the shape of each API.
  auto pull = curl({"-H", auth(user), "-d", R"({"model":"x"})", url("/api/pull")});
  EXPECT_EQ(pull.status, 403);
  EXPECT_EQ(pull.json()["error"], "this operation needs an admin key");
  EXPECT_EQ(curl({"-H", auth(user), url("/api/keys")}).status, 403);
  auto self_promote = d_->cli({"keys", "create", "--scope", "admin"}, "", {{"R1_API_KEY", user}});
  EXPECT_NE(self_promote.code, 0);
  EXPECT_NE(self_promote.err.find("admin key"), std::string::npos) << self_promote.err;

  // Expiry: a 2 s key works, then answers 401 "expired".
  std::string brief = create_key(admin, {"--expires", "2s"});
  EXPECT_EQ(curl({"-H", auth(brief), url("/api/tags")}).status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(3100));
  auto expired = curl({"-H", auth(brief), url("/api/tags")});
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(expired.json()["error"], "the API key has expired");

  // Revocation through the CLI.
  auto rv = d_->cli({"keys", "revoke", id_of(user)}, "", {{"R1_API_KEY", admin}});
  ASSERT_EQ(rv.code, 0) << rv.err;
  auto revoked = curl({"-H", auth(user), url("/v1/models")});
  EXPECT_EQ(revoked.status, 401);
  EXPECT_EQ(revoked.json()["error"]["message"], "the API key was revoked");
  EXPECT_EQ(d_->cli({"keys", "revoke", "0000000000000000"}, "", {{"R1_API_KEY", admin}}).code, 1);

  auto list = d_->cli({"keys", "list"}, "", {{"R1_API_KEY", admin}});
  ASSERT_EQ(list.code, 0) << list.err;
  for (const char* want : {"ops", "app", "revoked", "expired", "active", "admin", "inference"})
    EXPECT_NE(list.out.find(want), std::string::npos) << want << "\n" << list.out;
  EXPECT_EQ(list.out.find(user.substr(20)), std::string::npos) << "a secret was listed";

  // The store: mode 0600, hashes only.
  std::string file = d_->dir() + "/keys.json";
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto text = r1::read_file(file);
  ASSERT_TRUE(text.ok());
  for (const auto& k : {admin, user, brief}) EXPECT_EQ(text->find(k.substr(20)), std::string::npos);

  // Keys survive a restart (the file is the store).
  std::vector<std::string> flags;
  d_->terminate();
  auto again = start_r1d({"--keys-file", file});
  ASSERT_TRUE(again);
  std::string u2 = "http://" + again->host() + "/api/tags";
  EXPECT_EQ(curl({"-H", auth(admin), u2}).status, 200);
  EXPECT_EQ(curl({"-H", auth(user), u2}).status, 401);
  EXPECT_EQ(curl({u2}).status, 401);
}

TEST_F(daemon_security, rate_limits_answer_429_with_retry_after) {
  start({"--rate-limit.inference", "2"});
  std::string admin = create_key("", {"--scope", "admin"});
  std::string scoped = create_key(admin, {"--name", "default-limit"});
  std::string own = create_key(admin, {"--rate-limit", "4"});
  for (int i = 0; i < 2; ++i) EXPECT_EQ(curl({"-H", auth(scoped), url("/api/tags")}).status, 200) << i;
  auto limited = curl({"-H", auth(scoped), url("/api/tags")});
  EXPECT_EQ(limited.status, 429);
  int retry = std::atoi(limited.headers["retry-after"].c_str());
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 30);  // 2 per minute: a token every 30 s
  EXPECT_NE(limited.json()["error"].get<std::string>().find("rate limit of 2 requests per minute"), std::string::npos);
  auto oa = curl({"-H", auth(scoped), url("/v1/models")});
  EXPECT_EQ(oa.status, 429);
  EXPECT_EQ(oa.json()["error"]["type"], "rate_limit_error");
  // The per-key override, and other keys are not affected.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(curl({"-H", auth(own), url("/api/tags")}).status, 200) << i;
  EXPECT_EQ(curl({"-H", auth(own), url("/api/tags")}).status, 429);
  // Admin keys have no default limit here.
  for (int i = 0; i < 6; ++i) EXPECT_EQ(curl({"-H", auth(admin), url("/api/tags")}).status, 200);
  auto m = curl({"-H", auth(admin), url("/metrics")});
  auto parsed = r1::test::parse_metrics(m.body);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ((*parsed)["samples"].value("r1_rate_limited_total{scope=inference}", 0.0), 3.0) << m.body;
}

TEST_F(daemon_security, tls_with_a_ca_made_by_openssl) {
  r1::test_support::temp_dir pki("pki");
  std::string err = r1::test::make_tls_files(pki.path());
  ASSERT_EQ(err, "");
  start({"--tls.cert", pki / "server.pem", "--tls.key", pki / "server.key"});
  std::string https = "https://" + d_->host();
  auto ok = curl({"--cacert", pki / "ca.pem", https + "/api/version"});
  EXPECT_EQ(ok.status, 200) << ok.err;
  EXPECT_TRUE(ok.json().contains("version"));
  // Without the CA the certificate does not verify (curl exit 60).
  auto untrusted = curl({https + "/api/version"});
  EXPECT_EQ(untrusted.status, 0);
  EXPECT_EQ(untrusted.curl_exit, 60) << untrusted.err;
  // Plain HTTP to the TLS port gets no HTTP reply.
  EXPECT_NE(curl({"http://" + d_->host() + "/api/version"}).status, 200);
  // The CLI over https with R1_CA_FILE; without it, a message that names the fix.
  auto list = d_->cli({"list"}, "", {{"R1_HOST", https}, {"R1_CA_FILE", pki / "ca.pem"}});
  EXPECT_EQ(list.code, 0) << list.err;
  EXPECT_NE(list.out.find("NAME"), std::string::npos);
  auto bad = d_->cli({"list"}, "", {{"R1_HOST", https}});
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("R1_CA_FILE"), std::string::npos) << bad.err;
  // A key file that does not match refuses to start.
  auto wrong = start_r1d({"--tls.cert", pki / "server.pem", "--tls.key", pki / "ca.key"});
  EXPECT_FALSE(wrong);
}

TEST_F(daemon_security, unix_socket_is_trusted_local_and_bootstraps_keys) {
  std::string sock = std::string("/tmp/r1-sock-") + std::to_string(::getpid()) + ".sock";
  start({"--unix-socket", sock, "--require-keys", "true"});
  struct stat st {};
  ASSERT_EQ(::lstat(sock.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  // require_keys: TCP without a key is refused although no key exists yet.
  EXPECT_EQ(curl({url("/api/tags")}).status, 401);
  // The socket is trusted: curl and the CLI work without a key, and create the first admin key.
  auto viasock = curl({"--unix-socket", sock, "http://localhost/api/tags"});
  EXPECT_EQ(viasock.status, 200) << viasock.err;
  EXPECT_EQ(viasock.headers.count("x-request-id"), 1u);
  std::map<std::string, std::string> unix_env{{"R1_HOST", "unix://" + sock}};
  auto first = d_->cli({"keys", "create", "--scope", "admin"}, "", unix_env);
  ASSERT_EQ(first.code, 0) << first.err;
  std::string admin = trim_nl(first.out);
  EXPECT_EQ(curl({"-H", auth(admin), url("/api/keys")}).status, 200);
  auto ls = d_->cli({"keys", "list"}, "", unix_env);
  EXPECT_EQ(ls.code, 0) << ls.err;
  EXPECT_NE(ls.out.find(id_of(admin)), std::string::npos);
  // Streaming through the relay: pull progress of a refused model ends in an error line.
  auto pull = d_->cli({"pull", "127.0.0.1:1/none/such:tag"}, "", unix_env);
  EXPECT_EQ(pull.code, 1);
  // A missing socket: the CLI says so.
  auto gone = d_->cli({"list"}, "", {{"R1_HOST", "unix:///tmp/r1-no-such.sock"}});
  EXPECT_EQ(gone.code, 1);
  EXPECT_NE(gone.err.find("unix:///tmp/r1-no-such.sock"), std::string::npos) << gone.err;
  // Stopping removes the socket file.
  EXPECT_EQ(d_->terminate(), 0);
  EXPECT_NE(::lstat(sock.c_str(), &st), 0);
}

TEST_F(daemon_security, registry_allow_list) {
  auto reg = r1::test_support::registry_fixture::start();
  ASSERT_TRUE(reg.ok()) << reg.error().to_string();
  start({"--registries.allow", "[\"registry.example.com\", \"" + (*reg)->host() + "\"]"});
  auto refused = curl({"-d", R"({"model":"evil.example.net/x/y:1","stream":false})", url("/api/pull")});
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.json()["error"], "registry evil.example.net is not in this server's registries.allow list");
  auto cli = d_->cli({"pull", "127.0.0.1:1/x/y:1"});
  EXPECT_EQ(cli.code, 1);
  EXPECT_NE(cli.err.find("registries.allow"), std::string::npos) << cli.err;
  auto push = curl({"-d", R"({"model":"evil.example.net/x/y:1","stream":false})", url("/api/push")});
  EXPECT_EQ(push.status, 403);
  // An allowed registry gets past the list (the model is not there: not found, not 403).
  auto allowed = curl({"-d", R"({"model":")" + (*reg)->host() + R"(/x/y:1","stream":false,"insecure":true})", url("/api/pull")});
  EXPECT_NE(allowed.status, 403) << allowed.body;
  EXPECT_NE(allowed.status, 200) << allowed.body;
  // Short names mean registry.ollama.ai, which this list leaves out.
  EXPECT_EQ(curl({"-d", R"({"model":"deepseek-r1:7b","stream":false})", url("/api/pull")}).status, 403);
}

TEST_F(daemon_security, request_ids_metrics_and_ps_verbose) {
  start({"--log-format", "json", "--keep-alive", "5m"});
  create_model("demo");
  auto m0 = r1::test::parse_metrics(curl({url("/metrics")}).body);
  ASSERT_TRUE(m0.ok()) << m0.error().message();
  auto sample = [](const json& m, const std::string& k) { return m["samples"].value(k, 0.0); };
  double tags0 = sample(*m0, "r1_http_requests_total{method=GET,route=/api/tags,status=200}");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(curl({url("/api/tags")}).status, 200);
  EXPECT_EQ(curl({url("/api/nope")}).status, 404);

  // A generate with our own request id: echoed, and on the daemon's and the runner's lines.
  auto gen = curl({"-H", "X-Request-Id: trace-7f3a.1", "-d",
                   R"({"model":"demo","prompt":"hello","stream":false,"options":{"num_predict":6}})", url("/api/generate")});
  ASSERT_EQ(gen.status, 200) << gen.body;
  EXPECT_EQ(gen.headers["x-request-id"], "trace-7f3a.1");
  // An unsafe id is replaced by a fresh one.
  auto other = curl({"-H", "X-Request-Id: bad id {}", url("/api/tags")});
  ASSERT_EQ(other.headers["x-request-id"].size(), 32u) << other.headers["x-request-id"];

  std::string log = d_->log();
  bool http_line = false, runner_line = false, all_json = true;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] != '{') continue;  // "r1d listening on" goes to stdout as text
    auto j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("time") || !j.contains("level")) {
      all_json = false;
      continue;
    }
    if (j.value("request_id", "") != "trace-7f3a.1") continue;
    std::string msg = j.value("msg", "");
    if (j["component"] == "http" && msg.find("POST /api/generate 200") != std::string::npos) http_line = true;
    if (j["component"] == "runner" && msg.find("completion:") != std::string::npos) runner_line = true;
  }
  EXPECT_TRUE(all_json);
  EXPECT_TRUE(http_line) << log;
  EXPECT_TRUE(runner_line) << log;

  auto m1 = r1::test::parse_metrics(curl({url("/metrics")}).body);
  ASSERT_TRUE(m1.ok()) << m1.error().message();
  const json& s = *m1;
  EXPECT_EQ(sample(s, "r1_http_requests_total{method=GET,route=/api/tags,status=200}") - tags0, 4.0);
  EXPECT_EQ(sample(s, "r1_http_requests_total{method=GET,route=unmatched,status=404}"), 1.0);
  EXPECT_EQ(sample(s, "r1_http_requests_total{method=POST,route=/api/generate,status=200}"), 1.0);
  EXPECT_GE(sample(s, "r1_prompt_tokens_total{model=demo:latest}"), 1.0);
  EXPECT_GE(sample(s, "r1_generated_tokens_total{model=demo:latest}"), 1.0);
  EXPECT_LE(sample(s, "r1_generated_tokens_total{model=demo:latest}"), 6.0);
  EXPECT_EQ(sample(s, "r1_time_to_first_token_seconds_count{model=demo:latest}"), 1.0);
  EXPECT_EQ(sample(s, "r1_model_load_duration_seconds_count{model=demo:latest}"), 1.0);
  EXPECT_EQ(sample(s, "r1_loaded_models{}"), 1.0);
  EXPECT_GT(sample(s, "r1_runner_memory_bytes{device=cpu,model=demo:latest}"), 0.0);
  EXPECT_EQ(sample(s, "r1_queue_depth{model=demo:latest}"), 0.0);
  EXPECT_EQ(s["types"].value("r1_http_request_duration_seconds", ""), "histogram");
  EXPECT_GE(sample(s, "r1_http_request_duration_seconds_count{route=/api/generate}"), 1.0);

  // A second generate moves the token counters again.
  double gen0 = sample(s, "r1_generated_tokens_total{model=demo:latest}");
  ASSERT_EQ(curl({"-d", R"({"model":"demo","prompt":"again","stream":true,"options":{"num_predict":4}})",
                  url("/api/generate")}).status, 200);
  auto m2 = r1::test::parse_metrics(curl({url("/metrics")}).body);
  ASSERT_TRUE(m2.ok());
  EXPECT_GT(sample(*m2, "r1_generated_tokens_total{model=demo:latest}"), gen0);
  EXPECT_EQ(sample(*m2, "r1_time_to_first_token_seconds_count{model=demo:latest}"), 2.0);

  auto ps = d_->cli({"ps", "--verbose"});
  ASSERT_EQ(ps.code, 0) << ps.err;
  for (const char* col : {"PID", "PORT", "DEVICE", "WEIGHTS", "KV CACHE", "ACTIVE", "QUEUED", "demo:latest", "cpu"})
    EXPECT_NE(ps.out.find(col), std::string::npos) << col << "\n" << ps.out;
  auto api_ps = curl({url("/api/ps")}).json();
  ASSERT_EQ(api_ps["models"].size(), 1u);
  EXPECT_GT(api_ps["models"][0].value("port", 0), 0);
  EXPECT_NE(ps.out.find(std::to_string(api_ps["models"][0].value("pid", -1))), std::string::npos);
}

TEST_F(daemon_security, pull_metrics_count_bytes_and_failures) {
  auto reg = r1::test_support::registry_fixture::start();
  ASSERT_TRUE(reg.ok()) << reg.error().to_string();
  start({});
  create_model("demo");
  std::string remote = (*reg)->host() + "/lib/demo:1";
  auto cp = d_->cli({"cp", "demo", remote});
  ASSERT_EQ(cp.code, 0) << cp.err;
  auto pushed = d_->cli({"push", remote, "--insecure"});
  ASSERT_EQ(pushed.code, 0) << pushed.err;
  // A second daemon with an empty store pulls it: every byte comes over the wire.
  auto fresh = start_r1d({});
  ASSERT_TRUE(fresh);
  auto pulled = fresh->cli({"pull", remote, "--insecure"});
  ASSERT_EQ(pulled.code, 0) << pulled.err;
  EXPECT_NE(fresh->cli({"pull", (*reg)->host() + "/lib/missing:1", "--insecure"}).code, 0);
  std::string base = "http://" + fresh->host();
  auto m = r1::test::parse_metrics(curl({base + "/metrics"}).body);
  ASSERT_TRUE(m.ok()) << m.error().message();
  // Expected: the bytes of every blob now in the fresh store (config and layers).
  double size = 0;
  for (const auto& e : std::filesystem::directory_iterator(fresh->dir() + "/models/blobs"))
    if (e.is_regular_file()) size += static_cast<double>(e.file_size());
  ASSERT_GT(size, 0);
  const json& samples = (*m)["samples"];
  EXPECT_EQ(samples.value("r1_pull_bytes_total{}", 0.0), size);
  EXPECT_EQ(samples.value("r1_pulls_total{result=success}", 0.0), 1.0);
  EXPECT_EQ(samples.value("r1_pulls_total{result=failure}", 0.0), 1.0);
  EXPECT_EQ(samples.value("r1_pull_failures_total{}", 0.0), 1.0);
  // Pulling again fetches nothing new.
  ASSERT_EQ(fresh->cli({"pull", remote, "--insecure"}).code, 0);
  auto m2 = r1::test::parse_metrics(curl({base + "/metrics"}).body);
  ASSERT_TRUE(m2.ok());
  EXPECT_EQ((*m2)["samples"].value("r1_pull_bytes_total{}", 0.0), size);
}

}  // namespace
