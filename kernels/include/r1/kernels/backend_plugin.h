// The entry point of a GPU backend plugin: libr1-backend-<name>.so exports one C function,
// r1_backend_plugin_v1(), and nothing else (built with hidden visibility and a version script).
// r1-runner dlopens each plugin of its backend directory (plugin_loader.h), checks the ABI and
// calls create() to get the plugin's backend; from there on the boundary is the C++ interface of
// backend.h, so a plugin and the runner must come from the same build of r1. Two checks say so
// before any C++ object crosses:
//   abi_version    the layout of r1_backend_plugin itself (this header);
//   interface_key  a hash of backend.h, status.h and tensor_type.h plus the compiler, computed
//                  by CMake (kernels/CMakeLists.txt) and compiled into both sides.
//
// Ownership: the struct the entry point returns is static in the plugin. The backend create()
// returns is owned by the caller; a plugin whose create() was called stays loaded for the rest
// of the process (drivers keep threads and exit handlers inside it).
// Thread safety: the loader calls the entry point and create() from one thread.
// Errors: create() returns the backend's own error (unavailable: no loader, no driver).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "r1/base/log.h"
#include "r1/base/status.h"
#include "r1/kernels/backend.h"

// The exported symbol (dlsym name) and its type.
#define R1_BACKEND_PLUGIN_ENTRY "r1_backend_plugin_v1"

// Bumped when r1_backend_plugin or r1_backend_plugin_args change layout.
inline constexpr uint32_t r1_backend_plugin_abi_version = 1;

// What the runner passes to create().
struct r1_backend_plugin_args {
  uint32_t struct_size = sizeof(r1_backend_plugin_args);
  int32_t log_level = 1;  // r1::log_level of the runner: the plugin's own copy of base logs alike
  int32_t cuda_graphs = 0;  // 1: the CUDA backend launches decode steps as CUDA graphs
};

using r1_backend_create_fn = void (*)(const r1_backend_plugin_args* args,
                                      r1::result<std::unique_ptr<r1::kernels::backend>>* out);

struct r1_backend_plugin {
  uint32_t abi_version;       // r1_backend_plugin_abi_version of the plugin's build
  const char* interface_key;  // R1_BACKEND_INTERFACE_KEY of the plugin's build
  const char* name;           // the backend's name: "vulkan", "cuda"
  int32_t order;              // lower first in the registry (CUDA 10 before Vulkan 20)
  r1_backend_create_fn create;
};

extern "C" {
using r1_backend_plugin_entry_fn = const r1_backend_plugin* (*)();
}

// Defines the entry point of a plugin. MAKE is an expression giving
// r1::result<std::unique_ptr<r1::kernels::backend>>; the plugin's source must be compiled
// with the generated interface key (r1_add_backend_plugin() in kernels/CMakeLists.txt does).
#define R1_BACKEND_PLUGIN(NAME, ORDER, MAKE)                                                           \
  namespace {                                                                                          \
  void r1_plugin_create(const r1_backend_plugin_args* a,                                               \
                        r1::result<std::unique_ptr<r1::kernels::backend>>* out) {                      \
    r1::kernels::apply_plugin_args(a);                                                                 \
    *out = (MAKE);                                                                                     \
  }                                                                                                    \
  const r1_backend_plugin r1_plugin_desc{r1_backend_plugin_abi_version, R1_BACKEND_INTERFACE_KEY,      \
                                         (NAME), (ORDER), &r1_plugin_create};                          \
  }                                                                                                    \
  extern "C" __attribute__((visibility("default"))) const r1_backend_plugin* r1_backend_plugin_v1() { \
    return &r1_plugin_desc;                                                                            \
  }

namespace r1::kernels {

// Applies the runner's settings to the plugin's copy of r1::base (log level). Null is ignored,
// and so are fields beyond args->struct_size and out-of-range values.
inline void apply_plugin_args(const r1_backend_plugin_args* args) {
  constexpr size_t need = offsetof(r1_backend_plugin_args, log_level) + sizeof(int32_t);
  if (args == nullptr || args->struct_size < need) return;
  if (args->log_level >= static_cast<int32_t>(log_level::debug) &&
      args->log_level <= static_cast<int32_t>(log_level::off)) {
    set_log_level(static_cast<log_level>(args->log_level));
  }
}

// Whether the runner asked for CUDA graphs (false for an older runner's shorter args).
inline bool plugin_cuda_graphs(const r1_backend_plugin_args* args) {
  constexpr size_t need = offsetof(r1_backend_plugin_args, cuda_graphs) + sizeof(int32_t);
  return args != nullptr && args->struct_size >= need && args->cuda_graphs == 1;
}

}  // namespace r1::kernels
