// The scheduler: which models have a runner, who may use it, and when it goes.
//
// acquire() returns a lease on a ready runner for a model, starting one if
// needed (loading one model never blocks requests to others). Each model admits
// `parallel` requests at a time and queues up to max_queue more; past that
// acquire() fails with resource_exhausted (the HTTP layer answers 503 with
// Retry-After). Before a load, idle runners are evicted, least recently used
// first, until the model count and the memory fit; if only busy runners stand
// in the way the load waits for one to become idle.
//
// Memory is accounted per device (see gpu_placement.h). With a GPU hook
// (scheduler_options::gpu) each load is planned against what the other runners
// of this daemon hold on each GPU: it goes next to them when its plan there is
// as good as on empty GPUs (the runner is then told the budget left:
// --main-gpu and --gpu-memory-limit); otherwise idle runners holding that GPU
// are evicted, least recently used first, or the load waits for busy ones; a
// model too big even for empty GPUs gets the plan's partial offload, and a plan
// the planner refuses fails the load with its message. Host memory
// (memory_budget) counts only each model's host share. Without the hook every
// model counts whole against memory_budget and runners plan GPUs on their own. When a lease ends the
// model's expiry becomes now + keep_alive (0 unloads as soon as it is idle,
// negative keeps it forever). A runner that exits is noticed by its reaper at
// once; its in-flight requests fail on their own connections, and the next
// acquire() starts a new runner.
//
// Thread safety: every method may be called from any thread. Leases must be
// destroyed before the scheduler.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "r1/base/status.h"
#include "r1/daemon/gpu_placement.h"
#include "r1/daemon/runner_client.h"
#include "r1/daemon/runner_launcher.h"

namespace r1::daemon {

struct load_spec {
  std::string key;                       // the model's display name ("deepseek-r1:7b")
  std::string digest;                    // manifest digest: a changed model is reloaded
  std::vector<std::string> model_paths;  // GGUF blob paths
  int num_ctx = 4096;
  int parallel = 1;
  int threads = 0;
  int num_gpu = -1;                      // layers on GPUs (Ollama's num_gpu): -1 as many as fit, 0 none
  int main_gpu = 0;                      // > 0: only that GPU
  uint64_t estimated_bytes = 0;          // weights + KV cache at num_ctx x parallel
  uint64_t weights_bytes = 0;
};

struct scheduler_options {
  int max_loaded = 3;
  int max_queue = 512;
  uint64_t memory_budget = 8ull << 30;
  std::string kv_type = "f16";
  bool no_gpu = false;                   // runners get --no-gpu
  uint64_t gpu_memory_limit = 0;         // runners get --gpu-memory-limit (test/debug knob)
  std::chrono::milliseconds load_timeout{5 * 60 * 1000};
  int64_t default_keep_alive_ms = 5 * 60 * 1000;
  // Metrics hooks (may be empty): each finished load attempt, and each
  // completion a runner served. Called without the scheduler's lock.
  std::function<void(const std::string& model, double seconds, bool ok)> on_load;
  std::function<void(const std::string& model, const completion_stats& stats)> on_completion;
  // The GPUs and memory plan of a load (may be empty: no per-device accounting). Called
  // without the scheduler's lock, once per acquire() that has to load; an error (unreadable
  // model) only disables GPU accounting for that load (the runner reports the real failure).
  std::function<result<gpu_inputs>(const load_spec& spec)> gpu;
};

// What /api/ps shows for one model.
struct loaded_model {
  std::string key;
  std::string digest;
  uint64_t size = 0;             // host share + size_vram; every layer and the head on GPUs: size_vram
  uint64_t size_vram = 0;        // bytes the runner placed on GPUs (its /info vram_bytes)
  int64_t expires_unix_ns = 0;   // 0: never (keep_alive < 0)
  int context_length = 0;
  int parallel = 1;
  int pid = 0;
  bool loading = false;
  int active = 0;
  int queued = 0;
  int port = 0;                  // the runner's loopback port (0 while starting)
  std::string backend;           // "cpu", "vulkan", "cuda" ("" while loading)
  uint64_t weights_bytes = 0;    // measured by the runner once loaded
  uint64_t kv_bytes = 0;
  double load_ms = 0;
  uint64_t host_bytes = 0;       // what the scheduler counts against memory_budget
  std::vector<rp::device_load> devices;  // GPUs holding layers, as the runner reported them
};

class scheduler;
struct runner_entry;  // defined in scheduler.cpp

// The right to send one request to a ready runner. Movable only through unique_ptr.
class lease {
 public:
  ~lease();
  lease(const lease&) = delete;
  lease& operator=(const lease&) = delete;

