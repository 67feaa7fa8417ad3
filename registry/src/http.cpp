#include "http.h"

#include <curl/curl.h>

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <chrono>
#include <mutex>
#include <thread>

#include "r1/base/raii.h"

namespace r1::registry::detail {

namespace {

using curl_handle = unique_handle<CURL, curl_easy_cleanup>;
using slist_handle = unique_handle<curl_slist, curl_slist_free_all>;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct transfer {
  const http_request* req;
  http_response* resp;
  CURL* curl;
  bool headers_delivered = false;
  bool body_too_large = false;
  bool stalled = false;
  uint64_t upload_pos = 0;
  curl_off_t last_dl = -1, last_ul = -1;
  std::chrono::steady_clock::time_point last_activity = std::chrono::steady_clock::now();
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<transfer*>(user);
  std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (after 1xx): start over
    t->resp->headers.clear();
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string key = line.substr(0, colon);
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.pop_back();
    if (t->resp->headers.size() < 256) t->resp->headers.emplace(std::move(key), std::move(value));
  }
  return size * n;
}

bool deliver_headers(transfer* t) {
  if (t->headers_delivered) return true;
  t->headers_delivered = true;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->resp->status);
  if (t->resp->status >= 200 && t->resp->status < 300 && t->req->on_headers) {
    if (!t->req->on_headers(t->resp->status, t->resp->headers)) {
      t->resp->sink_aborted = true;
      return false;
    }
  }
  return true;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<transfer*>(user);
  const size_t len = size * n;
  if (!deliver_headers(t)) return 0;
  const bool ok_status = t->resp->status >= 200 && t->resp->status < 300;
  if (ok_status && t->req->on_data) {
    if (t->req->limiter) t->req->limiter->acquire(len);
    if (!t->req->on_data(data, len)) {
      t->resp->sink_aborted = true;
      return 0;
    }
    return len;
  }
  if (t->resp->body.size() + len > t->req->max_body) {
    t->body_too_large = true;
    return 0;
  }
  t->resp->body.append(data, len);
  return len;
}

size_t on_read(char* buf, size_t size, size_t n, void* user) {
  auto* t = static_cast<transfer*>(user);
  const http_request& r = *t->req;
  size_t want = size * n;
  if (r.body_fd >= 0) {
    uint64_t left = r.body_length - t->upload_pos;
    want = static_cast<size_t>(std::min<uint64_t>(want, left));
    if (want == 0) return 0;
    ssize_t got = ::pread(r.body_fd, buf, want, static_cast<off_t>(r.body_offset + t->upload_pos));
    if (got <= 0) return CURL_READFUNC_ABORT;
    if (r.limiter) r.limiter->acquire(static_cast<uint64_t>(got));
    t->upload_pos += static_cast<uint64_t>(got);
    return static_cast<size_t>(got);
  }
  uint64_t left = r.body.size() - t->upload_pos;
  want = static_cast<size_t>(std::min<uint64_t>(want, left));
  std::memcpy(buf, r.body.data() + t->upload_pos, want);
  t->upload_pos += want;
  return want;
}

// Cancellation, and the stall detector: no byte in either direction for
// stall_timeout_ms aborts the transfer (curl's own low-speed check averages
// over several seconds and reacts too late to a connection that went quiet).
int on_progress(void* user, curl_off_t, curl_off_t dlnow, curl_off_t, curl_off_t ulnow) {
  auto* t = static_cast<transfer*>(user);
  if (t->req->cancel && t->req->cancel->load(std::memory_order_relaxed)) return 1;
  const auto now = std::chrono::steady_clock::now();
  if (dlnow != t->last_dl || ulnow != t->last_ul) {
    t->last_dl = dlnow;
    t->last_ul = ulnow;
    t->last_activity = now;
    return 0;
  }
  if (t->req->stall_timeout_ms > 0 &&
      now - t->last_activity > std::chrono::milliseconds(t->req->stall_timeout_ms)) {
    t->stalled = true;
    return 1;
  }
  return 0;
}

}  // namespace

