// AVX2 + FMA + F16C kernels. Compiled with -mavx2 -mfma -mf16c for this file
// only; reached only through avx2_ops after the CPU check.
#include <immintrin.h>

#include "blocks.h"

namespace r1::kernels::detail {
extern const isa_ops avx2_ops = {{}, nullptr, nullptr};
}  // namespace r1::kernels::detail
