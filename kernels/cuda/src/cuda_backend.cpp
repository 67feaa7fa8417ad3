#include "r1/kernels/cuda_backend.h"

#include <cuda_runtime.h>

#include <string>
#include <vector>

#include "cuda_device.h"
#include "launch.h"

namespace r1::kernels {

namespace cu {

status launch_status(const char* what) {
  const cudaError_t e = cudaGetLastError();
  if (e == cudaSuccess) return ok_status();
  return internal_error(std::string("cuda: ") + what + ": " + cudaGetErrorString(e));
}

status cuda_status(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return ok_status();
  const std::string m = std::string("cuda: ") + what + ": " + cudaGetErrorString(e);
  return e == cudaErrorMemoryAllocation ? resource_exhausted(m) : internal_error(m);
}

cuda_buffer::~cuda_buffer() {
  cudaSetDevice(dev_);
  cudaFree(p_);
}

status cuda_buffer::upload(size_t offset, const void* src, size_t n) {
  if (offset > n_ || n > n_ - offset) return invalid_argument("cuda buffer: upload out of range");
  cudaSetDevice(dev_);
  return cuda_status(cudaMemcpy(p_ + offset, src, n, cudaMemcpyHostToDevice), "upload");
}

status cuda_buffer::download(size_t offset, void* dst, size_t n) const {
  if (offset > n_ || n > n_ - offset) return invalid_argument("cuda buffer: download out of range");
  cudaSetDevice(dev_);
  return cuda_status(cudaMemcpy(dst, p_ + offset, n, cudaMemcpyDeviceToHost), "download");
}

bool cuda_device::supports(op_kind op, tensor_type t) const {
  switch (op) {
    case op_kind::matmul:
    case op_kind::get_rows:
      return t == tensor_type::f32 || t == tensor_type::f16 || t == tensor_type::bf16 || t == tensor_type::q8_0 ||
             t == tensor_type::q4_0 || t == tensor_type::q4_k || t == tensor_type::q5_k || t == tensor_type::q6_k;
    case op_kind::convert_rows:
    case op_kind::attention: return t == tensor_type::f32 || t == tensor_type::f16;
    default: return true;
  }
}

result<std::unique_ptr<buffer>> cuda_device::alloc(size_t bytes) {
  cudaSetDevice(dev_);
  void* p = nullptr;
  R1_RETURN_IF_ERROR(cuda_status(cudaMalloc(&p, bytes == 0 ? 4 : bytes), "cudaMalloc"));
  return std::unique_ptr<buffer>(std::make_unique<cuda_buffer>(*this, dev_, p, bytes));
}

result<std::unique_ptr<stream>> cuda_device::create_stream() {
  cudaSetDevice(dev_);
  cudaStream_t s = nullptr;
  R1_RETURN_IF_ERROR(cuda_status(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate"));
  return make_cuda_stream(*this, dev_, s);
}

namespace {

class cuda_backend final : public backend {
 public:
  std::string_view name() const override { return "cuda"; }
  size_t device_count() const override { return devices_.size(); }
  device& device_at(size_t i) override { return *devices_.at(i); }
  std::vector<std::unique_ptr<cuda_device>> devices_;
};

}  // namespace
}  // namespace cu

result<std::unique_ptr<backend>> make_cuda_backend(const cuda_options& o) {
  int n = 0;
  if (cudaError_t e = cudaGetDeviceCount(&n); e != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error for later calls
    return unavailable(std::string("cuda: no usable driver or device (") + cudaGetErrorString(e) + ")");
  }
  auto b = std::make_unique<cu::cuda_backend>();
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    device_info info;
    info.backend = "cuda";
    info.index = static_cast<int>(b->devices_.size());
    info.name = p.name;
    info.type = p.integrated ? device_type::integrated_gpu : device_type::discrete_gpu;
    info.compute_capability = std::to_string(p.major) + "." + std::to_string(p.minor);
    size_t free_b = 0, total_b = 0;
    cudaSetDevice(i);
    if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) free_b = total_b = p.totalGlobalMem;
    info.total_memory = total_b;
    info.free_memory = free_b;
    int drv = 0;
    cudaDriverGetVersion(&drv);
    info.driver = "CUDA " + std::to_string(drv / 1000) + "." + std::to_string(drv % 1000 / 10);
    b->devices_.push_back(std::make_unique<cu::cuda_device>(i, std::move(info), o));
  }
  return std::unique_ptr<backend>(std::move(b));
}

cuda_graph_stats graph_stats(const device& d) {
  const auto* cd = dynamic_cast<const cu::cuda_device*>(&d);
  if (cd == nullptr) return {};
  const cu::graph_counters& c = cd->counters();
  constexpr auto r = std::memory_order_relaxed;
  return {c.graph_steps.load(r), c.instantiations.load(r), c.updates.load(r), c.eager_steps.load(r),
          c.fallbacks.load(r)};
}

}  // namespace r1::kernels
