#include "r1/daemon/server.h"

#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "context.h"
#include "r1/base/log.h"
#include "r1/daemon/security.h"

namespace r1::daemon {

struct server::impl {
  daemon_context ctx;
  httplib::Server http;
  std::thread listener;
  int port = 0;
  std::string hostname;
  bool loopback = true;
  std::mutex mu;
  std::condition_variable cv;
  bool stopped = false;

  httplib::Server::HandlerResponse admit(const httplib::Request& req, httplib::Response& res);
  void setup_routes();
};

namespace {
bool is_openai_path(const std::string& p) {
  return p.rfind("/v1/", 0) == 0 || p == "/chat/completions" || p == "/completions" || p == "/models" ||
         p.rfind("/models/", 0) == 0 || p == "/embeddings";
}
}  // namespace

// Host, Origin and API-key checks before any route runs.
httplib::Server::HandlerResponse server::impl::admit(const httplib::Request& req, httplib::Response& res) {
  auto refuse = [&](int code, const std::string& msg) {
    if (is_openai_path(req.path)) {
      const char* type = code == 401 ? "authentication_error" : "permission_error";
      reply_json(res, json{{"error", {{"message", msg}, {"type", type}, {"param", nullptr}, {"code", nullptr}}}}, code);
    } else {
      reply_json(res, json{{"error", msg}}, code);
    }
    return httplib::Server::HandlerResponse::Handled;
  };
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
  access a = access_of(ctx.settings, req.get_header_value("Authorization"), req.get_header_value("x-api-key"));
  if (a == access::none) {
    res.set_header("WWW-Authenticate", "Bearer");
    return refuse(401, "missing or invalid API key");
  }
  if (needs_admin(req.method, req.path) && a != access::admin) return refuse(403, "this operation needs an admin key");
  return httplib::Server::HandlerResponse::Unhandled;
}

void server::impl::setup_routes() {
  size_t threads = static_cast<size_t>(ctx.settings.http_threads);
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(uint64_t{1} << 40);  // bodies are capped per route (JSON) or streamed (blobs)
  http.set_read_timeout(600, 0);
  http.set_write_timeout(600, 0);
  http.set_keep_alive_max_count(1000);
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) { return admit(req, res); });
  http.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
    R1_LOG(error, "http") << req.method << " " << req.path << ": unexpected exception";
    reply_json(res, json{{"error", "internal error"}}, 500);
  });
  http.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    R1_LOG(debug, "http") << req.method << " " << req.path << " " << res.status;
  });
  http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.status == 404 && res.body.empty()) reply_json(res, json{{"error", "no route for " + req.method + " " + req.path}}, 404);
  });
  http.Options(R"(.*)", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  add_model_routes(http, ctx);
  add_inference_routes(http, ctx);
  add_openai_routes(http, ctx);
  add_transfer_routes(http, ctx);
}

server::server(daemon_settings settings, std::unique_ptr<runner_launcher> launcher) : impl_(std::make_unique<impl>()) {
  impl_->ctx.settings = std::move(settings);
  impl_->ctx.launcher = launcher ? std::move(launcher) : make_process_launcher(impl_->ctx.settings.runner_path);
}

server::~server() { stop(); }

status server::start() {
  auto& ctx = impl_->ctx;
  const auto& s = ctx.settings;
  impl_->loopback = is_loopback_address(s.host);
  if (!impl_->loopback && !s.auth_enabled())
    return invalid_argument("refusing to listen on " + s.host + " without API keys: set R1_API_KEYS (or listen on 127.0.0.1)");
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
  so.load_timeout = std::chrono::milliseconds(s.load_timeout_ms);
  so.default_keep_alive_ms = s.keep_alive_ms;
  ctx.sched = std::make_unique<scheduler>(so, *ctx.launcher);
  impl_->setup_routes();
  if (s.port == 0) {
    impl_->port = impl_->http.bind_to_any_port(s.host);
    if (impl_->port <= 0) return io_error("cannot listen on " + s.host + ":0");
  } else {
    if (!impl_->http.bind_to_port(s.host, s.port))
      return io_error("cannot listen on " + s.host + ":" + std::to_string(s.port) + " (is another daemon running?)");
    impl_->port = s.port;
  }
  impl_->listener = std::thread([this] { impl_->http.listen_after_bind(); });
  R1_LOG(info, "daemon") << "listening on " << s.host << ":" << impl_->port << " (models in " << s.models_dir << ")";
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
  impl_->http.stop();
  if (impl_->listener.joinable()) impl_->listener.join();
  impl_->cv.notify_all();
  R1_LOG(info, "daemon") << "stopped";
}

}  // namespace r1::daemon
