#include "r1/daemon/server.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "context.h"
#include "gpu_plan.h"
#include "r1/base/log.h"
#include "r1/daemon/security.h"
#include "rate_limit.h"
#include "request_context.h"
#include "unix_listener.h"

namespace r1::daemon {

struct server::impl {
  daemon_context ctx;
  std::unique_ptr<httplib::Server> http;   // the TCP listener; an SSLServer with tls.cert
  std::unique_ptr<httplib::Server> local;  // plain loopback listener behind the Unix socket
  std::unique_ptr<unix_listener> unix_sock;
  rate_limiter limiter;
  std::thread listener, local_listener;
  int port = 0;
  std::string hostname;
  bool loopback = true;
  std::mutex mu;
  std::condition_variable cv;
  bool stopped = false;

  httplib::Server::HandlerResponse admit(const httplib::Request& req, httplib::Response& res, bool via_local);
  httplib::Server::HandlerResponse authorize(const httplib::Request& req, httplib::Response& res, bool via_local);
  void setup_routes(httplib::Server& srv, bool via_local);
  void log_request(const httplib::Request& req, const httplib::Response& res);
  status start_unix_socket();
  status bind_and_listen();
};

namespace {
bool is_openai_path(const std::string& p) {
  return p.rfind("/v1/", 0) == 0 || p == "/chat/completions" || p == "/completions" || p == "/models" ||
         p.rfind("/models/", 0) == 0 || p == "/embeddings";
}

httplib::Server::HandlerResponse refuse(const httplib::Request& req, httplib::Response& res, int code,
                                        const std::string& msg) {
  if (is_openai_path(req.path)) {
    const char* type = code == 401 ? "authentication_error" : code == 429 ? "rate_limit_error" : "permission_error";
    reply_json(res, json{{"error", {{"message", msg}, {"type", type}, {"param", nullptr}, {"code", nullptr}}}}, code);
  } else {
    reply_json(res, json{{"error", msg}}, code);
  }
  return httplib::Server::HandlerResponse::Handled;
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string method_label(const std::string& m) {
  static const char* known[] = {"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"};
  for (const char* k : known)
    if (m == k) return m;
  return "other";
}
}  // namespace

// API key, scope and rate limit. Requests through the Unix socket are trusted-local.
httplib::Server::HandlerResponse server::impl::authorize(const httplib::Request& req, httplib::Response& res,
                                                         bool via_local) {
  bool trusted = via_local && unix_sock && req.remote_addr == "127.0.0.1" && unix_sock->is_relay_port(req.remote_port);
  auto d = authenticate(ctx.settings, ctx.keys.get(), req.get_header_value("Authorization"),
                        req.get_header_value("x-api-key"), trusted, unix_now());
  if (d.level == access::none) {
    ctx.metrics->auth_failures.inc({d.reason});
    res.set_header("WWW-Authenticate", "Bearer");
    const char* why = d.reason == "missing"   ? "missing API key"
                      : d.reason == "expired" ? "the API key has expired"
                      : d.reason == "revoked" ? "the API key was revoked"
                                              : "invalid API key";
    R1_LOG(info, "auth") << req.method << " " << req.path << ": " << why;
    return refuse(req, res, 401, why);
  }
  if (needs_admin(req.method, req.path) && d.level != access::admin) {
    ctx.metrics->auth_failures.inc({"scope"});
    return refuse(req, res, 403, "this operation needs an admin key");
  }
  if (d.key_id.empty()) return httplib::Server::HandlerResponse::Unhandled;
  const bool admin = d.level == access::admin;
  int per_minute = d.rate_limit > 0 ? d.rate_limit : admin ? ctx.settings.rate_limit_admin : ctx.settings.rate_limit_inference;
  auto rl = limiter.take(d.key_id, per_minute, rate_limiter::clock::now());
  if (!rl.allowed) {
    ctx.metrics->rate_limited.inc({admin ? "admin" : "inference"});
    res.set_header("Retry-After", std::to_string(rl.retry_after_s));
    return refuse(req, res, 429,
                  "rate limit of " + std::to_string(per_minute) + " requests per minute reached for key " + d.key_id +
                      "; retry in " + std::to_string(rl.retry_after_s) + " s");
  }
  return httplib::Server::HandlerResponse::Unhandled;
}

// Request id, Host, Origin, body size, then authorize() before any route runs.
httplib::Server::HandlerResponse server::impl::admit(const httplib::Request& req, httplib::Response& res,
                                                     bool via_local) {
  std::string rid = request_id_for(req.get_header_value("X-Request-Id"));
  begin_request(rid);
  res.set_header("X-Request-Id", rid);
  auto refuse = [&](int code, const std::string& msg) { return r1::daemon::refuse(req, res, code, msg); };
  if (loopback && !host_allowed(req.get_header_value("Host"), hostname)) return refuse(403, "host not allowed");
  std::string origin = req.get_header_value("Origin");
  if (!origin.empty()) {
    if (!origin_allowed(origin, ctx.settings.origins)) return refuse(403, "origin not allowed");
    res.set_header("Access-Control-Allow-Origin", origin);
    res.set_header("Vary", "Origin");
    if (req.method == "OPTIONS") {
      res.set_header("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, HEAD, OPTIONS");
      res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type, User-Agent, Accept, X-Requested-With, x-api-key");
      res.status = 204;
      return httplib::Server::HandlerResponse::Handled;
    }
  }
  // JSON bodies are capped; refuse a declared oversize body before reading it (blobs stream).
  if (req.path.rfind("/api/blobs/", 0) != 0 && req.has_header("Content-Length")) {
    uint64_t len = std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10);
    if (len > ctx.settings.max_request_bytes)
      return refuse(413, "request body is larger than " + std::to_string(ctx.settings.max_request_bytes) + " bytes");
  }
  if (req.path == "/" || req.path == "/api/version") return httplib::Server::HandlerResponse::Unhandled;
  return authorize(req, res, via_local);
}

// Counts the request, logs one access line with its duration, ends its context.
void server::impl::log_request(const httplib::Request& req, const httplib::Response& res) {
  std::string route = route_template(req.path);
  ctx.metrics->http_requests.inc({route, method_label(req.method), std::to_string(res.status)});
  double secs = request_elapsed_s();
  if (secs >= 0) ctx.metrics->http_duration.observe({route}, secs);
  auto lvl = req.path == "/" || req.path == "/metrics" ? log_level::debug : log_level::info;
  if (lvl >= current_log_level()) {
    char ms[32];
    std::snprintf(ms, sizeof ms, "%.1f", secs < 0 ? 0.0 : secs * 1000);
    detail::log_line(lvl, "http") << req.method << " " << req.path << " " << res.status << " " << ms << " ms";
  }
  end_request();
}

void server::impl::setup_routes(httplib::Server& http, bool via_local) {
  size_t threads = static_cast<size_t>(ctx.settings.http_threads);
  if (via_local) threads = std::max<size_t>(4, threads / 4);
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(uint64_t{1} << 40);  // bodies are capped per route (JSON) or streamed (blobs)
  http.set_read_timeout(600, 0);
  http.set_write_timeout(600, 0);
  http.set_keep_alive_max_count(1000);
  http.set_pre_routing_handler([this, via_local](const httplib::Request& req, httplib::Response& res) {
    return admit(req, res, via_local);
  });
  http.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
    R1_LOG(error, "http") << req.method << " " << req.path << ": unexpected exception";
    reply_json(res, json{{"error", "internal error"}}, 500);
  });
  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) { log_request(req, res); });
  http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.status == 404 && res.body.empty()) reply_json(res, json{{"error", "no route for " + req.method + " " + req.path}}, 404);
  });
  http.Options(R"(.*)", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  add_model_routes(http, ctx);
  add_inference_routes(http, ctx);
  add_openai_routes(http, ctx);
  add_anthropic_routes(http, ctx);
  add_transfer_routes(http, ctx);
  add_service_routes(http, ctx);
  add_bench_routes(http, ctx);
}

