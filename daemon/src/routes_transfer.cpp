// Routes that move model data: /api/pull, /api/push, /api/create and
// HEAD/POST /api/blobs/:digest. Progress streams as NDJSON lines.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <map>
#include <mutex>
#include <set>

#include "inference.h"
#include "quantize_child.h"
#include "r1/api/modelfile.h"
#include "r1/api/options.h"
#include "r1/base/log.h"
#include "r1/base/raii.h"
#include "r1/registry/bundle.h"
#include "r1/registry/digest.h"
#include "r1/registry/identity_key.h"

namespace r1::daemon {

namespace {

namespace mt = registry::media_type;
using emit_fn = std::function<bool(const json&)>;

// Runs `work` with an emitter: streaming writes each line; otherwise only the
// final {"status":"success"} or the error is returned as one object.
void progress_reply(bool stream, httplib::Response& res, std::function<status(const emit_fn&)> work) {
  if (!stream) {
    status st = work([](const json&) { return true; });
    if (!st.ok()) return reply_error(res, st);
    return reply_json(res, json{{"status", "success"}});
  }
  res.set_chunked_content_provider("application/x-ndjson", [work](size_t, httplib::DataSink& sink) {
    std::mutex mu;  // progress may come from pulling threads
    bool open = true;
    emit_fn emit = [&](const json& j) {
      std::lock_guard<std::mutex> lk(mu);
      if (!open) return false;
      std::string line = api::dump(j) + "\n";
      open = sink.write(line.data(), line.size());
      return open;
    };
    status st = work(emit);
    if (!st.ok()) emit(json{{"error", st.message()}});
    sink.done();
    return true;
  });
}

json progress_json(const registry::progress_event& e) {
  json j{{"status", e.status}};
  if (!e.digest.empty()) {
    j["digest"] = e.digest;
    j["total"] = e.total;
    if (e.completed) j["completed"] = e.completed;
  }
  return j;
}

registry::client_options registry_options(const daemon_context& ctx, const registry::model_name& name, bool insecure) {
  registry::client_options o;
  o.insecure_registries = ctx.settings.insecure_registries;
  o.identity_key_paths = ctx.settings.identity_key_paths;
  if (insecure) o.insecure_registries.push_back(name.host);
  return o;
}

// registries.allow applies to the registry host named in the model reference;
// redirects the registry answers with (blob CDNs) are followed as before.
status check_registry_allowed(const daemon_context& ctx, const registry::model_name& name) {
  const auto& allow = ctx.settings.registries_allow;
  if (allow.empty()) return {};
  auto lower = [](std::string v) {
    for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return v;
  };
  std::string host = lower(name.host);
  for (const auto& a : allow)
    if (lower(a) == host) return {};
  return permission_denied("registry " + name.host + " is not in this server's registries.allow list");
}

// Counts downloaded bytes from pull progress: each blob's `completed` as it
// grows. Blobs already in the store when the pull began (listed then, not
// guessed from file times, which have one-second resolution) add nothing.
class pull_byte_counter {
 public:
  explicit pull_byte_counter(daemon_context& ctx) : ctx_(ctx) {
    auto blobs = ctx_.store->blobs().list();
    if (blobs.ok())
      for (const auto& b : *blobs) present_at_start_.insert(b.digest);
  }
  void on(const registry::progress_event& e) {
    if (e.digest.empty()) return;
    auto it = seen_.find(e.digest);
    if (it == seen_.end()) it = seen_.emplace(e.digest, present_at_start_.count(e.digest) ? e.completed : 0).first;
    if (e.completed > it->second) {
      ctx_.metrics->pull_bytes.inc({}, static_cast<double>(e.completed - it->second));
      it->second = e.completed;
    }
  }

