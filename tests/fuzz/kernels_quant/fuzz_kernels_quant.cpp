// Input: byte 0 picks a type, byte 1 a kernel path, byte 2 an mix file type; the
// rest is used as raw block bytes, as floats to quantize, and as a tensor name.
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "r1/kernels/cpu.h"

namespace {
using namespace r1;
using namespace r1::kernels;

constexpr tensor_type k_types[] = {tensor_type::f32,  tensor_type::f16,  tensor_type::bf16, tensor_type::q4_0,
                                   tensor_type::q4_1, tensor_type::q5_0, tensor_type::q5_1, tensor_type::q8_0,
                                   tensor_type::q2_k, tensor_type::q3_k, tensor_type::q4_k, tensor_type::q5_k,
                                   tensor_type::q6_k, tensor_type::iq4_nl, tensor_type::iq4_xs};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const tensor_type t = k_types[data[0] % (sizeof(k_types) / sizeof(k_types[0]))];
  const char* paths[] = {"scalar", "avx2", "avx512"};
  (void)set_kernel_path(paths[data[1] % 3]);  // unsupported paths are refused, the active one stays
  const uint32_t ftypes[] = {0, 1, 2, 3, 7, 8, 9, 14, 15, 16, 17, 18, 32, 99};
  const auto ftype = static_cast<file_type>(ftypes[data[2] % (sizeof(ftypes) / sizeof(ftypes[0]))]);
  data += 3;
  size -= 3;

  // Raw bytes as whole blocks of t: dequantize and dot against a quantized activation.
  const auto& info = type_info(t);
  const int64_t n = static_cast<int64_t>(size / info.block_bytes) * info.block_elems;
  if (n > 0 && n <= 4096) {
    // Copy: model data is aligned (GGUF alignment), fuzzer input is not.
    std::vector<uint8_t> blocks(data, data + row_size(t, n));
    std::vector<float> deq(static_cast<size_t>(n));
    (void)dequantize_row(t, blocks.data(), deq.data(), n);
    const tensor_type vt = vec_dot_type(t);
    std::vector<uint8_t> act(row_size(vt, n));
    if (quantize_row(vt, deq.data(), act.data(), n).ok()) (void)vec_dot(t, n, blocks.data(), act.data());
  }

  // The bytes as floats (NaN, inf, subnormals included): quantize to t and back.
  const int64_t nf = static_cast<int64_t>(size / 4) / info.block_elems * info.block_elems;
  if (nf > 0 && nf <= 4096) {
    std::vector<float> x(static_cast<size_t>(nf));
    std::memcpy(x.data(), data, static_cast<size_t>(nf) * 4);
    std::vector<uint8_t> q(row_size(t, nf));
    std::vector<float> back(static_cast<size_t>(nf));
    if (quantize_row(t, x.data(), q.data(), nf).ok()) (void)dequantize_row(t, q.data(), back.data(), nf);
    (void)quantize_row_reference(t, x.data(), q.data(), nf);
  }

  // The bytes as a tensor name.
  const std::string_view name(reinterpret_cast<const char*>(data), size < 96 ? size : 96);
  mix_model m{"deepseek2", 61, 256, false, (size & 1) != 0};
  (void)choose_mix_type(ftype, {name, 2, static_cast<int64_t>(size) * 32, tensor_type::f32}, -1, m);
  (void)parse_file_type(name);
  return 0;
}
