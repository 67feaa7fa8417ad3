// The ed25519 identity key (OpenSSH format, checked against ssh-keygen) and
// Ollama's signed token request against a token server that verifies it.
#include "r1/registry/identity_key.h"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <gtest/gtest.h>

#include "fault_server.h"
#include "r1/base/raii.h"
#include "r1/registry/registry_client.h"
#include "r1/test_support/temp_dir.h"

namespace r1::registry {
namespace {

using test_support::temp_dir;
namespace fs = std::filesystem;

bool have_ssh_keygen() { return std::system("command -v ssh-keygen >/dev/null 2>&1") == 0; }

// Runs a shell command; returns its stdout (and whether it exited 0).
std::string run(const std::string& cmd, bool* ok = nullptr) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int rc = ::pclose(p);
  if (ok) *ok = WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

bool verify(const identity_key& k, const std::string& data, const std::string& sig) {
  EVP_PKEY* pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, k.public_key().data(), 32);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = pk && ctx && EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, pk) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pk);
  return ok;
}

TEST(identity_key, round_trip_and_signatures_verify) {
  auto k = identity_key::generate();
  ASSERT_TRUE(k.ok()) << k.error().to_string();
  const std::string text = k->to_openssh();
  EXPECT_EQ(text.rfind("-----BEGIN OPENSSH PRIVATE KEY-----\n", 0), 0u);
  auto back = identity_key::parse_openssh(text);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->public_key_line(), k->public_key_line());
  EXPECT_EQ(k->public_key_line().rfind("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI", 0), 0u) << k->public_key_line();
  auto sig = back->sign("GET,https://example/v2/token?x=1,abc");
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(sig->size(), 64u);
  EXPECT_TRUE(verify(*k, "GET,https://example/v2/token?x=1,abc", *sig));
  EXPECT_FALSE(verify(*k, "GET,https://example/v2/token?x=2,abc", *sig));
  auto other = identity_key::generate();
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->public_key_line(), k->public_key_line());
}

TEST(identity_key, agrees_with_ssh_keygen_both_ways) {
  if (!have_ssh_keygen()) GTEST_SKIP() << "ssh-keygen is not installed";
  temp_dir dir("idkey");
  // Ours -> ssh-keygen.
  auto k = identity_key::generate().value();
  const std::string ours = dir / "ours";
  ASSERT_TRUE(write_file_atomic(ours, k.to_openssh(), 0600).ok());
  bool ok = false;
  const std::string pub = run("ssh-keygen -y -f " + ours + " 2>&1", &ok);
  ASSERT_TRUE(ok) << pub;
  EXPECT_EQ(pub.substr(0, pub.find(' ', 12)), k.public_key_line());
  // ssh-keygen -> ours.
  const std::string theirs = dir / "theirs";
  run("ssh-keygen -q -t ed25519 -N '' -C test -f " + theirs + " 2>&1", &ok);
  ASSERT_TRUE(ok);
  auto loaded = identity_key::load(theirs);
  ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
  const std::string their_pub = read_file(theirs + ".pub").value();
  EXPECT_EQ(their_pub.substr(0, their_pub.find(' ', 12)), loaded->public_key_line());
  // An encrypted key gets a clear refusal.
  const std::string locked = dir / "locked";
  run("ssh-keygen -q -t ed25519 -N 'secret pass' -f " + locked + " 2>&1", &ok);
  ASSERT_TRUE(ok);
  auto refused = identity_key::load(locked);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), error_code::invalid_argument);
  EXPECT_NE(refused.error().message().find("encrypted"), std::string::npos) << refused.error().message();
  // Other key types are refused by name.
  const std::string rsa = dir / "rsa";
  run("ssh-keygen -q -t rsa -b 1024 -N '' -f " + rsa + " 2>&1", &ok);
  if (ok) {
    auto r = identity_key::load(rsa);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("ssh-rsa"), std::string::npos) << r.error().message();
  }
}

