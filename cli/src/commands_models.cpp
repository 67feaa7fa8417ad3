// list, ps, show, rm, cp, stop, pull, push, create, export, import.
#include <fcntl.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>

#include "commands.h"
#include "format.h"
#include "progress.h"
#include <openssl/evp.h>

#include "r1/api/modelfile.h"
#include "r1/api/options.h"
#include "r1/base/raii.h"

namespace r1::cli {

using json = nlohmann::json;

status cmd_list(session& s, const std::string& filter) {
  R1_ASSIGN_OR_RETURN(json tags, s.client->get("/api/tags"));
  std::vector<std::vector<std::string>> rows{{"NAME", "ID", "SIZE", "MODIFIED"}};
  int64_t now = std::time(nullptr);
  for (const auto& m : tags.value("models", json::array())) {
    std::string name = m.value("name", "");
    if (!filter.empty() && name.find(filter) == std::string::npos) continue;
    rows.push_back({name, m.value("digest", "").substr(0, 12), human_bytes(m.value("size", uint64_t{0})),
                    human_ago(now - parse_rfc3339(m.value("modified_at", "")))});
  }
  std::fputs(table(rows).c_str(), s.out);
  return {};
}

// The DEVICE column: where the runner put the model, e.g. "cuda0:0-27+out" or
// "vulkan0:0-13,cpu" (GPU layers by device, then the CPU when it holds any part);
// the runner's backend name when it reported no GPU placement.
namespace {
std::string device_column(const json& m) {
  std::string out;
  for (const auto& d : m.value("devices", json::array())) {
    if (!d.is_object()) continue;
    if (!out.empty()) out += ',';
    out += d.value("backend", std::string("?"));
    out += std::to_string(d.value("index", 0));
    const int64_t first = d.value("first_layer", int64_t{0}), n = d.value("n_layers", int64_t{0});
    if (n > 0) {
      out += ':';
      out += std::to_string(first);
      out += '-';
      out += std::to_string(first + n - 1);
    }
    if (d.value("output", false)) out += "+out";
  }
  if (out.empty()) {
    const std::string backend = m.value("backend", "");
    return backend.empty() ? "-" : backend;
  }
  if (m.value("size_vram", uint64_t{0}) < m.value("size", uint64_t{0})) out += ",cpu";
  return out;
}
}  // namespace

status cmd_ps(session& s, bool verbose) {
  R1_ASSIGN_OR_RETURN(json ps, s.client->get("/api/ps"));
  std::vector<std::vector<std::string>> rows{{"NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"}};
  if (verbose) {
    for (const char* h : {"PID", "PORT", "DEVICE", "WEIGHTS", "KV CACHE", "PARALLEL", "ACTIVE", "QUEUED", "LOADED IN"})
      rows[0].push_back(h);
  }
  int64_t now = std::time(nullptr);
  for (const auto& m : ps.value("models", json::array())) {
    uint64_t size = m.value("size", uint64_t{0}), vram = m.value("size_vram", uint64_t{0});
    std::string proc;
    if (vram == 0) proc = "100% CPU";
    else if (vram >= size) proc = "100% GPU";
    else {
      int gpu = static_cast<int>(100.0 * static_cast<double>(vram) / static_cast<double>(size));
      proc = std::to_string(100 - gpu) + "%/" + std::to_string(gpu) + "% CPU/GPU";
    }
    std::string until = m.value("loading", false) ? "Loading..." : human_until(parse_rfc3339(m.value("expires_at", "")) - now);
    rows.push_back({m.value("name", ""), m.value("digest", "").substr(0, 12), human_bytes(size), proc,
                    std::to_string(m.value("context_length", 0)), until});
    if (verbose) {
      auto port = m.value("port", 0);
      double load_ms = m.value("load_ms", 0.0);
      for (std::string v : {std::to_string(m.value("pid", 0)), port ? std::to_string(port) : std::string("-"),
                            device_column(m),
                            human_bytes(m.value("weights_bytes", uint64_t{0})), human_bytes(m.value("kv_bytes", uint64_t{0})),
                            std::to_string(m.value("parallel", 1)), std::to_string(m.value("active_requests", 0)),
                            std::to_string(m.value("queued_requests", 0)),
                            load_ms > 0 ? human_duration(load_ms / 1000.0) : std::string("-")})
        rows.back().push_back(v);
    }
  }
  std::fputs(table(rows).c_str(), s.out);
  return {};
}

status cmd_show(session& s, const std::string& model, const std::string& part, bool verbose) {
  json req{{"model", model}, {"verbose", verbose}};
  if (part == "plan") req["plan"] = true;
  R1_ASSIGN_OR_RETURN(json info, s.client->post("/api/show", req));
  if (part == "plan") {
    const json plan = info.contains("plan") && info["plan"].is_object() ? info["plan"] : json::object();
    if (plan.contains("error") && plan["error"].is_string()) return resource_exhausted(plan["error"].get<std::string>());
    if (!plan.contains("text") || !plan["text"].is_string()) return internal_error("the daemon sent no plan");
    std::fputs(plan["text"].get<std::string>().c_str(), s.out);
    return {};
  }
  if (!part.empty()) {
    std::string text = info.value(part, "");
    std::fputs(text.c_str(), s.out);
    if (!text.empty() && text.back() != '\n') std::fputs("\n", s.out);
    return {};
  }
  json d = info.value("details", json::object());
  json mi = info.value("model_info", json::object());
  std::string arch = d.value("family", "");
  auto num = [&](const std::string& key) -> std::string {
    auto it = mi.find(key);
    return it != mi.end() && it->is_number() ? std::to_string(it->get<int64_t>()) : "";
  };
  std::vector<std::vector<std::string>> rows{{"    architecture", arch},
                                             {"    parameters", d.value("parameter_size", "")},
                                             {"    context length", num(arch + ".context_length")},
                                             {"    embedding length", num(arch + ".embedding_length")},
                                             {"    quantization", d.value("quantization_level", "")}};
  std::fprintf(s.out, "  Model\n%s\n", table(rows).c_str());
  std::fputs("  Capabilities\n", s.out);
  for (const auto& c : info.value("capabilities", json::array())) std::fprintf(s.out, "    %s\n", c.get<std::string>().c_str());
  std::string params = info.value("parameters", "");
  if (!params.empty()) {
    std::fputs("\n  Parameters\n", s.out);
    size_t start = 0;
    while (start < params.size()) {
      size_t nl = params.find('\n', start);
      if (nl == std::string::npos) nl = params.size();
      std::fprintf(s.out, "    %s\n", params.substr(start, nl - start).c_str());
      start = nl + 1;
    }
  }
  std::string system = info.value("system", "");
  if (!system.empty()) std::fprintf(s.out, "\n  System\n    %s\n", system.c_str());
  std::string license = info.value("license", "");
  if (!license.empty()) std::fprintf(s.out, "\n  License\n    %s\n", license.substr(0, license.find('\n')).c_str());
  return {};
}

status cmd_rm(session& s, const std::vector<std::string>& models) {
  for (const auto& m : models) {
    R1_RETURN_IF_ERROR(s.client->del("/api/delete", json{{"model", m}}).error());
    std::fprintf(s.out, "deleted '%s'\n", m.c_str());
  }
  return {};
}

status cmd_cp(session& s, const std::string& src, const std::string& dst) {
  R1_RETURN_IF_ERROR(s.client->post("/api/copy", json{{"source", src}, {"destination", dst}}).error());
  std::fprintf(s.out, "copied '%s' to '%s'\n", src.c_str(), dst.c_str());
  return {};
}

status cmd_pubkey(session& s) {
  R1_ASSIGN_OR_RETURN(json j, s.client->get("/api/pubkey"));
  auto key = j.find("public_key");
  if (key == j.end() || !key->is_string()) return corrupt("the server's /api/pubkey answer has no public_key");
  std::fprintf(s.out, "%s\n", key->get<std::string>().c_str());
  return {};
}

status cmd_stop(session& s, const std::string& model) {
  R1_ASSIGN_OR_RETURN(json ps, s.client->get("/api/ps"));
  bool loaded = false;
  for (const auto& m : ps.value("models", json::array())) loaded = loaded || m.value("name", "") == model || m.value("name", "") == model + ":latest";
  if (!loaded) return not_found("couldn't find a running model named '" + model + "'");
  return s.client->post("/api/generate", json{{"model", model}, {"keep_alive", 0}}).error();
}

namespace {
status stream_progress(session& s, const std::string& path, const json& body) {
  progress_view view(s.err, s.env.stdout_tty);
  status st = s.client->stream(path, body, [&](const json& e) {
    view.update(e);
    return true;
  });
  view.finish();
  return st;
}
}  // namespace

status cmd_pull(session& s, const std::string& model, bool insecure) {
  return stream_progress(s, "/api/pull", json{{"model", model}, {"insecure", insecure}, {"stream", true}});
}

status cmd_push(session& s, const std::string& model, bool insecure) {
  return stream_progress(s, "/api/push", json{{"model", model}, {"insecure", insecure}, {"stream", true}});
}

namespace {
// sha256 of a file as "sha256:<hex>".
result<std::string> sha256_of_file(const std::string& path) {
  auto fd = open_fd(path, O_RDONLY);
  if (!fd.ok()) return fd.error();
  unique_handle<EVP_MD_CTX, EVP_MD_CTX_free> md(EVP_MD_CTX_new());
  if (!md || EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1) return internal_error("sha256 init failed");
  std::vector<unsigned char> buf(1 << 20);
  for (;;) {
    ssize_t n = ::read(fd->get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_status("read " + path, errno);
    if (n == 0) break;
    EVP_DigestUpdate(md.get(), buf.data(), static_cast<size_t>(n));
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(md.get(), out, &len);
  static const char* hex = "0123456789abcdef";
  std::string d = "sha256:";
  for (unsigned i = 0; i < len; ++i) {
    d += hex[out[i] >> 4];
    d += hex[out[i] & 15];
  }
  return d;
}

// Uploads a local file unless the daemon already has it; returns the digest.
result<std::string> upload_blob(session& s, const std::string& path) {
  std::fprintf(s.err, "gathering model components\n");
  R1_ASSIGN_OR_RETURN(std::string digest, sha256_of_file(path));
  R1_ASSIGN_OR_RETURN(int code, s.client->head("/api/blobs/" + digest));
  if (code == 200) {
    std::fprintf(s.err, "using existing layer %s\n", digest.c_str());
    return digest;
  }
  std::fprintf(s.err, "copying file %s\n", digest.c_str());
  R1_RETURN_IF_ERROR(s.client->post_file("/api/blobs/" + digest, path).error());
  return digest;
}
}  // namespace

status cmd_create(session& s, const std::string& model, const std::string& modelfile_path, const std::string& quantize) {
  auto text = read_file(modelfile_path, size_t{16} << 20);
  if (!text.ok()) return text.error().with_context("reading " + modelfile_path);
  auto mf = api::parse_modelfile(*text);
  if (!mf.ok()) return mf.error().with_context(modelfile_path);
  if (!mf->adapters.empty()) return invalid_argument(modelfile_path + ": ADAPTER is not supported");
  json req{{"model", model}, {"stream", true}};
  if (api::from_is_path(mf->from)) {
    std::filesystem::path p(mf->from);
    if (mf->from.rfind("~/", 0) == 0) p = std::filesystem::path(s.env.home) / mf->from.substr(2);
    if (p.is_relative()) p = std::filesystem::path(modelfile_path).parent_path() / p;
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) return invalid_argument("FROM " + mf->from + ": directories (safetensors) are not supported; use a GGUF file");
    R1_ASSIGN_OR_RETURN(std::string digest, upload_blob(s, p.string()));
    req["files"] = {{p.filename().string(), digest}};
  } else {
    req["from"] = mf->from;
  }
  if (mf->template_text) req["template"] = *mf->template_text;
  if (mf->system) req["system"] = *mf->system;
  if (!mf->license.empty()) req["license"] = mf->license;
  if (!mf->parameters.empty()) {
    // Typed and checked through the same table the daemon uses; repeated stop accumulates.
    auto params = api::parameters_to_json(mf->parameters);
    if (!params.ok()) return params.error().with_context(modelfile_path);
    req["parameters"] = *params;
  }
  if (!mf->messages.empty()) {
    json msgs = json::array();
    for (const auto& m : mf->messages) msgs.push_back({{"role", m.role}, {"content", m.content}});
    req["messages"] = msgs;
  }
  if (!quantize.empty()) req["quantize"] = quantize;
  return stream_progress(s, "/api/create", req);
}

status cmd_export(session& s, const std::vector<std::string>& models, const std::string& path) {
  std::string abs = std::filesystem::absolute(path).string();
  R1_RETURN_IF_ERROR(s.client->post("/api/export", json{{"models", models}, {"path", abs}}).error());
  std::fprintf(s.out, "exported %zu model(s) to %s\n", models.size(), abs.c_str());
  return {};
}

status cmd_import(session& s, const std::string& path) {
  std::string abs = std::filesystem::absolute(path).string();
  R1_ASSIGN_OR_RETURN(json r, s.client->post("/api/import", json{{"path", abs}}));
  for (const auto& m : r.value("models", json::array())) std::fprintf(s.out, "imported %s\n", m.get<std::string>().c_str());
  return {};
}

}  // namespace r1::cli
