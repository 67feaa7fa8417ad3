// Reusable, 64-byte aligned scratch memory for kernels (quantized activations,
// attention tiles). Grows on demand and keeps its largest size; one scratch per
// inference thread. Not thread safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace r1::kernels {

class scratch {
 public:
  scratch() = default;
  // Returns at least `bytes` bytes, 64-byte aligned; invalidates earlier pointers.
  void* get(size_t bytes);
  size_t capacity() const { return capacity_; }

 private:
  struct free_fn { void operator()(void* p) const; };
  std::unique_ptr<uint8_t, free_fn> data_;
  size_t capacity_ = 0;
};

}  // namespace r1::kernels
