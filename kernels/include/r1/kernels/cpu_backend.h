// The CPU backend: the reference implementation of backend.h over the CPU
// kernels (matmul.h, ops.h, attention.h). Buffers are host memory; a stream
// runs each operation when it is queued, on the backend's thread pool, so
// synchronize() only reports success.
// Thread safety: as backend.h; streams of one CPU device share its pool, so
// use one stream at a time per device.
#pragma once

#include <memory>

#include "r1/kernels/backend.h"

namespace r1::kernels {

// n_threads <= 0: one per physical core.
std::unique_ptr<backend> make_cpu_backend(int n_threads = 0);

// Host pointer of a CPU buffer at a.offset; nullptr when a.buf is not a CPU buffer.
void* cpu_pointer(const tensor_arg& a);

}  // namespace r1::kernels