namespace {

// Scheduler hooks and scrape-time gauges of the daemon's metrics.
void connect_metrics(daemon_context& ctx, scheduler_options* so) {
  daemon_metrics* m = ctx.metrics.get();
  so->on_load = [m](const std::string& model, double secs, bool ok) {
    if (ok) m->load_duration.observe({model}, secs);
    else m->load_failures.inc({model});
  };
  so->on_completion = [m](const std::string& model, const completion_stats& st) {
    if (st.first_token_s >= 0) m->time_to_first_token.observe({model}, st.first_token_s);
    if (!st.finished) return;
    m->prompt_tokens.inc({model}, st.timings.prompt_tokens > 0 ? st.timings.prompt_tokens : st.timings.prompt_n);
    m->generated_tokens.inc({model}, st.timings.predicted_n);
    if (st.timings.predicted_n > 0 && st.timings.predicted_ms > 0)
      m->tokens_per_second.observe({model}, st.timings.predicted_n * 1000.0 / st.timings.predicted_ms);
  };
}

void collect_runner_gauges(daemon_context& ctx) {
  daemon_metrics* m = ctx.metrics.get();
  if (!ctx.sched) return;
  auto loaded = ctx.sched->list();
  m->queue_depth.clear();
  m->in_flight.clear();
  m->runner_memory.clear();
  m->loaded_models.set({}, static_cast<double>(loaded.size()));
  for (const auto& l : loaded) {
    m->queue_depth.set({l.key}, l.queued);
    m->in_flight.set({l.key}, l.active);
    if (l.loading) continue;
    std::string device = l.backend.empty() ? "cpu" : l.backend;
    if (l.size_vram > 0 && device != "cpu") {
      m->runner_memory.set({l.key, device}, static_cast<double>(l.size_vram));
      if (l.size > l.size_vram) m->runner_memory.set({l.key, "cpu"}, static_cast<double>(l.size - l.size_vram));
    } else {
      m->runner_memory.set({l.key, "cpu"}, static_cast<double>(l.size));
    }
  }
}

}  // namespace

