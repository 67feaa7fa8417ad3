#include "r1/kernels/backends.h"

#include "r1/kernels/cpu_backend.h"
#ifdef R1_HAVE_VULKAN
#include "r1/kernels/vulkan_backend.h"
#endif
#ifdef R1_HAVE_CUDA
#include "r1/kernels/cuda_backend.h"
#endif

namespace r1::kernels {

namespace {

[[maybe_unused]] void add_result(backend_registry& r, const char* name, result<std::unique_ptr<backend>> b) {
  if (b.ok() && b.value()->device_count() > 0) r.add(std::move(b).value());
  else if (b.ok()) r.add_unavailable(name, unavailable(std::string(name) + ": no devices found"));
  else r.add_unavailable(name, b.error());
}

}  // namespace

backend_registry make_backend_registry(const backends_options& o) {
  backend_registry r;
  if (o.enable_gpu) {
#ifdef R1_HAVE_CUDA
    add_result(r, "cuda", make_cuda_backend());
#endif
#ifdef R1_HAVE_VULKAN
    add_result(r, "vulkan", make_vulkan_backend());
#endif
  }
  r.add(make_cpu_backend(o.cpu_threads));
  return r;
}

std::vector<std::string> compiled_backends() {
  std::vector<std::string> out;
#ifdef R1_HAVE_CUDA
  out.emplace_back("cuda");
#endif
#ifdef R1_HAVE_VULKAN
  out.emplace_back("vulkan");
#endif
  return out;
}

}  // namespace r1::kernels