void rate_limiter::acquire(uint64_t bytes) {
  if (rate_ == 0 || bytes == 0) return;
  const int64_t cost = static_cast<int64_t>(bytes * 1'000'000'000ull / rate_);
  const int64_t now = now_ns();
  int64_t start = next_free_ns_.load();
  int64_t mine;
  do {
    // Allow at most ~100 ms of saved-up budget so a burst stays small.
    mine = std::max(start, now - 100'000'000);
  } while (!next_free_ns_.compare_exchange_weak(start, mine + cost));
  const int64_t wait = mine + cost - now;
  if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
}

std::string http_response::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

http_response http_perform(const http_request& req) {
  global_init();
  http_response resp;
  curl_handle curl(curl_easy_init());
  if (!curl) {
    resp.transport = resource_exhausted("curl_easy_init failed");
    return resp;
  }
  transfer t{&req, &resp, curl.get()};
  slist_handle headers;
  std::vector<std::string> all_headers = req.headers;
  all_headers.push_back("Expect:");  // no 100-continue round trip
  for (const auto& h : all_headers) {
    curl_slist* next = curl_slist_append(headers.get(), h.c_str());
    if (!next) {
      resp.transport = resource_exhausted("curl_slist_append failed");
      return resp;
    }
    (void)headers.release();
    headers.reset(next);
  }
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 512L * 1024L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(req.connect_timeout_ms));
  if (!req.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, req.ca_file.c_str());
  const bool has_body = req.body_fd >= 0 || !req.body.empty() || req.method == "PUT" || req.method == "POST" ||
                        req.method == "PATCH";
  if (req.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (has_body) {
    const uint64_t len = req.body_fd >= 0 ? req.body_length : req.body.size();
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(len));
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &t);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  } else if (req.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
    if (!deliver_headers(&t)) resp.transport = io_error(req.method + " " + req.url.substr(0, req.url.find('?')) + ": response refused");
    return resp;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  // No query string in messages: signed CDN URLs carry credentials there.
  const std::string what = req.method + " " + req.url.substr(0, req.url.find('?')) + ": ";
  if (rc == CURLE_ABORTED_BY_CALLBACK && t.stalled) {
    resp.stalled = true;
    resp.transport = unavailable(what + "no data for " + std::to_string(req.stall_timeout_ms) + " ms (stalled)");
  } else if (rc == CURLE_ABORTED_BY_CALLBACK) {
    resp.transport = cancelled(what + "cancelled");
  } else if (t.body_too_large) {
    resp.transport = resource_exhausted(what + "response body larger than " + std::to_string(req.max_body) + " bytes");
  } else if (resp.sink_aborted) {
    resp.transport = io_error(what + "transfer stopped by the receiver");
  } else {
    resp.transport = unavailable(what + curl_easy_strerror(rc));
  }
  return resp;
}

bool parse_url(const std::string& url, url_parts* out) {
  size_t p = url.find("://");
  if (p == std::string::npos) return false;
  out->scheme = url.substr(0, p);
  std::transform(out->scheme.begin(), out->scheme.end(), out->scheme.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  size_t start = p + 3;
  size_t end = url.find_first_of("/?#", start);
  out->authority = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  std::transform(out->authority.begin(), out->authority.end(), out->authority.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (out->authority.find('@') != std::string::npos) return false;  // no userinfo in URLs
  out->path_query = end == std::string::npos ? "/" : url.substr(end);
  return !out->authority.empty() && (out->scheme == "http" || out->scheme == "https");
}

std::string resolve_url(const std::string& base, const std::string& location) {
  if (location.find("://") != std::string::npos) return location;
  url_parts b;
  if (!parse_url(base, &b)) return location;
  if (location.rfind("//", 0) == 0) return b.scheme + ":" + location;
  if (!location.empty() && location[0] == '/') return b.scheme + "://" + b.authority + location;
  std::string dir = b.path_query.substr(0, b.path_query.find('?'));
  dir = dir.substr(0, dir.rfind('/') + 1);
  return b.scheme + "://" + b.authority + dir + location;
}

std::string url_escape(const std::string& s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

}  // namespace r1::registry::detail
