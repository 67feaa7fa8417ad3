// Private: the CUDA device and its buffers, shared by the backend (cuda_backend.cpp)
// and the stream (cuda_stream.cpp). A device owns nothing but its options and the
// counters of how its streams' steps ran; buffers and streams belong to the caller.
#pragma once

#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "r1/kernels/backend.h"
#include "r1/kernels/cuda_backend.h"

namespace r1::kernels::cu {

// ok for cudaSuccess; resource_exhausted for an allocation failure, else internal.
status cuda_status(cudaError_t e, const char* what);

// Counters behind graph_stats(); updated by streams of any thread.
struct graph_counters {
  std::atomic<uint64_t> graph_steps{0}, instantiations{0}, updates{0}, eager_steps{0}, fallbacks{0};
};

class cuda_device;

class cuda_buffer final : public buffer {
 public:
  cuda_buffer(const cuda_device& d, int dev, void* p, size_t n)
      : owner_(d), dev_(dev), p_(static_cast<uint8_t*>(p)), n_(n) {}
  ~cuda_buffer() override;
  size_t size() const override { return n_; }
  status upload(size_t offset, const void* src, size_t n) override;
  status download(size_t offset, void* dst, size_t n) const override;
  uint8_t* data() const { return p_; }
  const cuda_device& owner() const { return owner_; }

 private:
  const cuda_device& owner_;
  int dev_;
  uint8_t* p_;
  size_t n_;
};

class cuda_device final : public device {
 public:
  cuda_device(int dev, device_info info, const cuda_options& o)
      : dev_(dev), info_(std::move(info)), options_(o) {}
  const device_info& info() const override { return info_; }
  bool supports(op_kind op, tensor_type t) const override;
  result<std::unique_ptr<buffer>> alloc(size_t bytes) override;
  result<std::unique_ptr<stream>> create_stream() override;

  const cuda_options& options() const { return options_; }
  graph_counters& counters() const { return counters_; }

 private:
  int dev_;
  device_info info_;
  cuda_options options_;
  mutable graph_counters counters_;
};

// A stream of device `d` (ordinal dev) on the CUDA stream s, which it then owns.
std::unique_ptr<stream> make_cuda_stream(const cuda_device& d, int dev, cudaStream_t s);

}  // namespace r1::kernels::cu
