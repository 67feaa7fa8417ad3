// cpuid + xgetbv feature detection, physical core count, and kernel path choice.
#include "r1/kernels/cpu_features.h"

#include <cpuid.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <utility>

namespace r1::kernels {
namespace {

uint64_t read_xcr0() {
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

bool read_int_file(const std::string& path, int* out) {
  std::ifstream f(path);
  return static_cast<bool>(f >> *out);
}

// Distinct (package, core) pairs among the CPUs this process may run on.
int count_physical_cores(int logical) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return logical;
  std::set<std::pair<int, int>> cores;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &set)) continue;
    const std::string base = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
    int pkg = 0, core = 0;
    if (!read_int_file(base + "physical_package_id", &pkg) || !read_int_file(base + "core_id", &core))
      return CPU_COUNT(&set);
    cores.insert({pkg, core});
  }
  return cores.empty() ? logical : static_cast<int>(cores.size());
}

// Linux keeps the AMX tile data (XSAVE component 18) off until a process asks
// for it; without the grant the first tile instruction would fault.
bool request_amx_permission() {
  constexpr long arch_req_xcomp_perm = 0x1023;
  constexpr long xfeature_xtiledata = 18;
  return syscall(SYS_arch_prctl, arch_req_xcomp_perm, xfeature_xtiledata) == 0;
}

void detect_amx(cpu_features& f, uint64_t xcr0) {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return;
  f.amx_tile = (d >> 24) & 1;
  f.amx_int8 = (d >> 25) & 1;
  f.amx_bf16 = (d >> 22) & 1;
  // XCR0 bits 17 (XTILECFG) and 18 (XTILEDATA).
  const bool os_tiles = (xcr0 & 0x60000) == 0x60000;
  f.os_amx = f.amx_tile && f.amx_int8 && os_tiles && request_amx_permission();
  if (!f.os_amx) f.amx_tile = f.amx_int8 = f.amx_bf16 = false;
}

cpu_features detect() {
  cpu_features f;
  unsigned a = 0, b = 0, c = 0, d = 0;
  uint64_t xcr0 = 0;
  if (__get_cpuid(1, &a, &b, &c, &d)) {
    f.fma = (c >> 12) & 1;
    f.f16c = (c >> 29) & 1;
    const bool osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    if (osxsave && avx) {
      xcr0 = read_xcr0();
      f.os_avx = (xcr0 & 0x6) == 0x6;
      f.os_avx512 = f.os_avx && (xcr0 & 0xe0) == 0xe0;
    }
  }
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    f.avx2 = (b >> 5) & 1;
    f.avx512f = (b >> 16) & 1;
    f.avx512dq = (b >> 17) & 1;
    f.avx512bw = (b >> 30) & 1;
    f.avx512vl = (b >> 31) & 1;
    f.avx512vnni = (c >> 11) & 1;
    f.avx512vbmi = (c >> 1) & 1;
    const unsigned max_sub = a;
    if (max_sub >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d)) {
      f.avx_vnni = (a >> 4) & 1;
      f.avx512bf16 = (a >> 5) & 1;
    }
  }
  if (!f.os_avx) f.avx2 = f.fma = f.f16c = f.avx_vnni = false;
  if (!f.os_avx512) f.avx512f = f.avx512bw = f.avx512vl = f.avx512dq = f.avx512vnni = f.avx512bf16 = f.avx512vbmi = false;
  if (f.os_avx512) detect_amx(f, xcr0);
  const unsigned hc = std::thread::hardware_concurrency();
  f.logical_cpus = hc > 0 ? static_cast<int>(hc) : 1;
  f.physical_cores = count_physical_cores(f.logical_cpus);
  if (f.physical_cores < 1) f.physical_cores = 1;
  return f;
}

std::atomic<int> g_path{-1};

}  // namespace

const cpu_features& detect_cpu_features() {
  static const cpu_features features = detect();
  return features;
}

bool kernel_path_supported(kernel_path p) {
  const auto& f = detect_cpu_features();
  const bool avx2 = f.avx2 && f.fma && f.f16c;
  switch (p) {
    case kernel_path::scalar: return true;
    case kernel_path::avx2: return avx2;
    case kernel_path::avx512: return avx2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512vnni;
    case kernel_path::amx:
      return kernel_path_supported(kernel_path::avx512) && f.avx512vbmi && f.amx_tile && f.amx_int8 && f.os_amx;
  }
  return false;
}

kernel_path best_kernel_path() {
  if (kernel_path_supported(kernel_path::amx)) return kernel_path::amx;
  if (kernel_path_supported(kernel_path::avx512)) return kernel_path::avx512;
  if (kernel_path_supported(kernel_path::avx2)) return kernel_path::avx2;
  return kernel_path::scalar;
}

kernel_path active_kernel_path() {
  int p = g_path.load(std::memory_order_acquire);
  if (p < 0) {
    p = static_cast<int>(best_kernel_path());
    int expected = -1;
    if (!g_path.compare_exchange_strong(expected, p)) p = expected;
  }
  return static_cast<kernel_path>(p);
}

const char* kernel_path_name(kernel_path p) {
  switch (p) {
    case kernel_path::scalar: return "scalar";
    case kernel_path::avx2: return "avx2";
    case kernel_path::avx512: return "avx512";
    case kernel_path::amx: return "amx";
  }
  return "unknown";
}

const char* kernel_path_name() { return kernel_path_name(active_kernel_path()); }

status set_kernel_path(std::string_view name) {
  kernel_path p;
  if (name == "auto") p = best_kernel_path();
  else if (name == "scalar") p = kernel_path::scalar;
  else if (name == "avx2") p = kernel_path::avx2;
  else if (name == "avx512") p = kernel_path::avx512;
  else if (name == "amx") p = kernel_path::amx;
  else return invalid_argument("kernel path '" + std::string(name) + "': expected auto, scalar, avx2, avx512 or amx");
  if (!kernel_path_supported(p))
    return unavailable("kernel path '" + std::string(name) + "' is not supported by this CPU");
  g_path.store(static_cast<int>(p), std::memory_order_release);
  return ok_status();
}

}  // namespace r1::kernels
