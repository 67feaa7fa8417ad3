#include "r1/daemon/scheduler.h"

#include <algorithm>
#include <climits>
#include <optional>

#include "r1/api/json_util.h"
#include "r1/base/log.h"

namespace r1::daemon {

using clock_type = std::chrono::steady_clock;

struct runner_entry {
  enum class state { loading, ready, failed };
  uint64_t id = 0;
  load_spec spec;
  state st = state::loading;
  std::unique_ptr<runner_process> proc;
  std::unique_ptr<runner_client> client;
  rp::load_info info;
  int active = 0;
  int waiting = 0;
  bool dead = false;
  bool unload_when_idle = false;
  int64_t keep_alive_ms = 0;
  clock_type::time_point expires;
  int64_t expires_unix_ns = 0;
  clock_type::time_point last_used;
  std::string error;
  // GPU placement made before the load (planned == false: none, the runner planned alone).
  bool planned = false;
  uint32_t planned_layers = 0;
  std::vector<gpu_bytes> planned_gpus;
  uint64_t planned_host = 0;
  std::vector<std::string> placement_args;
  bool measured = false;  // info came from the runner's /info

  bool idle() const { return active == 0 && waiting == 0 && st != state::loading; }
  uint64_t size() const {
    uint64_t total = info.weights_bytes + info.kv_bytes + info.scratch_bytes;
    return total ? total : spec.estimated_bytes;
  }
  // Bytes on each GPU: measured once loaded, planned before.
  std::vector<gpu_bytes> gpu_use() const {
    if (!measured) return planned_gpus;
    std::vector<gpu_bytes> out;
    for (const auto& d : info.devices) out.push_back({d.backend, d.index, d.bytes});
    return sum_by_device(out);
  }
  // Bytes counted against the host memory budget.
  uint64_t host_use() const {
    if (!planned) return size();
    if (!measured || info.n_gpu_layers == planned_layers) return planned_host;
    // The runner placed a different number of layers than planned: its measured total less its VRAM.
    const uint64_t total = size();
    return total > info.vram_bytes ? total - info.vram_bytes : total;
  }
  bool fully_on_gpus() const {
    bool head = false;
    for (const auto& d : info.devices) head = head || d.output;
    return measured && info.n_layer > 0 && info.n_gpu_layers == info.n_layer && head;
  }
  // /api/ps size: the host share plus VRAM; a model wholly on GPUs (its token embedding table
  // stays mapped on the host for row lookups, as in llama.cpp) is its VRAM, as Ollama reports it.
  uint64_t ps_size() const {
    if (info.vram_bytes == 0) return size();
    if (fully_on_gpus()) return info.vram_bytes;
    return info.vram_bytes + host_use();
  }
  bool holds(const std::vector<gpu_bytes>& devices) const {
    for (const auto& u : gpu_use())
      for (const auto& d : devices)
        if (u.bytes > 0 && u.backend == d.backend && u.index == d.index) return true;
    return false;
  }
};

namespace {

std::string mib(uint64_t b) { return std::to_string(b >> 20) + " MiB"; }

void record_placement(runner_entry& e, const gpu_inputs& gpu, const placement& where) {
  e.planned = true;
  e.planned_layers = where.plan.n_gpu_layers;
  e.planned_gpus = where.gpus;
  e.planned_host = where.host_bytes;
  e.placement_args = runner_args(where, gpu.devices, gpu.num_gpu);
  std::string on;
  for (const auto& g : where.gpus) {
    uint64_t left = 0;
    for (const auto& r : where.remaining)
      if (r.backend == g.backend && r.index == g.index) left = r.bytes;
    on += (on.empty() ? "" : ", ") + g.backend + ":" + std::to_string(g.index) + " " + mib(g.bytes) + " of " +
          mib(left) + " left";
  }
  R1_LOG(info, "scheduler") << "placing " << e.spec.key << ": " << where.plan.n_gpu_layers << "/" << where.plan.n_layer
                            << " layers on GPUs" << (where.full_offload ? " with the head" : "")
                            << (on.empty() ? "" : " (" + on + ")") << ", host " << mib(where.host_bytes);
}

bool has_flag(const std::vector<std::string>& args, const std::string& flag) {
  return std::find(args.begin(), args.end(), flag) != args.end();
}

bool same_load(const load_spec& a, const load_spec& b) {
  return a.digest == b.digest && a.num_ctx == b.num_ctx && a.parallel == b.parallel && a.threads == b.threads && a.num_gpu == b.num_gpu && a.main_gpu == b.main_gpu &&
         a.model_paths == b.model_paths;
}
}  // namespace

lease::lease(scheduler* s, std::shared_ptr<runner_entry> entry, int64_t keep_alive_ms, int64_t load_ns)
    : sched_(s), entry_(std::move(entry)), keep_alive_ms_(keep_alive_ms), load_ns_(load_ns) {}
lease::~lease() { sched_->release(*entry_, keep_alive_ms_); }
const runner_client& lease::runner() const { return *entry_->client; }
const rp::load_info& lease::info() const { return entry_->info; }
int lease::pid() const { return entry_->proc ? entry_->proc->pid() : 0; }
void lease::runner_failed() { sched_->mark_dead(*entry_); }

void scheduler::mark_dead(runner_entry& e) {
  std::lock_guard<std::mutex> lk(mu_);
  if (!e.dead) {
    R1_LOG(warn, "scheduler") << "runner for " << e.spec.key << " failed; the next request starts a new one";
  }
  e.dead = true;
  cv_.notify_all();
}

scheduler::scheduler(scheduler_options opts, runner_launcher& launcher)
    : opts_(std::move(opts)), launcher_(launcher), housekeeper_([this] { housekeeping(); }) {}

scheduler::~scheduler() {
  shutdown();
  if (housekeeper_.joinable()) housekeeper_.join();
}

void scheduler::shutdown() {
  std::vector<entry_ptr> all;
  {
    std::lock_guard<std::mutex> lk(mu_);
    shutting_down_ = true;
    for (auto& [k, e] : models_) all.push_back(e);
    models_.clear();
    cv_.notify_all();
  }
  stop_all(std::move(all));
}

void scheduler::stop_all(std::vector<entry_ptr> victims) {
  for (auto& e : victims) {
    if (!e->proc) continue;
    if (!e->proc->exited()) {
      R1_LOG(info, "scheduler") << "stopping " << e->spec.key << " (pid " << e->proc->pid() << ")";
    }
    // Always: stop() also waits for the reaper (exit callback included), so the entry
    // can later be destroyed anywhere, even under the scheduler's lock.
    e->proc->stop(std::chrono::milliseconds(3000));
  }
}

void scheduler::set_expiry(runner_entry& e, int64_t keep_alive_ms) {
  e.keep_alive_ms = keep_alive_ms;
  if (keep_alive_ms < 0) {
    e.expires = clock_type::time_point::max();
    e.expires_unix_ns = 0;
  } else {
    e.expires = clock_type::now() + std::chrono::milliseconds(keep_alive_ms);
    e.expires_unix_ns = api::now_unix_ns() + keep_alive_ms * 1000000;
  }
  e.unload_when_idle = keep_alive_ms == 0;
}

bool scheduler::evict_one(const load_spec& spec, const std::function<bool(const runner_entry&)>& pick,
                          std::vector<entry_ptr>* victims) {
  entry_ptr victim;
  for (auto& [k, e] : models_) {
    if (!e->idle() || !pick(*e)) continue;
    if (!victim || (e->dead && !victim->dead) || (e->dead == victim->dead && e->last_used < victim->last_used))
      victim = e;
  }
  if (!victim) return false;
  R1_LOG(info, "scheduler") << "evicting " << victim->spec.key << " to make room for " << spec.key;
  models_.erase(victim->spec.key);
  victims->push_back(victim);
  return true;
}

result<bool> scheduler::make_room(const load_spec& spec, const gpu_inputs* gpu, std::vector<entry_ptr>* victims,
                                  placement* where) {
  const auto any = [](const runner_entry&) { return true; };
  for (;;) {
    if (static_cast<int>(models_.size()) >= opts_.max_loaded) {
      if (!evict_one(spec, any, victims)) return false;
      continue;
    }
    uint64_t host_need = spec.estimated_bytes;
    if (gpu != nullptr && !gpu->devices.empty()) {
      std::vector<gpu_bytes> committed;
      for (auto& [k, e] : models_) {
        auto use = e->gpu_use();
        committed.insert(committed.end(), use.begin(), use.end());
      }
      R1_ASSIGN_OR_RETURN(*where, place_model(gpu->devices, committed, gpu->plan));
      if (where->what == placement::verdict::make_room) {
        // Ollama's rule: a model that fits whole on empty GPUs does not go partly to the CPU
        // next to idle runners; it waits for busy ones.
        if (!evict_one(spec, [&](const runner_entry& e) { return e.holds(where->contended); }, victims)) return false;
        continue;
      }
      host_need = where->host_bytes;
    }
    uint64_t used = 0;
    for (auto& [k, e] : models_) used += e->host_use();
    if (used + host_need <= opts_.memory_budget) return true;
    if (models_.empty()) {
      R1_LOG(warn, "scheduler") << spec.key << " needs about " << (host_need >> 20)
                                << " MiB of host memory, more than the memory budget; loading it anyway";
      return true;
    }
    if (!evict_one(spec, any, victims)) return false;
  }
}

result<std::unique_ptr<lease>> scheduler::acquire(const load_spec& spec, int64_t keep_alive_ms,
                                                  const std::function<bool()>& cancelled) {
  auto t0 = clock_type::now();
  std::optional<gpu_inputs> gpu;  // read once, when a load is needed
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    if (shutting_down_) return unavailable("the daemon is shutting down");
    if (cancelled && cancelled()) return r1::cancelled("the client went away while waiting for " + spec.key);
    auto it = models_.find(spec.key);
    entry_ptr e = it == models_.end() ? nullptr : it->second;
    // A runner that just died may not have been reaped yet: look at the process itself.
    if (e && !e->dead && e->st == runner_entry::state::ready && e->proc && e->proc->exited()) e->dead = true;
    if (e && (e->dead || e->st == runner_entry::state::failed) && e->st != runner_entry::state::loading) {
      if (e->idle()) {
        models_.erase(it);
        std::vector<entry_ptr> v{e};
        lk.unlock();
        stop_all(std::move(v));
        lk.lock();
        continue;
      }
      models_.erase(it);  // in-flight requests keep it alive; a new runner starts below
      continue;
    }
    if (e && !same_load(e->spec, spec)) {
      if (e->idle()) {
        R1_LOG(info, "scheduler") << "reloading " << spec.key << " with new load options";
        models_.erase(it);
        std::vector<entry_ptr> v{e};
        lk.unlock();
        stop_all(std::move(v));
        lk.lock();
        continue;
      }
    }
    if (e) {
      if (e->active + e->waiting >= opts_.max_queue)
        return resource_exhausted("server busy, please try again.  maximum pending requests exceeded");
      if (e->st == runner_entry::state::ready && same_load(e->spec, spec) && e->active < e->spec.parallel) {
        ++e->active;
        e->last_used = clock_type::now();
        set_expiry(*e, keep_alive_ms);
        int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - t0).count();
        return std::unique_ptr<lease>(new lease(this, e, keep_alive_ms, ns));
      }
      ++e->waiting;
      cv_.wait_for(lk, std::chrono::milliseconds(200));
      --e->waiting;
      continue;
    }
    // Not loaded: read its GPU plan inputs (outside the lock), make room, then load outside the lock.
    if (opts_.gpu && !gpu) {
      lk.unlock();
      auto in = opts_.gpu(spec);
      lk.lock();
      if (!in.ok()) {
        R1_LOG(warn, "scheduler") << "no GPU plan for " << spec.key << ": " << in.error().message()
                                  << "; counting its whole estimate against host memory";
      }
      gpu = in.ok() ? std::move(*in) : gpu_inputs{};
      continue;
    }
    std::vector<entry_ptr> victims;
    placement where;
    auto room = make_room(spec, gpu ? &*gpu : nullptr, &victims, &where);
    if (!room.ok() || !*room) {
      if (room.ok()) cv_.wait_for(lk, std::chrono::milliseconds(200));
      lk.unlock();
      stop_all(std::move(victims));
      if (!room.ok()) return unavailable("loading " + spec.key + " failed: " + room.error().message());
      lk.lock();
      continue;
    }
    auto fresh = std::make_shared<runner_entry>();
    fresh->id = next_id_++;
    fresh->spec = spec;
    if (gpu && !gpu->devices.empty()) record_placement(*fresh, *gpu, where);
    fresh->waiting = 1;  // the loader itself
    fresh->last_used = clock_type::now();
    set_expiry(*fresh, keep_alive_ms);
    models_[spec.key] = fresh;
    lk.unlock();
    stop_all(std::move(victims));
    auto load_start = clock_type::now();
    status st = load(fresh);
    if (opts_.on_load)
      opts_.on_load(spec.key, std::chrono::duration<double>(clock_type::now() - load_start).count(), st.ok());
    lk.lock();
    --fresh->waiting;
    if (!st.ok()) {
      fresh->st = runner_entry::state::failed;
      fresh->error = st.message();
      auto cur = models_.find(spec.key);
      if (cur != models_.end() && cur->second == fresh) models_.erase(cur);
      cv_.notify_all();
      std::vector<entry_ptr> v{fresh};
      lk.unlock();
      stop_all(std::move(v));
      return st;
    }
    fresh->st = runner_entry::state::ready;
    cv_.notify_all();
  }
}

