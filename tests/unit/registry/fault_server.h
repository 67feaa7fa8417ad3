// A small misbehaving registry for the pull tests: serves manifests and blobs
// like an OCI registry (with Range support) and can be told to cut connections,
// stall, fail with 5xx, lie about content, demand a bearer token, or redirect
// blob downloads to another server, or speak Ollama's signed-key auth (its
// token endpoint verifies the ed25519 signature with OpenSSL against the public
// key sent in the request and accepts only the registered key). Records every
// request it sees.
#pragma once

#include <httplib.h>
#include <openssl/evp.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "r1/registry/digest.h"
#include "r1/test_support/registry_fixture.h"

namespace r1::registry::testing {

struct seen_request {
  std::string method, path, authorization, range, accept;
};

class fault_server {
 public:
  // Behaviour switches; set before or during a test.
  std::atomic<int> fail_next_blob_gets{0};      // answer this many blob GETs with 503
  std::atomic<uint64_t> cut_blob_after{0};      // one blob GET closes the connection after N bytes
  std::atomic<int> stall_next_blob_gets{0};     // this many blob GETs send a little, then hang
  std::atomic<int> stall_ms{3000};
  std::atomic<uint64_t> throttle_bytes_per_s{0};  // slow blob GETs down...
  std::atomic<uint64_t> throttle_from_offset{0};  // ...for bytes at or after this offset
  std::atomic<bool> require_token{false};
  std::string redirect_blobs_to;                // "http://localhost:<port>" => 307 for blob GETs
  std::string huge_manifest_tag;                // this tag answers with a 100 MB manifest
  // Ollama's signed-key auth: challenges point at <realm_authority or host()>/v2/token
  // and the token endpoint wants a valid signature by `registered_key`
  // (the base64 public key blob, as in "ssh-ed25519 <blob>").
  std::atomic<bool> ollama_auth{false};
  std::string registered_key;
  std::string realm_authority;

  // Why the last signed token request was refused ("" = accepted).
  std::string last_refusal() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_refusal_;
  }
  int signed_token_grants() const { return signed_grants_; }

