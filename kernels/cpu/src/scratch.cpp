#include "r1/kernels/scratch.h"

#include <cstdlib>

#include "r1/base/assert.h"

namespace r1::kernels {

void scratch::free_fn::operator()(void* p) const { std::free(p); }

void* scratch::get(size_t bytes) {
  if (bytes <= capacity_ && data_) return data_.get();
  size_t cap = capacity_ ? capacity_ : 4096;
  while (cap < bytes) cap *= 2;
  void* p = std::aligned_alloc(64, (cap + 63) / 64 * 64);
  R1_ASSERT_MSG(p != nullptr, "scratch: out of memory");
  data_.reset(static_cast<uint8_t*>(p));
  capacity_ = cap;
  return p;
}

}  // namespace r1::kernels
