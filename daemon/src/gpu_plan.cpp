#include "gpu_plan.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#include "r1/base/raii.h"
#include "r1/gguf/file.h"
#include "r1/gguf/model_params.h"
#include "r1/planner/memory_plan.h"

extern char** environ;

namespace r1::daemon {

namespace {

using json = nlohmann::json;

// stdout of `runner --list-devices` (stderr discarded); unavailable when it cannot run or fails.
result<std::string> list_devices_output(const std::string& runner) {
  int fds[2];
  if (::pipe(fds) != 0) return errno_status("pipe", errno);
  unique_fd rd(fds[0]), wr(fds[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), 1);
  posix_spawn_file_actions_addclose(&fa, rd.get());
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  std::string exe = runner, flag = "--list-devices";
  char* argv[] = {exe.data(), flag.data(), nullptr};
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, exe.c_str(), &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  wr.reset();
  if (rc != 0) return unavailable("cannot run " + runner + " --list-devices: " + std::strerror(rc));
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(rd.get(), buf, sizeof buf);
    if (n > 0) out.append(buf, static_cast<size_t>(n));
    else if (n == 0 || errno != EINTR) break;
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return unavailable(runner + " --list-devices failed");
  return out;
}

// The GPUs a runner with these settings would plan with (see gpu_plan.h).
std::vector<planner::device_budget> budgets(const json& listing, const plan_settings& s) {
  std::vector<planner::device_budget> out;
  if (s.no_gpu || s.num_gpu == 0 || !listing.contains("devices") || !listing["devices"].is_array()) return out;
  std::string backend;
  for (const json& d : listing["devices"]) {
    if (!d.is_object() || !d.contains("backend") || !d["backend"].is_string()) continue;
    const std::string b = d["backend"].get<std::string>();
    if (b == "cpu" || (!backend.empty() && b != backend)) continue;
    backend = b;
    const int index = d.value("index", 0);
    if (s.main_gpu > 0 && index != s.main_gpu) continue;
    if (s.num_gpu < 0 && d.value("type", "") == "cpu") continue;
    planner::device_budget g{b, index, d.value("name", ""), d.value("free_memory", uint64_t{0})};
    if (s.gpu_memory_limit > 0) {
      g.free_memory = std::min<uint64_t>(g.free_memory, s.gpu_memory_limit);
      g.reserve = 0;
    }
    out.push_back(g);
  }
  return out;
}

result<tensor_type> kv_type_of(const std::string& name) {
  if (name == "f16") return tensor_type::f16;
  if (name == "f32") return tensor_type::f32;
  if (name == "q8_0") return tensor_type::q8_0;
  return invalid_argument("kv cache type '" + name + "' is not one of f16, f32, q8_0");
}

}  // namespace

result<json> runner_devices(const std::string& runner_path) {
  static std::mutex mu;
  static std::map<std::string, json> cache;
  std::lock_guard<std::mutex> lk(mu);
  if (auto it = cache.find(runner_path); it != cache.end()) return it->second;
  R1_ASSIGN_OR_RETURN(std::string out, list_devices_output(runner_path));
  json j = json::parse(out, nullptr, false);
  if (!j.is_object()) return corrupt(runner_path + " --list-devices printed no JSON object");
  cache[runner_path] = j;
  return j;
}

result<json> model_plan(const model_entry& m, const plan_settings& s) {
  if (m.model_paths.empty()) return not_found("model " + m.display + " has no GGUF file");
  std::vector<std::unique_ptr<gguf::file>> files;
  const gguf::file* meta = nullptr;
  for (const auto& p : m.model_paths) {
    R1_ASSIGN_OR_RETURN(gguf::file f, gguf::file::open(p));
    files.push_back(std::make_unique<gguf::file>(std::move(f)));
    R1_ASSIGN_OR_RETURN(uint64_t no, files.back()->get_uint_or("split.no", 0));
    if (no == 0 && meta == nullptr) meta = files.back().get();
  }
  if (meta == nullptr) return corrupt(m.display + ": none of its files is shard 0");
  R1_ASSIGN_OR_RETURN(gguf::model_params p, gguf::resolve_params(*meta));
  std::vector<const gguf::file*> all;
  for (const auto& f : files) all.push_back(f.get());
  planner::plan_request r;
  r.n_ctx = p.n_ctx_train > 0 ? std::min(s.n_ctx, p.n_ctx_train) : s.n_ctx;
  r.n_parallel = s.n_parallel;
  R1_ASSIGN_OR_RETURN(r.kv_type, kv_type_of(s.kv_type));
  r.n_gpu_layers = s.no_gpu ? 0 : s.num_gpu;
  json listing = json::object();
  if (!s.no_gpu && s.num_gpu != 0) {
    auto l = runner_devices(s.runner_path);
    if (l.ok()) listing = *l;
  }
  auto plan = planner::make_plan(p, planner::tensor_sizes(all), r, budgets(listing, s));
  if (!plan.ok()) return json{{"error", plan.error().message()}};
  json j = json::parse(plan->to_json(), nullptr, false);
  j["text"] = plan->to_text();
  return j;
}

}  // namespace r1::daemon
