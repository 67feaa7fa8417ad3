#include "gpu_plan.h"

#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>

#include "child_output.h"
#include "r1/gguf/file.h"
#include "r1/gguf/model_params.h"
#include "r1/planner/memory_plan.h"

namespace r1::daemon {

namespace {

using json = nlohmann::json;

// stdout of `runner --list-devices`; unavailable when it cannot run or fails.
result<std::string> list_devices_output(const std::string& runner) {
  R1_ASSIGN_OR_RETURN(child_output r, run_for_output(runner, {"--list-devices"}));
  if (r.exit_code != 0) return unavailable(runner + " --list-devices failed");
  return r.out;
}

// One GPU of the listing, read without trusting its types (it is another process's output).
struct listed_gpu {
  std::string backend, name;
  int index = 0;
  bool software = false;
  uint64_t total = 0, free = 0;
};

// A device object with the fields we use, each of the right type (index in 0..2^20), or nothing.
std::optional<listed_gpu> read_device(const json& d) {
  if (!d.is_object()) return std::nullopt;
  const auto str = [&](const char* k) -> const json* {
    auto it = d.find(k);
    return it != d.end() && it->is_string() ? &*it : nullptr;
  };
  const auto u64 = [&](const char* k) -> std::optional<uint64_t> {
    auto it = d.find(k);
    if (it == d.end()) return uint64_t{0};
    if (it->is_number_unsigned()) return it->get<uint64_t>();
    if (it->is_number_integer() && it->get<int64_t>() >= 0) return static_cast<uint64_t>(it->get<int64_t>());
    return std::nullopt;
  };
  const json* backend = str("backend");
  const auto index = u64("index"), total = u64("total_memory"), free = u64("free_memory");
  if (backend == nullptr || !index || !total || !free || *index > (1u << 20)) return std::nullopt;
  listed_gpu g{backend->get<std::string>(), "", static_cast<int>(*index), false, *total, *free};
  if (const json* n = str("name")) g.name = n->get<std::string>();
  if (const json* t = str("type")) g.software = t->get<std::string>() == "cpu";
  return g;
}

// The listed devices a runner with these settings would plan with (see gpu_plan.h).
std::vector<listed_gpu> select_gpus(const json& listing, const plan_settings& s) {
  std::vector<listed_gpu> out;
  if (s.no_gpu || s.num_gpu == 0 || !listing.is_object()) return out;
  auto devices = listing.find("devices");
  if (devices == listing.end() || !devices->is_array()) return out;
  std::string backend;
  for (const json& d : *devices) {
    auto g = read_device(d);
    if (!g || g->backend == "cpu" || (!backend.empty() && g->backend != backend)) continue;
    backend = g->backend;
    if (s.main_gpu > 0 && g->index != s.main_gpu) continue;
    if (s.num_gpu < 0 && !s.gpu_software_devices && g->software) continue;
    out.push_back(*g);
  }
  return out;
}

// The budgets of /api/show's plan: what the device reported free, capped by gpu_memory_limit.
std::vector<planner::device_budget> budgets(const json& listing, const plan_settings& s) {
  std::vector<planner::device_budget> out;
  for (const listed_gpu& d : select_gpus(listing, s)) {
    planner::device_budget g{d.backend, d.index, d.name, d.free};
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

std::vector<gpu_device> listing_gpus(const json& listing, const plan_settings& s) {
  std::vector<gpu_device> out;
  const uint64_t reserve = planner::device_budget{}.reserve;
  for (const listed_gpu& d : select_gpus(listing, s)) {
    gpu_device g{d.backend, d.index, d.name, d.software, d.total};
    if (s.gpu_memory_limit > 0) g.capacity = std::min(g.capacity, s.gpu_memory_limit);
    else g.capacity = g.capacity > reserve ? g.capacity - reserve : 0;
    out.push_back(g);
  }
  return out;
}

result<json> parse_device_listing(std::string_view text, const std::string& source) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return corrupt(source + " --list-devices printed no JSON object");
  return j;
}

result<json> runner_devices(const std::string& runner_path) {
  static std::mutex mu;
  static std::map<std::string, json> cache;
  std::lock_guard<std::mutex> lk(mu);
  if (auto it = cache.find(runner_path); it != cache.end()) return it->second;
  R1_ASSIGN_OR_RETURN(std::string out, list_devices_output(runner_path));
  R1_ASSIGN_OR_RETURN(json j, parse_device_listing(out, runner_path));
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
  in.devices = listing_gpus(listing_for(s), s);
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
