// A small misbehaving registry for the pull tests: serves manifests and blobs
// like an OCI registry (with Range support) and can be told to cut connections,
// stall, fail with 5xx, lie about content, demand a bearer token, or redirect
// blob downloads to another server. Records every request it sees.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
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

  explicit fault_server(const std::string& bind_host = "127.0.0.1") {
    server_.Get(R"(/v2/?)", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      if (!authorized(req, res)) return;
      res.set_content("{}", "application/json");
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

  bool authorized(const httplib::Request& req, httplib::Response& res) {
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
  std::atomic<uint64_t> blob_bytes_sent_{0};
};

}  // namespace r1::registry::testing
