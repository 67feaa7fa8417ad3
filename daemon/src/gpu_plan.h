// The memory plan of a model as a runner would make it (/api/show with "plan": true), and what
// the scheduler needs to place a model's runner on the GPUs (make_gpu_inputs).
//
// The GPUs come from `r1-runner --list-devices`, run once per daemon and runner path and
// cached (the daemon itself links no GPU code). Device choice follows r1-runner's own rule
// (runner/app/gpu_setup.h): the devices of the first GPU backend that has any, only device
// main_gpu when main_gpu > 0, no software devices (type "cpu") unless num_gpu asks for a
// number of layers; no_gpu or num_gpu 0 plans for the CPU only; gpu_memory_limit caps each
// device's budget (a test/debug knob, as R1_GPU_MEMORY_LIMIT for the runner); gpu_software_devices
// also lets the automatic layer count use software devices (the daemon then passes the runner
// an explicit count, so the runner uses them too).
//
// Thread safety: model_plan() may be called from any thread (the listing is cached under a
// mutex). Errors: io_error / corrupt when the model files cannot be read; a plan that cannot be
// made (more layers than fit) is not an error here: the result holds {"error": message}.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "r1/api/json_util.h"
#include "r1/base/status.h"
#include "r1/daemon/daemon_config.h"
#include "r1/daemon/gpu_placement.h"
#include "r1/daemon/model_catalog.h"
#include "r1/daemon/scheduler.h"

namespace r1::daemon {

struct plan_settings {
  std::string runner_path;
  uint32_t n_ctx = 4096;
  uint32_t n_parallel = 1;
  std::string kv_type = "f16";
  int num_gpu = -1;
  int main_gpu = 0;
  bool no_gpu = false;
  uint64_t gpu_memory_limit = 0;
  bool gpu_software_devices = false;
};

// The planner's JSON (memory_plan::to_json) plus "text" (memory_plan::to_text), or {"error"}.
result<nlohmann::json> model_plan(const model_entry& m, const plan_settings& s);

// The GPUs and the plan function for one load (see gpu_placement.h). Device capacity: the
// gpu_memory_limit budget when set (no reserve, as for the runner), else the listed total memory
// minus the planner's default reserve. The plan function owns the model's metadata and sizes:
// the GGUF files are read here, once, not under the scheduler's lock.
result<gpu_inputs> load_gpu_inputs(const std::vector<std::string>& model_paths, const plan_settings& s);

// The daemon-wide part of plan_settings (runner, cache type, GPU switches).
plan_settings daemon_plan_settings(const daemon_settings& s);

// The scheduler hook (scheduler_options::gpu): plan_settings from the daemon's settings, with
// the context, slots, num_gpu and main_gpu of each load.
std::function<result<gpu_inputs>(const load_spec&)> make_gpu_hook(const plan_settings& daemon_wide);

// The GPUs of a `--list-devices` listing the scheduler places on, chosen by the rule above, each
// with its capacity (see load_gpu_inputs). Devices whose fields have the wrong types are skipped.
std::vector<gpu_device> listing_gpus(const nlohmann::json& listing, const plan_settings& s);

// `--list-devices` output as JSON; corrupt (naming `source`) when it is not a JSON object.
result<nlohmann::json> parse_device_listing(std::string_view text, const std::string& source);

// The parsed output of `r1-runner --list-devices` (cached after the first success).
result<nlohmann::json> runner_devices(const std::string& runner_path);

}  // namespace r1::daemon
