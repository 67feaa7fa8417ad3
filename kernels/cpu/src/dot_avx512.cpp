// AVX-512 (F, BW, VL, DQ, VNNI) kernels. Compiled with the matching -m flags for
// this file only; reached only through avx512_ops after the CPU check.
#include <immintrin.h>

#include "blocks.h"

namespace r1::kernels::detail {
extern const isa_ops avx512_ops = {{}, nullptr, nullptr};
extern const dot_fn avx512_bf16_dot = nullptr;
}  // namespace r1::kernels::detail
