// The backends of r1-runner (r1::kernels_plugins): the CPU backend, always, plus the GPU
// backends found as plugins (libr1-backend-<name>.so, see backend_plugin.h) in one directory.
// The runner links no GPU library itself: a missing Vulkan loader or CUDA driver, a file that is
// not a plugin, a plugin from another build or one without devices is skipped with one log line
// and reported (plugin_report, and in the registry's unavailable() list) instead of failing.
//
// The directory is resolved once at start: --backend-dir / R1_BACKEND_DIR, else
// default_backend_dir(), `<dir of the executable>/<R1_BACKEND_RELATIVE_DIR>` (../lib/r1/backends
// in the install and in the build tree alike).
//
// Ownership: loaded_backends owns the backends; plugin libraries whose create() ran stay loaded
// until the process exits. Thread safety: call load_backends() from one thread; the registry is
// read-only afterwards.
#pragma once

#include <string>
#include <vector>

#include "r1/base/status.h"
#include "r1/kernels/backend.h"

namespace r1::kernels {

// One candidate file of the backend directory (every regular file named *.so).
struct plugin_report {
  std::string name;  // the plugin's backend name; before the plugin answered, from the file name
  std::string path;
  bool loaded = false;  // true: its backend is in the registry with at least one device
  std::string error;    // why not (empty when loaded)
};

struct plugin_load_options {
  std::string dir;         // empty: default_backend_dir()
  int cpu_threads = 0;     // <= 0: one per physical core
  bool enable_gpu = true;  // false: the CPU only; the directory is not even read
  bool cuda_graphs = false;  // the CUDA plugin launches decode steps as CUDA graphs
};

struct loaded_backends {
  backend_registry registry;           // GPU backends by plugin order (CUDA, Vulkan), then the CPU
  std::vector<plugin_report> plugins;  // in file name order
  std::string dir;                     // the directory read ("" when GPUs are disabled)
};

// Never fails: anything wrong with a plugin ends in its report.
loaded_backends load_backends(const plugin_load_options& o);

// <dir of /proc/self/exe>/<R1_BACKEND_RELATIVE_DIR>, normalised; io_error when the executable's
// path cannot be read.
result<std::string> default_backend_dir();

// JSON for `r1-runner --list-devices`:
// {"devices":[{"backend","index","name","type","total_memory","free_memory",
//   "compute_capability"?, "driver"?}...], "unavailable":[{"backend","error"}...],
//  "plugins":[{"name","path","loaded","error"?}...], "backend_dir"?}
// Memory in bytes. `type` is device_type_name(); CUDA adds compute_capability.
std::string list_devices_json(const backend_registry& r, const std::vector<plugin_report>& plugins = {},
                              const std::string& backend_dir = {});
std::string list_devices_json(const loaded_backends& b);

}  // namespace r1::kernels