server::server(daemon_settings settings, std::unique_ptr<runner_launcher> launcher) : impl_(std::make_unique<impl>()) {
  impl_->ctx.settings = std::move(settings);
  impl_->ctx.launcher = launcher ? std::move(launcher) : make_process_launcher(impl_->ctx.settings.runner_path);
  impl_->ctx.metrics = std::make_unique<daemon_metrics>();
  impl_->ctx.metrics->registry.on_collect([ctx = &impl_->ctx] { collect_runner_gauges(*ctx); });
}

server::~server() { stop(); }

// The Unix socket relays to a second, plain listener on an ephemeral loopback port.
status server::impl::start_unix_socket() {
  local = std::make_unique<httplib::Server>();
  setup_routes(*local, /*via_local=*/true);
  int lport = local->bind_to_any_port("127.0.0.1");
  if (lport <= 0) return io_error("cannot listen on 127.0.0.1 for the unix socket relay");
  local_listener = std::thread([this] { local->listen_after_bind(); });
  auto ul = unix_listener::start(ctx.settings.unix_socket, lport, static_cast<size_t>(ctx.settings.http_threads));
  if (!ul.ok()) return ul.error().with_context("unix socket " + ctx.settings.unix_socket);
  unix_sock = std::move(*ul);
  R1_LOG(info, "daemon") << "listening on unix socket " << ctx.settings.unix_socket;
  return {};
}