TEST(identity_key, damaged_files_are_refused_with_a_reason) {
  auto k = identity_key::generate().value();
  const std::string good = k.to_openssh();
  struct bad {
    std::string text;
    const char* fragment;
  };
  std::string flipped = good;
  flipped[60] = flipped[60] == 'A' ? 'B' : 'A';  // inside the base64 body
  for (const bad& b : {bad{"", "no '-----BEGIN OPENSSH"}, bad{"-----BEGIN RSA PRIVATE KEY-----\nabc\n", "not an OpenSSH"},
                       bad{good.substr(0, good.size() - 10), "no '-----END"},
                       bad{"-----BEGIN OPENSSH PRIVATE KEY-----\nab!d\n-----END OPENSSH PRIVATE KEY-----\n", "base64"},
                       bad{"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
                           "openssh-key-v1"}}) {
    auto r = identity_key::parse_openssh(b.text);
    ASSERT_FALSE(r.ok()) << b.text;
    EXPECT_NE(r.error().message().find(b.fragment), std::string::npos) << r.error().message();
  }
  EXPECT_FALSE(identity_key::parse_openssh(flipped).ok());
  // Every shortened body fails cleanly.
  const size_t b = good.find('\n') + 1, e = good.find("-----END");
  std::string body;
  for (char c : good.substr(b, e - b))
    if (c != '\n') body.push_back(c);
  for (size_t n = 0; n + 4 <= body.size(); n += 4) {
    const std::string t = "-----BEGIN OPENSSH PRIVATE KEY-----\n" + body.substr(0, n) + "\n-----END OPENSSH PRIVATE KEY-----\n";
    EXPECT_FALSE(identity_key::parse_openssh(t).ok()) << n;
  }
}

TEST(identity_key, load_or_create_prefers_an_existing_key_and_creates_the_last_path) {
  temp_dir dir("idkey");
  const std::string ollama_key = dir / "ollama/id_ed25519";
  const std::string own_key = dir / "r1/id_ed25519";
  auto created = identity_key::load_or_create({ollama_key, own_key});
  ASSERT_TRUE(created.ok()) << created.error().to_string();
  EXPECT_FALSE(fs::exists(ollama_key));
  struct stat st;
  ASSERT_EQ(::stat(own_key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir / "r1").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(read_file(own_key + ".pub").value(), created->public_key_line() + " r1\n");
  auto again = identity_key::load_or_create({ollama_key, own_key});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->public_key_line(), created->public_key_line());

  // An Ollama key, once present, wins and is only read.
  auto theirs = identity_key::generate().value();
  fs::create_directories(dir / "ollama");
  const std::string text = theirs.to_openssh();
  ASSERT_TRUE(write_file_atomic(ollama_key, text, 0600).ok());
  ASSERT_EQ(::chmod(ollama_key.c_str(), 0400), 0);
  auto used = identity_key::load_or_create({ollama_key, own_key});
  ASSERT_TRUE(used.ok()) << used.error().to_string();
  EXPECT_EQ(used->public_key_line(), theirs.public_key_line());
  EXPECT_EQ(read_file(ollama_key).value(), text);
  EXPECT_FALSE(identity_key::load_or_create({}).ok());
}

// --- Ollama's signed token request against a verifying token server ---------

class ollama_auth_test : public ::testing::Test {
 protected:
  void SetUp() override {
    srv_.ollama_auth = true;
    const std::string weights(100 << 10, 'w');
    manifest m;
    const std::string cfg = R"({"model_format":"gguf"})";
    m.config = {std::string(media_type::docker_config), srv_.add_blob(cfg), cfg.size(), "", {}};
    m.layers.push_back({std::string(media_type::model), srv_.add_blob(weights), weights.size(), "", {}});
    srv_.set_manifest("ns/m", "t", m.serialize());
  }
  client_options options() {
    client_options o;
    o.identity_key_paths = {dir_ / "ollama/id_ed25519", dir_ / "r1/id_ed25519"};
    o.ollama_auth_hosts = {srv_.host()};
    o.retry_base_ms = 10;
    return o;
  }
  model_name name() { return model_name::parse(srv_.host() + "/ns/m:t").value(); }

  temp_dir dir_{"ollama-auth"};
  testing::fault_server srv_;
  std::unique_ptr<model_store> store_ = model_store::open(dir_ / "models").value();
};