status scheduler::load(const entry_ptr& e) {
  runner_spec rs;
  rs.model_name = e->spec.key;
  rs.model_paths = e->spec.model_paths;
  rs.ctx = e->spec.num_ctx;
  rs.parallel = e->spec.parallel;
  rs.threads = e->spec.threads;
  rs.kv_type = opts_.kv_type;
  auto& args = rs.extra_args;
  if (opts_.no_gpu) args.push_back("--no-gpu");
  if (e->spec.num_gpu >= 0) args.insert(args.end(), {"--n-gpu-layers", std::to_string(e->spec.num_gpu)});
  // The placement's flags (the GPU and the budget left there) come before the daemon-wide ones.
  args.insert(args.end(), e->placement_args.begin(), e->placement_args.end());
  if (e->spec.main_gpu > 0 && !has_flag(args, "--main-gpu"))
    args.insert(args.end(), {"--main-gpu", std::to_string(e->spec.main_gpu)});
  if (opts_.gpu_memory_limit > 0 && !has_flag(args, "--gpu-memory-limit"))
    args.insert(args.end(), {"--gpu-memory-limit", std::to_string(opts_.gpu_memory_limit)});
  uint64_t id = e->id;
  auto deadline = clock_type::now() + opts_.load_timeout;
  R1_LOG(info, "scheduler") << "loading " << e->spec.key << " (ctx " << rs.ctx << ", parallel " << rs.parallel
                            << ", about " << (e->spec.estimated_bytes >> 20) << " MiB)";
  R1_ASSIGN_OR_RETURN(auto proc, launcher_.start(rs, [this, id] { on_runner_exit(id); }, opts_.load_timeout));
  auto client = std::make_unique<runner_client>("127.0.0.1", proc->port());
  if (opts_.on_completion)
    client->set_observer([cb = opts_.on_completion, key = e->spec.key](const completion_stats& st) { cb(key, st); });
  {
    std::lock_guard<std::mutex> lk(mu_);
    e->proc = std::move(proc);
  }
  for (;;) {
    if (e->proc->exited())
      return unavailable("the runner for " + e->spec.key + " exited while loading (" + e->proc->exit_description() +
                         "); see the daemon log");
    auto h = client->health();
    if (h.ok() && h->status == "ready") break;
    if (h.ok() && h->status == "error") return unavailable("loading " + e->spec.key + " failed: " + h->error);
    if (clock_type::now() > deadline) return unavailable("loading " + e->spec.key + " timed out");
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (shutting_down_) return unavailable("the daemon is shutting down");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto info = client->info();
  std::lock_guard<std::mutex> lk(mu_);
  if (info.ok()) {
    e->info = *info;
    e->measured = true;
    if (e->planned && info->n_gpu_layers != e->planned_layers) {
      R1_LOG(warn, "scheduler") << e->spec.key << ": the runner placed " << info->n_gpu_layers
                                << " layers on GPUs where the plan said " << e->planned_layers
                                << " (it plans against the memory its driver reports); accounting what it reports";
    }
  }
  e->client = std::move(client);
  R1_LOG(info, "scheduler") << "loaded " << e->spec.key << " in pid " << e->proc->pid() << " on port " << e->client->port();
  return {};
}

void scheduler::release(runner_entry& e, int64_t keep_alive_ms) {
  std::vector<entry_ptr> victims;
  {
    std::lock_guard<std::mutex> lk(mu_);
    --e.active;
    e.last_used = clock_type::now();
    set_expiry(e, keep_alive_ms);
    if (e.idle() && (e.unload_when_idle || e.dead)) {
      auto it = models_.find(e.spec.key);
      if (it != models_.end() && it->second.get() == &e) {
        victims.push_back(it->second);
        models_.erase(it);
      }
    }
    cv_.notify_all();
  }
  stop_all(std::move(victims));
}

status scheduler::unload(const std::string& key) {
  std::vector<entry_ptr> victims;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = models_.find(key);
    if (it == models_.end()) return not_found("model '" + key + "' is not loaded");
    it->second->unload_when_idle = true;
    if (it->second->idle()) {
      victims.push_back(it->second);
      models_.erase(it);
    }
    cv_.notify_all();
  }
  stop_all(std::move(victims));
  return {};
}