status server::start() {
  auto& ctx = impl_->ctx;
  const auto& s = ctx.settings;
  impl_->loopback = is_loopback_address(s.host);
  auto keys = api_key_store::open(s.keys_file);
  if (!keys.ok()) return keys.error();
  ctx.keys = std::move(*keys);
  bool keyed = s.auth_enabled() || s.require_keys || ctx.keys->has_active_keys(unix_now());
  if (!impl_->loopback && !keyed)
    return invalid_argument("refusing to listen on " + s.host +
                            " without API keys: create one (r1 keys create), set R1_API_KEYS, or listen on 127.0.0.1");
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) == 0) impl_->hostname = host;
  auto store = registry::model_store::open(s.models_dir);
  if (!store.ok()) return store.error().with_context("model store " + s.models_dir);
  ctx.store = std::move(*store);
  if (!s.noprune) {
    auto pr = ctx.store->prune(3600);
    if (pr.ok() && !pr->removed_blobs.empty()) {
      R1_LOG(info, "daemon") << "pruned " << pr->removed_blobs.size() << " unused blobs (" << (pr->bytes_freed >> 20) << " MiB)";
    }
  }
  ctx.catalog = std::make_unique<model_catalog>(*ctx.store);
  registry::client_options ro;
  ro.insecure_registries = s.insecure_registries;
  ro.identity_key_paths = s.identity_key_paths;
  ctx.registry = std::make_unique<registry::registry_client>(*ctx.store, ro);
  scheduler_options so;
  so.max_loaded = s.max_loaded_models;
  so.max_queue = s.max_queue;
  so.memory_budget = s.memory_budget_bytes;
  so.kv_type = s.kv_cache_type;
  so.no_gpu = s.no_gpu;
  so.gpu_memory_limit = s.gpu_memory_limit;
  so.gpu = make_gpu_hook(daemon_plan_settings(s));
  so.load_timeout = std::chrono::milliseconds(s.load_timeout_ms);
  so.default_keep_alive_ms = s.keep_alive_ms;
  connect_metrics(ctx, &so);
  ctx.sched = std::make_unique<scheduler>(so, *ctx.launcher);
  return impl_->bind_and_listen();
}
status server::impl::bind_and_listen() {
  const auto& s = ctx.settings;
  if (!s.tls_cert.empty()) {
    auto ssl = std::make_unique<httplib::SSLServer>(s.tls_cert.c_str(), s.tls_key.c_str());
    if (!ssl->is_valid())
      return invalid_argument("cannot use TLS certificate " + s.tls_cert + " with key " + s.tls_key +
                              ": unreadable, not PEM, or the key does not match");
    http = std::move(ssl);
  } else {
    http = std::make_unique<httplib::Server>();
  }
  setup_routes(*http, /*via_local=*/false);
  if (s.port == 0) {
    port = http->bind_to_any_port(s.host);
    if (port <= 0) return io_error("cannot listen on " + s.host + ":0");
  } else {
    if (!http->bind_to_port(s.host, s.port))
      return io_error("cannot listen on " + s.host + ":" + std::to_string(s.port) + " (is another daemon running?)");
    port = s.port;
  }
  // The socket first: it sets the umask for a moment, before any request can create files.
  if (!s.unix_socket.empty()) R1_RETURN_IF_ERROR(start_unix_socket());
  listener = std::thread([this] { http->listen_after_bind(); });
  R1_LOG(info, "daemon") << "listening on " << (s.tls_cert.empty() ? "http://" : "https://") << s.host << ":" << port
                         << " (models in " << s.models_dir << ")";
  return {};
}

int server::port() const { return impl_->port; }

void server::wait() {
  std::unique_lock<std::mutex> lk(impl_->mu);
  impl_->cv.wait(lk, [&] { return impl_->stopped; });
}

void server::stop() {
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
  }
  if (impl_->ctx.sched) impl_->ctx.sched->shutdown();  // first: ends streams that wait on runners
  impl_->unix_sock.reset();  // ends relayed connections first
  if (impl_->local) impl_->local->stop();
  if (impl_->local_listener.joinable()) impl_->local_listener.join();
  if (impl_->http) impl_->http->stop();
  if (impl_->listener.joinable()) impl_->listener.join();
  impl_->cv.notify_all();
  R1_LOG(info, "daemon") << "stopped";
}

}  // namespace r1::daemon
