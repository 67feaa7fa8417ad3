// Helpers of the backend tests: random data, device tensors, error measures.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "r1/kernels/backends.h"

namespace r1::kernels::testing {

// The process-wide registry (backends are expensive to start).
backend_registry& registry();
// The CPU device, the reference.
device& cpu_device();
// Every non-CPU device, named "vulkan0" ...
std::vector<device*> gpu_devices();
std::string device_label(const device& d);

std::vector<float> random_floats(size_t n, float lo, float hi, uint32_t seed);

// A buffer on a device holding a copy of host data (or zeros).
struct dev_tensor {
  std::unique_ptr<buffer> buf;
  tensor_arg arg() const { return {buf.get(), 0}; }
};
dev_tensor upload(device& d, const void* data, size_t bytes);
dev_tensor zeros(device& d, size_t bytes);
template <class T>
dev_tensor upload(device& d, const std::vector<T>& v) {
  return upload(d, v.data(), v.size() * sizeof(T));
}
std::vector<float> download_floats(const dev_tensor& t, size_t n);

// Normalised mean squared error sum((a-b)²) / sum(b²) (b the reference).
double nmse(const std::vector<float>& a, const std::vector<double>& b);
double nmse(const std::vector<float>& a, const std::vector<float>& b);
double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace r1::kernels::testing
