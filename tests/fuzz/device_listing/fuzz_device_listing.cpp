#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gpu_plan.h"
#include "r1/base/assert.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto listing = r1::daemon::parse_device_listing(text, "fuzz");
  if (!listing.ok()) return 0;
  for (int num_gpu : {-1, 0, 3})
    for (int main_gpu : {0, 1})
      for (bool software : {false, true})
        for (uint64_t limit : {uint64_t{0}, uint64_t{1} << 20}) {
          r1::daemon::plan_settings s;
          s.num_gpu = num_gpu;
          s.main_gpu = main_gpu;
          s.gpu_software_devices = software;
          s.gpu_memory_limit = limit;
          std::string backend;
          for (const auto& g : r1::daemon::listing_gpus(*listing, s)) {
            R1_ASSERT(num_gpu != 0);
            R1_ASSERT(g.backend != "cpu" && (backend.empty() || g.backend == backend));
            backend = g.backend;
            R1_ASSERT(main_gpu == 0 || g.index == main_gpu);
            R1_ASSERT(!g.software || software || num_gpu > 0);
            R1_ASSERT(limit == 0 || g.capacity <= limit);
          }
        }
  return 0;
}