  const runner_client& runner() const;
  const rp::load_info& info() const;
  int pid() const;
  // Time acquire() took (queueing + loading), in nanoseconds.
  int64_t load_duration_ns() const { return load_ns_; }
  // The keep_alive applied when the lease ends (ms; negative forever, 0 unload).
  void set_keep_alive(int64_t ms) { keep_alive_ms_ = ms; }
  // The runner could not be reached or dropped the connection: it is treated as
  // dead from now on (stopped when idle; the next acquire starts a new one), even
  // before its exit has been reaped.
  void runner_failed();

 private:
  friend class scheduler;
  lease(scheduler* s, std::shared_ptr<runner_entry> entry, int64_t keep_alive_ms, int64_t load_ns);
  scheduler* sched_;
  // Shared with the scheduler's map: a runner that is unloaded or dies stays
  // alive as long as requests still hold it.
  std::shared_ptr<runner_entry> entry_;
  int64_t keep_alive_ms_;
  int64_t load_ns_;
};

class scheduler {
 public:
  scheduler(scheduler_options opts, runner_launcher& launcher);
  ~scheduler();  // stops every runner
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;

  // Waits for a slot on a ready runner for `spec`. `cancelled` is polled while
  // waiting (a client that went away). Errors: resource_exhausted (queue full),
  // unavailable (load failed, runner died while loading, shutting down),
  // cancelled, not_found (runner executable missing).
  result<std::unique_ptr<lease>> acquire(const load_spec& spec, int64_t keep_alive_ms,
                                         const std::function<bool()>& cancelled);

  // Unloads a model now if idle, else as soon as its requests finish.
  // not_found if it is not loaded.
  status unload(const std::string& key);
  // Loaded (and loading) models, longest remaining keep-alive first.
  std::vector<loaded_model> list() const;
  // Stops every runner and refuses new work.
  void shutdown();

  const scheduler_options& options() const { return opts_; }

 private:
  friend class lease;
  using entry_ptr = std::shared_ptr<runner_entry>;

  void release(runner_entry& e, int64_t keep_alive_ms);
  void mark_dead(runner_entry& e);
  status load(const entry_ptr& e);
  void on_runner_exit(uint64_t id);
  void housekeeping();
  // Picks idle runners to stop so `spec` fits (placing it on the GPUs of `gpu` when given);
  // false if busy runners are in the way; the planner's error when it cannot be placed.
  result<bool> make_room(const load_spec& spec, const gpu_inputs* gpu, std::vector<entry_ptr>* victims,
                         placement* where);
  // Moves the least recently used idle runner (dead first) accepted by `pick` to victims.
  bool evict_one(const load_spec& spec, const std::function<bool(const runner_entry&)>& pick,
                 std::vector<entry_ptr>* victims);
  void stop_all(std::vector<entry_ptr> victims);
  void set_expiry(runner_entry& e, int64_t keep_alive_ms);

  scheduler_options opts_;
  runner_launcher& launcher_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, entry_ptr> models_;
  uint64_t next_id_ = 1;
  bool shutting_down_ = false;
  std::thread housekeeper_;
};

}  // namespace r1::daemon
