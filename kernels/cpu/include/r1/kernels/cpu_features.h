// CPU feature detection and the choice of kernel path (scalar, AVX2, AVX-512, AMX).
//
// The library is built for baseline x86-64; the AVX2 and AVX-512 kernels live in
// separately compiled files and are only called after cpuid + xgetbv say the CPU
// and the OS support them. The active path is process-wide: it is chosen once
// (the best supported) and may be forced, e.g. by tests or a config option.
// Thread safety: detect_cpu_features() and kernel_path_name() may be called from
// any thread; set_kernel_path() should be called while no kernels are running.
#pragma once

#include <string_view>

#include "r1/base/status.h"

namespace r1::kernels {

struct cpu_features {
  bool avx2 = false;        // with FMA and F16C (the AVX2 path needs all three)
  bool fma = false;
  bool f16c = false;
  bool avx_vnni = false;    // VEX-encoded vpdpbusd (Alder Lake, Sapphire Rapids)
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512dq = false;
  bool avx512vnni = false;
  bool avx512bf16 = false;
  bool avx512vbmi = false;  // byte permutes (every AMX CPU has them; the amx path needs them)
  bool amx_tile = false;    // cpuid AMX-TILE and AMX-INT8 (Sapphire Rapids and later)
  bool amx_int8 = false;
  bool amx_bf16 = false;    // cpuid AMX-BF16 (every AMX CPU so far)
  bool os_amx = false;      // XCR0 tile state and the kernel granted this process the tile data
  bool os_avx = false;      // XCR0 enables YMM state
  bool os_avx512 = false;   // XCR0 enables ZMM/opmask state
  int logical_cpus = 1;
  int physical_cores = 1;   // distinct (package, core) pairs; the default thread count
};

// Detects once and caches; cheap after the first call.
const cpu_features& detect_cpu_features();

// amx: the avx512 kernels, plus AMX-INT8 tiles for prompt batches (matmul with
// more than a few columns of Q4_K, Q5_K, Q6_K, Q8_0 or Q4_0 weights).
enum class kernel_path { scalar = 0, avx2 = 1, avx512 = 2, amx = 3 };

// "scalar", "avx2", "avx512" or "amx".
const char* kernel_path_name(kernel_path p);
// Name of the active path.
const char* kernel_path_name();
kernel_path active_kernel_path();
// True if this CPU (and OS) can run path p.
bool kernel_path_supported(kernel_path p);
// The best path this CPU supports.
kernel_path best_kernel_path();

// Forces a path: "scalar", "avx2", "avx512", "amx" or "auto" (best supported).
// invalid_argument for an unknown name, unavailable if the CPU lacks the path.
status set_kernel_path(std::string_view name);

}  // namespace r1::kernels
