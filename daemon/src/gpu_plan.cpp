#include "gpu_plan.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
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

// The listed devices a runner with these settings would plan with (see gpu_plan.h).
std::vector<json> select_gpus(const json& listing, const plan_settings& s) {
  std::vector<json> out;
  if (s.no_gpu || s.num_gpu == 0 || !listing.contains("devices") || !listing["devices"].is_array()) return out;
  std::string backend;
  for (const json& d : listing["devices"]) {
    if (!d.is_object() || !d.contains("backend") || !d["backend"].is_string()) continue;
    const std::string b = d["backend"].get<std::string>();
    if (b == "cpu" || (!backend.empty() && b != backend)) continue;
    backend = b;
    if (s.main_gpu > 0 && d.value("index", 0) != s.main_gpu) continue;
    if (s.num_gpu < 0 && !s.gpu_software_devices && d.value("type", "") == "cpu") continue;
    out.push_back(d);
  }
  return out;
}

// The budgets of /api/show's plan: what the device reported free, capped by gpu_memory_limit.
std::vector<planner::device_budget> budgets(const json& listing, const plan_settings& s) {
  std::vector<planner::device_budget> out;
  for (const json& d : select_gpus(listing, s)) {
    planner::device_budget g{d["backend"].get<std::string>(), d.value("index", 0), d.value("name", ""),
                             d.value("free_memory", uint64_t{0})};
    if (s.gpu_memory_limit > 0) {
      g.free_memory = std::min<uint64_t>(g.free_memory, s.gpu_memory_limit);
      g.reserve = 0;
    }
    out.push_back(g);
  }
  return out;
}

// The devices the scheduler places on, with what our runners may hold on each.
std::vector<gpu_device> scheduler_devices(const json& listing, const plan_settings& s) {
  std::vector<gpu_device> out;
  const uint64_t reserve = planner::device_budget{}.reserve;
  for (const json& d : select_gpus(listing, s)) {
    gpu_device g{d["backend"].get<std::string>(), d.value("index", 0), d.value("name", ""),
                 d.value("type", "") == "cpu", d.value("total_memory", uint64_t{0})};
    if (s.gpu_memory_limit > 0) g.capacity = std::min(g.capacity, s.gpu_memory_limit);
    else g.capacity = g.capacity > reserve ? g.capacity - reserve : 0;
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

namespace {

// A model's planning inputs: its metadata and every tensor's size (all shards).
struct model_shape {
  gguf::model_params params;
  std::vector<planner::tensor_size> sizes;
};

result<model_shape> read_shape(const std::vector<std::string>& paths, const std::string& display) {
  if (paths.empty()) return not_found("model " + display + " has no GGUF file");
  std::vector<std::unique_ptr<gguf::file>> files;
  const gguf::file* meta = nullptr;
  for (const auto& p : paths) {
    R1_ASSIGN_OR_RETURN(gguf::file f, gguf::file::open(p));
    files.push_back(std::make_unique<gguf::file>(std::move(f)));
    R1_ASSIGN_OR_RETURN(uint64_t no, files.back()->get_uint_or("split.no", 0));
    if (no == 0 && meta == nullptr) meta = files.back().get();
  }
  if (meta == nullptr) return corrupt(display + ": none of its files is shard 0");
  model_shape m;
  R1_ASSIGN_OR_RETURN(m.params, gguf::resolve_params(*meta));
  std::vector<const gguf::file*> all;
  for (const auto& f : files) all.push_back(f.get());
  m.sizes = planner::tensor_sizes(all);
  return m;
}

result<planner::plan_request> plan_request_for(const gguf::model_params& p, const plan_settings& s) {
  planner::plan_request r;
  r.n_ctx = p.n_ctx_train > 0 ? std::min(s.n_ctx, p.n_ctx_train) : s.n_ctx;
  r.n_parallel = s.n_parallel;
  R1_ASSIGN_OR_RETURN(r.kv_type, kv_type_of(s.kv_type));
  r.n_gpu_layers = s.no_gpu ? 0 : s.num_gpu;
  return r;
}

json listing_for(const plan_settings& s) {
  if (s.no_gpu || s.num_gpu == 0) return json::object();
  auto l = runner_devices(s.runner_path);
  return l.ok() ? *l : json::object();
}

}  // namespace

result<json> model_plan(const model_entry& m, const plan_settings& s) {
  R1_ASSIGN_OR_RETURN(model_shape shape, read_shape(m.model_paths, m.display));
  R1_ASSIGN_OR_RETURN(planner::plan_request r, plan_request_for(shape.params, s));
  auto plan = planner::make_plan(shape.params, shape.sizes, r, budgets(listing_for(s), s));
  if (!plan.ok()) return json{{"error", plan.error().message()}};
  json j = json::parse(plan->to_json(), nullptr, false);
  j["text"] = plan->to_text();
  return j;
}

result<gpu_inputs> load_gpu_inputs(const std::vector<std::string>& model_paths, const plan_settings& s) {
  gpu_inputs in;
  in.num_gpu = s.no_gpu ? 0 : s.num_gpu;
  in.devices = scheduler_devices(listing_for(s), s);
  if (in.devices.empty()) return in;
  R1_ASSIGN_OR_RETURN(model_shape shape, read_shape(model_paths, model_paths.empty() ? "" : model_paths.front()));
  R1_ASSIGN_OR_RETURN(planner::plan_request r, plan_request_for(shape.params, s));
  auto shared = std::make_shared<const model_shape>(std::move(shape));
  in.plan = [shared, r](std::span<const planner::device_budget> gpus) {
    return planner::make_plan(shared->params, shared->sizes, r, gpus);
  };
  return in;
}

plan_settings daemon_plan_settings(const daemon_settings& s) {
  plan_settings p;
  p.runner_path = s.runner_path;
  p.n_ctx = static_cast<uint32_t>(s.context_length);
  p.n_parallel = static_cast<uint32_t>(s.num_parallel);
  p.kv_type = s.kv_cache_type;
  p.no_gpu = s.no_gpu;
  p.gpu_memory_limit = s.gpu_memory_limit;
  p.gpu_software_devices = s.gpu_software_devices;
  return p;
}

std::function<result<gpu_inputs>(const load_spec&)> make_gpu_hook(const plan_settings& daemon_wide) {
  return [daemon_wide](const load_spec& spec) {
    plan_settings s = daemon_wide;
    s.n_ctx = static_cast<uint32_t>(spec.num_ctx);
    s.n_parallel = static_cast<uint32_t>(spec.parallel);
    s.num_gpu = spec.num_gpu;
    s.main_gpu = spec.main_gpu;
    return load_gpu_inputs(spec.model_paths, s);
  };
}

}  // namespace r1::daemon