TEST_F(ollama_auth_test, a_registered_key_gets_a_token_and_the_pull_succeeds) {
  // First attempt: the key is created, the server does not know it yet.
  registry_client client(*store_, options());
  auto refused = client.pull(name(), nullptr);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), error_code::permission_denied);
  EXPECT_EQ(srv_.last_refusal(), "unknown key") << "the signature itself must have verified";
  auto key = identity_key::load(dir_ / "r1/id_ed25519");
  ASSERT_TRUE(key.ok()) << key.error().to_string();
  EXPECT_NE(refused.error().message().find(key->public_key_line()), std::string::npos) << refused.error().message();

  srv_.registered_key = key->public_key_base64();
  auto m = client.pull(name(), nullptr);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(srv_.last_refusal(), "");
  EXPECT_GE(srv_.signed_token_grants(), 1);
  bool bearer = false;
  for (const auto& r : srv_.requests()) {
    if (r.path.find("/manifests/") != std::string::npos && r.authorization == "Bearer ollama-token") bearer = true;
    if (r.path == "/v2/token") {
      EXPECT_NE(r.authorization.find(':'), std::string::npos);
    }
  }
  EXPECT_TRUE(bearer);
}

TEST_F(ollama_auth_test, the_server_refuses_forged_and_replayed_signatures) {
  auto key = identity_key::generate().value();
  srv_.registered_key = key.public_key_base64();
  httplib::Client c("127.0.0.1", srv_.port());
  const std::string query = "/v2/token?nonce=abcdefghijklmnopqrstuv&scope=repository%3Ans%2Fm%3Apull&service=ollama-test&ts=" +
                            std::to_string(std::time(nullptr));
  const std::string empty_b64 = "ZTNiMGM0NDI5OGZjMWMxNDlhZmJmNGM4OTk2ZmI5MjQyN2FlNDFlNDY0OWI5MzRjYTQ5NTk5MWI3ODUyYjg1NQ==";
  auto signed_by = [&](const identity_key& k, const std::string& text) {
    std::string sig = k.sign(text).value();
    std::string b64(128, '\0');
    b64.resize(static_cast<size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                                   reinterpret_cast<const unsigned char*>(sig.data()), 64)));
    return k.public_key_base64() + ":" + b64;
  };
  const std::string good_text = "GET,http://" + srv_.host() + query + "," + empty_b64;
  auto get = [&](const std::string& auth) {
    auto r = c.Get(query.c_str(), httplib::Headers{{"Authorization", auth}});
    return r ? r->status : -1;
  };
  // Signed for another host: refused.
  EXPECT_EQ(get(signed_by(key, "GET,http://evil.example" + query + "," + empty_b64)), 401);
  EXPECT_EQ(srv_.last_refusal(), "bad signature");
  // Someone else's signature under our public key: refused.
  auto mallory = identity_key::generate().value();
  std::string forged = signed_by(mallory, good_text);
  forged = key.public_key_base64() + forged.substr(forged.find(':'));
  EXPECT_EQ(get(forged), 401);
  EXPECT_EQ(srv_.last_refusal(), "bad signature");
  // The real thing, once.
  EXPECT_EQ(get(signed_by(key, good_text)), 200);
  EXPECT_EQ(get(signed_by(key, good_text)), 401);
  EXPECT_EQ(srv_.last_refusal(), "replayed nonce");
}

TEST_F(ollama_auth_test, a_realm_on_another_host_gets_no_signed_request) {
  srv_.realm_authority = "localhost:" + std::to_string(srv_.port());
  auto key = identity_key::load_or_create(options().identity_key_paths).value();
  srv_.registered_key = key.public_key_base64();
  registry_client client(*store_, options());
  auto r = client.pull(name(), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), error_code::permission_denied);
  EXPECT_NE(r.error().message().find("does not match the registry host"), std::string::npos) << r.error().message();
  for (const auto& req : srv_.requests()) EXPECT_NE(req.path, "/v2/token");
  EXPECT_EQ(srv_.signed_token_grants(), 0);
}

TEST_F(ollama_auth_test, an_existing_ollama_key_is_used_read_only) {
  auto theirs = identity_key::generate().value();
  fs::create_directories(dir_ / "ollama");
  const std::string text = theirs.to_openssh();
  ASSERT_TRUE(write_file_atomic(dir_ / "ollama/id_ed25519", text, 0600).ok());
  srv_.registered_key = theirs.public_key_base64();
  registry_client client(*store_, options());
  auto m = client.pull(name(), nullptr);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_FALSE(fs::exists(dir_ / "r1/id_ed25519"));
  EXPECT_EQ(read_file(dir_ / "ollama/id_ed25519").value(), text);
}

TEST_F(ollama_auth_test, no_identity_key_configured_is_a_clear_error) {
  client_options o = options();
  o.identity_key_paths.clear();
  registry_client client(*store_, o);
  auto r = client.pull(name(), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), error_code::permission_denied);
  EXPECT_NE(r.error().message().find("no identity key"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace r1::registry