void scheduler::on_runner_exit(uint64_t id) {
  // Runs on the reaper thread of the process: only mark, never destroy here.
  std::lock_guard<std::mutex> lk(mu_);
  for (auto& [k, e] : models_) {
    if (e->id == id) {
      e->dead = true;
      R1_LOG(warn, "scheduler") << "runner for " << k << " exited; the next request starts a new one";
    }
  }
  cv_.notify_all();
}

void scheduler::housekeeping() {
  std::unique_lock<std::mutex> lk(mu_);
  while (!shutting_down_) {
    cv_.wait_for(lk, std::chrono::milliseconds(250));
    auto now = clock_type::now();
    std::vector<entry_ptr> victims;
    for (auto it = models_.begin(); it != models_.end();) {
      auto& e = it->second;
      if (e->idle() && (e->dead || e->unload_when_idle || e->expires <= now)) {
        if (!e->dead) {
          R1_LOG(info, "scheduler") << "unloading " << e->spec.key << " (keep_alive expired)";
        }
        victims.push_back(e);
        it = models_.erase(it);
      } else {
        ++it;
      }
    }
    if (!victims.empty()) {
      lk.unlock();
      stop_all(std::move(victims));
      lk.lock();
    }
  }
}

std::vector<loaded_model> scheduler::list() const {
  std::vector<loaded_model> out;
  std::lock_guard<std::mutex> lk(mu_);
  for (const auto& [k, e] : models_) {
    if (e->dead) continue;
    loaded_model m;
    m.key = k;
    m.digest = e->spec.digest;
    m.size_vram = e->info.vram_bytes;
    m.expires_unix_ns = e->expires_unix_ns;
    m.context_length = e->info.n_ctx ? static_cast<int>(e->info.n_ctx) : e->spec.num_ctx;
    m.parallel = e->spec.parallel;
    m.pid = e->proc ? e->proc->pid() : 0;
    m.loading = e->st == runner_entry::state::loading;
    m.active = e->active;
    m.queued = e->waiting;
    m.port = e->client ? e->client->port() : 0;
    m.backend = e->info.backend;
    m.weights_bytes = e->info.weights_bytes;
    m.kv_bytes = e->info.kv_bytes;
    m.load_ms = e->info.load_ms;
    m.size = e->ps_size();
    m.host_bytes = e->host_use();
    m.devices = e->info.devices;
    out.push_back(m);
  }
  std::sort(out.begin(), out.end(), [](const loaded_model& a, const loaded_model& b) {
    auto ka = a.expires_unix_ns == 0 ? INT64_MAX : a.expires_unix_ns;
    auto kb = b.expires_unix_ns == 0 ? INT64_MAX : b.expires_unix_ns;
    return ka > kb;
  });
  return out;
}

}  // namespace r1::daemon