 private:
  daemon_context& ctx_;
  std::set<std::string> present_at_start_;
  std::map<std::string, uint64_t> seen_;
};

void handle_transfer(daemon_context& ctx, const json& body, bool push, httplib::Response& res) {
  auto q = api::parse_model_request(body, push ? "push" : "pull");
  if (!q.ok()) return reply_error(res, q.error());
  auto name = registry::model_name::parse(q->model);
  if (!name.ok()) return reply_error(res, name.error());
  if (status st = check_registry_allowed(ctx, *name); !st.ok()) {
    R1_LOG(warn, "registry") << (push ? "push to " : "pull from ") << name->host << " refused: not in registries.allow";
    return reply_error(res, st);
  }
  if (push && !ctx.store->has_model(*name)) return reply_error(res, not_found("model '" + q->model + "' not found"));
  auto n = *name;
  bool insecure = q->insecure;
  progress_reply(q->stream, res, [&ctx, n, push, insecure](const emit_fn& emit) -> status {
    std::atomic<bool> cancel{false};
    pull_byte_counter bytes(ctx);
    auto progress = [&](const registry::progress_event& e) {
      if (!push) bytes.on(e);
      if (!emit(progress_json(e))) cancel = true;
    };
    std::unique_ptr<registry::registry_client> own;
    registry::registry_client* rc = ctx.registry.get();
    if (insecure) {
      own = std::make_unique<registry::registry_client>(*ctx.store, registry_options(ctx, n, true));
      rc = own.get();
    }
    if (push) {
      R1_RETURN_IF_ERROR(rc->push(n, progress, &cancel));
    } else {
      auto m = rc->pull(n, progress, &cancel);
      ctx.metrics->pulls.inc({m.ok() ? "success" : "failure"});
      if (!m.ok()) {
        ctx.metrics->pull_failures.inc({});
        return m.error();
      }
    }
    emit(json{{"status", "success"}});
    return {};
  });
}

// Rough check that a model was built for R1's chat format.
bool is_r1_template(const std::string& t) {
  return t.find("<｜Assistant｜>") != std::string::npos && t.find("<think>") != std::string::npos;
}

json r1_default_params() {
  return {{"stop", {"<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>"}},
          {"temperature", 0.6},
          {"top_p", 0.95}};
}

struct create_plan {
  std::vector<registry::layer_source> model_layers;
  std::optional<std::string> template_text, system;
  std::vector<std::string> license;
  json params = json::object();
  std::vector<api::message> messages;
  std::shared_ptr<const gguf_summary> gguf;
};

status plan_from_files(daemon_context& ctx, const api::create_request& q, create_plan* p, const emit_fn& emit) {
  emit(json{{"status", "parsing GGUF"}});
  for (const auto& [file, digest] : q.files) {
    if (!ctx.store->blobs().has(digest))
      return invalid_argument("blob " + digest + " for " + file + " is not on the server; upload it with POST /api/blobs/" + digest);
    p->model_layers.push_back({std::string(mt::model), "", digest});
  }
  R1_ASSIGN_OR_RETURN(std::string first, ctx.store->blobs().path_for(q.files.begin()->second));
  auto s = model_catalog::read_gguf(first, 0);
  if (!s.ok()) return invalid_argument("the uploaded file is not a usable GGUF model: " + s.error().message());
  p->gguf = std::make_shared<gguf_summary>(std::move(*s));
  if (is_r1_template(p->gguf->chat_template)) p->params = r1_default_params();
  return {};
}

status plan_from_model(daemon_context& ctx, const api::create_request& q, create_plan* p, const emit_fn& emit) {
  if (api::from_is_path(q.from))
    return invalid_argument("FROM " + q.from + " is a file path: upload it first (r1 create does this) and pass 'files'");
  auto src = resolve_model(ctx, q.from);
  if (!src.ok()) return src.error();
  auto man = ctx.store->read_manifest(src->name);
  if (!man.ok()) return man.error();
  for (const auto& l : man->layers_of(mt::model)) {
    emit(json{{"status", "using existing layer " + l.digest}});
    p->model_layers.push_back({std::string(mt::model), "", l.digest});
  }
  p->template_text = src->template_text;
  p->system = src->system;
  p->license = src->license;
  p->params = src->params.is_object() ? src->params : json::object();
  p->messages = src->messages;
  p->gguf = src->gguf;
  return {};
}

status run_create(daemon_context& ctx, const api::create_request& q, const registry::model_name& name, const emit_fn& emit) {
  create_plan p;
  R1_RETURN_IF_ERROR(q.files.empty() ? plan_from_model(ctx, q, &p, emit) : plan_from_files(ctx, q, &p, emit));
  if (!q.quantize.empty()) R1_RETURN_IF_ERROR(quantize_for_create(ctx, q.quantize, &p.model_layers, &p.gguf, emit));
  if (q.template_text) p.template_text = q.template_text;
  if (q.system) p.system = q.system;
  if (!q.license.empty()) p.license = q.license;
  if (!q.messages.empty()) p.messages = q.messages;
  if (q.parameters.is_object() && !q.parameters.empty()) {
    api::model_options check;
    std::vector<std::string> unknown;
    R1_RETURN_IF_ERROR(api::apply_options(q.parameters, &check, &unknown));
    if (!unknown.empty()) return invalid_argument("unknown parameter '" + unknown.front() + "'");
    for (const auto& [k, v] : q.parameters.items()) p.params[k] = v;
  }
  std::vector<registry::layer_source> layers = p.model_layers;
  auto text_layer = [&](std::string_view type, const std::string& bytes) {
    emit(json{{"status", "creating new layer " + registry::sha256_of(bytes)}});
    layers.push_back({std::string(type), bytes, ""});
  };
  if (p.template_text) text_layer(mt::template_, *p.template_text);
  if (p.system) text_layer(mt::system, *p.system);
  if (!p.params.empty()) text_layer(mt::params, api::dump(p.params));
  if (!p.messages.empty()) {
    json msgs = json::array();
    for (const auto& m : p.messages) msgs.push_back({{"role", m.role}, {"content", m.content}});
    text_layer(mt::messages, api::dump(msgs));
  }
  for (const auto& l : p.license) text_layer(mt::license, l);
  json cfg{{"model_format", "gguf"}};
  if (p.gguf) {
    cfg["model_family"] = p.gguf->arch;
    cfg["model_families"] = json::array({p.gguf->arch});
    cfg["model_type"] = parameter_size_text(p.gguf->parameter_count);
    cfg["file_type"] = p.gguf->file_type;
  }
  emit(json{{"status", "writing manifest"}});
  auto man = ctx.store->create_model(name, layers, api::dump(cfg));
  if (!man.ok()) return man.error();
  emit(json{{"status", "success"}});
  return {};
}

void handle_create(daemon_context& ctx, const json& body, httplib::Response& res) {
  auto q = api::parse_create_request(body);
  if (!q.ok()) return reply_error(res, q.error());
  auto name = registry::model_name::parse(q->model);
  if (!name.ok()) return reply_error(res, name.error());
  auto req = *q;
  auto n = *name;
  progress_reply(q->stream, res, [&ctx, req, n](const emit_fn& emit) { return run_create(ctx, req, n, emit); });
}

void handle_blob_upload(daemon_context& ctx, const httplib::Request& req, httplib::Response& res,
                        const httplib::ContentReader& reader) {
  std::string digest = req.matches[1].str();
  auto valid = registry::validate_digest(digest);
  if (!valid.ok()) return reply_error(res, valid.error());
  if (ctx.store->blobs().has(digest)) {
    reader([](const char*, size_t) { return true; });
    res.status = 200;
    return;
  }
  std::string tmp = ctx.store->blobs().temp_path("upload");
  auto fd = open_fd(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (!fd.ok()) return reply_error(res, fd.error());
  registry::sha256_hasher hasher;
  status write_error;
  reader([&](const char* data, size_t len) {
    hasher.update(data, len);
    write_error = write_all(fd->get(), data, len, tmp);
    return write_error.ok();
  });
  fd->reset();
  std::string got = hasher.finish();
  if (!write_error.ok() || got != digest) {
    ::unlink(tmp.c_str());
    if (!write_error.ok()) return reply_error(res, write_error);
    return reply_error(res, invalid_argument("digest mismatch: expected " + digest + ", got " + got));
  }
  status st = ctx.store->blobs().commit_verified(tmp, digest);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return reply_error(res, st);
  }
  res.status = 201;
}

}  // namespace

void add_transfer_routes(httplib::Server& srv, daemon_context& ctx) {
  post_json(srv, "/api/pull", ctx, false, [&ctx](const httplib::Request&, httplib::Response& res, const json& b) {
    handle_transfer(ctx, b, false, res);
  });
  post_json(srv, "/api/push", ctx, false, [&ctx](const httplib::Request&, httplib::Response& res, const json& b) {
    handle_transfer(ctx, b, true, res);
  });
  post_json(srv, "/api/create", ctx, false,
            [&ctx](const httplib::Request&, httplib::Response& res, const json& b) { handle_create(ctx, b, res); });
  srv.Post(R"(/api/blobs/(.+))", [&ctx](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& r) {
    handle_blob_upload(ctx, req, res, r);
  });
  auto head_blob = [&ctx](const httplib::Request& req, httplib::Response& res) {
    std::string digest = req.matches[1].str();
    auto valid = registry::validate_digest(digest);
    if (!valid.ok()) return reply_error(res, valid.error());
    res.status = ctx.store->blobs().has(digest) ? 200 : 404;
  };
  srv.Get(R"(/api/blobs/(.+))", head_blob);  // httplib answers HEAD through the GET handler
  // The public half of the identity key for Ollama's signed registry auth (the
  // line to register at ollama.com); the key is created on first need.
  srv.Get("/api/pubkey", [&ctx](const httplib::Request&, httplib::Response& res) {
    auto key = registry::identity_key::load_or_create(ctx.settings.identity_key_paths);
    if (!key.ok()) return reply_error(res, key.error());
    reply_json(res, json{{"public_key", key->public_key_line()}});
  });
  // Bundles for machines without network. Paths are on the daemon's machine, absolute.
  post_json(srv, "/api/export", ctx, false, [&ctx](const httplib::Request&, httplib::Response& res, const json& b) {
    if (!b.contains("models") || !b["models"].is_array() || b["models"].empty() || !b.contains("path") ||
        !b["path"].is_string() || b["path"].get<std::string>().rfind('/', 0) != 0)
      return reply_error(res, invalid_argument("export request needs 'models' (names) and an absolute 'path'"));
    std::vector<registry::model_name> names;
    for (const auto& m : b["models"]) {
      if (!m.is_string()) return reply_error(res, invalid_argument("export request: 'models' must be names"));
      auto n = registry::model_name::parse(m.get<std::string>());
      if (!n.ok()) return reply_error(res, n.error());
      if (!ctx.store->has_model(*n)) return reply_error(res, not_found("model '" + m.get<std::string>() + "' not found"));
      names.push_back(*n);
    }
    registry::export_options eo;
    if (b["path"].get<std::string>().ends_with(".zst")) eo.compression = registry::bundle_compression::zstd;
    status st = registry::export_models(*ctx.store, names, b["path"].get<std::string>(), eo);
    if (!st.ok()) return reply_error(res, st);
    reply_json(res, json{{"status", "success"}});
  });
  post_json(srv, "/api/import", ctx, false, [&ctx](const httplib::Request&, httplib::Response& res, const json& b) {
    if (!b.contains("path") || !b["path"].is_string() || b["path"].get<std::string>().rfind('/', 0) != 0)
      return reply_error(res, invalid_argument("import request needs an absolute 'path'"));
    auto names = registry::import_models(*ctx.store, b["path"].get<std::string>());
    if (!names.ok()) return reply_error(res, names.error());
    json out = json::array();
    for (const auto& n : *names) out.push_back(n.display());
    reply_json(res, json{{"status", "success"}, {"models", out}});
  });
}

}  // namespace r1::daemon