  explicit fault_server(const std::string& bind_host = "127.0.0.1") {
    server_.Get(R"(/v2/?)", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      if (!authorized(req, res)) return;
      res.set_content("{}", "application/json");
    });
    server_.Get(R"(/v2/token)", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      std::string why = check_signed_request(req);
      std::lock_guard<std::mutex> lock(mu_);
      last_refusal_ = why;
      if (!why.empty()) {
        res.status = 401;
        res.set_content(R"({"errors":[{"code":"UNAUTHORIZED","message":")" + why + R"("}]})", "application/json");
        return;
      }
      ++signed_grants_;
      res.set_content(R"({"token":"ollama-token"})", "application/json");
    });
    server_.Get(R"(/token)", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      token_requests_++;
      std::lock_guard<std::mutex> lock(mu_);
      last_token_query_ = req.get_param_value("scope");
      res.set_content(R"({"token":"good-token","expires_in":300})", "application/json");
    });
    server_.Get(R"(/v2/(.+)/manifests/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      if (!authorized(req, res)) return;
      const std::string key = std::string(req.matches[1]) + ":" + std::string(req.matches[2]);
      if (std::string(req.matches[2]) == huge_manifest_tag) {
        res.set_content_provider(
            size_t{100} << 20, "application/vnd.docker.distribution.manifest.v2+json",
            [](size_t offset, size_t length, httplib::DataSink& sink) {
              std::string chunk(std::min<size_t>(length, 1 << 16), ' ');
              if (offset == 0) chunk[0] = '{';
              return sink.write(chunk.data(), chunk.size());
            });
        return;
      }
      std::lock_guard<std::mutex> lock(mu_);
      auto it = manifests_.find(key);
      if (it == manifests_.end()) {
        res.status = 404;
        res.set_content(R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})", "application/json");
        return;
      }
      res.set_content(it->second, "application/vnd.docker.distribution.manifest.v2+json");
    });
    auto blob = [this](const httplib::Request& req, httplib::Response& res) { serve_blob(req, res); };
    server_.Get(R"(/v2/(.+)/blobs/(.+))", blob);
    server_.Get(R"(/cdn/(.+))", blob);
    port_ = server_.bind_to_any_port(bind_host.c_str());
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~fault_server() {
    server_.stop();
    thread_.join();
  }

  int port() const { return port_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }

  // Adds a blob served as `served` (defaults to the true bytes); returns the true digest.
  std::string add_blob(const std::string& bytes, const std::string* served = nullptr) {
    std::string d = sha256_of(bytes);
    std::lock_guard<std::mutex> lock(mu_);
    blobs_[d] = served ? *served : bytes;
    return d;
  }
  void set_manifest(const std::string& repo, const std::string& tag, const std::string& bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    manifests_[repo + ":" + tag] = bytes;
  }
  std::vector<seen_request> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  int token_requests() const { return token_requests_; }
  std::string last_token_scope() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_token_query_;
  }
  uint64_t blob_bytes_sent() const { return blob_bytes_sent_; }

 private:
  void record(const httplib::Request& req) {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back({req.method, req.path, req.get_header_value("Authorization"), req.get_header_value("Range"),
                         req.get_header_value("Accept")});
  }

  static std::string unbase64(const std::string& in) {
    if (in.empty() || in.size() % 4 != 0) return {};
    std::string out(in.size() / 4 * 3, '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
    if (n < 0) return {};
    out.resize(static_cast<size_t>(n) - (in.ends_with("==") ? 2 : in.ends_with("=") ? 1 : 0));
    return out;
  }

  // Verifies an Ollama signed token request; returns why it is refused, or "".
  std::string check_signed_request(const httplib::Request& req) {
    const std::string auth = req.get_header_value("Authorization");
    const size_t colon = auth.find(':');
    if (colon == std::string::npos) return "no signature";
    const std::string key_b64 = auth.substr(0, colon);
    const std::string blob = unbase64(key_b64), sig = unbase64(auth.substr(colon + 1));
    // Wire format: string "ssh-ed25519", string key(32).
    const std::string type_prefix = std::string("\0\0\0\x0bssh-ed25519\0\0\0\x20", 19);
    if (blob.size() != 51 || blob.compare(0, 19, type_prefix) != 0) return "malformed public key";
    if (sig.size() != 64) return "malformed signature";
    const std::string empty_hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    std::string empty_b64(90, '\0');
    empty_b64.resize(static_cast<size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(empty_b64.data()),
                                                         reinterpret_cast<const unsigned char*>(empty_hex.data()), 64)));
    const std::string signed_text = "GET,http://" + host() + req.target + "," + empty_b64;
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pk(
        EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(blob.data() + 19), 32),
        EVP_PKEY_free);
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (!pk || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pk.get()) != 1 ||
        EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                         reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size()) != 1)
      return "bad signature";
    const long long ts = std::atoll(req.get_param_value("ts").c_str());
    if (std::llabs(ts - static_cast<long long>(std::time(nullptr))) > 300) return "stale timestamp";
    // Ollama sorts the query keys (Go's url.Values.Encode); the signed URL is that text.
    const size_t at_nonce = req.target.find("?nonce="), at_scope = req.target.find("&scope="),
                 at_service = req.target.find("&service="), at_ts = req.target.find("&ts=");
    if (at_nonce == std::string::npos || !(at_nonce < at_scope && at_scope < at_service && at_service < at_ts &&
                                           at_ts != std::string::npos))
      return "query not in Ollama's order";
    const std::string nonce = req.get_param_value("nonce");
    if (nonce.size() < 16) return "no nonce";
    if (req.get_param_value("service") != "ollama-test") return "wrong service";
    if (req.get_param_value("scope") != "repository:ns/m:pull") return "wrong scope";
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!nonces_.insert(nonce).second) return "replayed nonce";
    }
    if (key_b64 != registered_key) return "unknown key";
    return {};
  }

  bool authorized(const httplib::Request& req, httplib::Response& res) {
    if (ollama_auth) {
      if (req.get_header_value("Authorization") == "Bearer ollama-token") return true;
      res.status = 401;
      const std::string realm_host = realm_authority.empty() ? host() : realm_authority;
      res.set_header("WWW-Authenticate", "Bearer realm=\"http://" + realm_host +
                                             "/v2/token\",service=\"ollama-test\",scope=\"repository:ns/m:pull\"");
      res.set_content(R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})", "application/json");
      return false;
    }
    if (!require_token || req.get_header_value("Authorization") == "Bearer good-token") return true;
    res.status = 401;
    res.set_header("WWW-Authenticate", "Bearer realm=\"http://" + host() +
                                           "/token\",service=\"fault\",scope=\"repository:ns/m:pull\"");
    res.set_content(R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})", "application/json");
    return false;
  }

  void serve_blob(const httplib::Request& req, httplib::Response& res) {
    record(req);
    const bool cdn = req.path.rfind("/cdn/", 0) == 0;
    if (!cdn && !authorized(req, res)) return;
    const std::string digest = req.matches[cdn ? 1 : 2];
    std::string data;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = blobs_.find(digest);
      if (it == blobs_.end()) {
        res.status = 404;
        return;
      }
      data = it->second;
    }
    if (!cdn && !redirect_blobs_to.empty()) {
      res.status = 307;
      res.set_header("Location", redirect_blobs_to + "/cdn/" + digest);
      return;
    }
    // Faults hit only real weights, not the tiny config blob fetched first.
    const bool faultable = data.size() >= (64u << 10);
    if (faultable && fail_next_blob_gets.load() > 0 && fail_next_blob_gets.fetch_sub(1) > 0) {
      res.status = 503;  // no body: cpp-httplib would apply the Range to it and answer 416
      return;
    }
    uint64_t cut = faultable ? cut_blob_after.exchange(0) : 0;
    bool stall = faultable && stall_next_blob_gets.load() > 0 && stall_next_blob_gets.fetch_sub(1) > 0;
    auto shared = std::make_shared<std::string>(std::move(data));
    res.set_content_provider(
        shared->size(), "application/octet-stream",
        [this, shared, cut, stall, sent = uint64_t{0}](size_t offset, size_t length, httplib::DataSink& sink) mutable {
          size_t n = std::min<size_t>(length, 64 << 10);
          if (cut > 0 && sent + n > cut) n = static_cast<size_t>(cut - sent);
          if (stall && sent >= 4096) {
            std::this_thread::sleep_for(std::chrono::milliseconds(stall_ms.load()));
            return false;
          }
          if (stall) n = std::min<size_t>(n, 4096);
          if (n > 0 && !sink.write(shared->data() + offset, n)) return false;
          sent += n;
          blob_bytes_sent_ += n;
          if (uint64_t bps = throttle_bytes_per_s.load(); bps > 0 && offset >= throttle_from_offset.load())
            std::this_thread::sleep_for(std::chrono::microseconds(n * 1000000 / bps));
          if (cut > 0 && sent >= cut) return false;  // drop the connection mid-blob
          return true;
        });
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::map<std::string, std::string> blobs_, manifests_;
  std::vector<seen_request> requests_;
  std::atomic<int> token_requests_{0};
  std::string last_token_query_;
  std::string last_refusal_;
  std::set<std::string> nonces_;
  std::atomic<int> signed_grants_{0};
  std::atomic<uint64_t> blob_bytes_sent_{0};
};

}  // namespace r1::registry::testing
