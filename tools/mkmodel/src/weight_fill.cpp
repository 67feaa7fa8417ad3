#include "r1/mkmodel/weight_fill.h"

#include <cmath>
#include <cstring>
#include <numbers>

#if R1_MKMODEL_HAVE_KERNELS
#include "r1/kernels/quants.h"
#endif

namespace r1::mkmodel {
namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t fnv1a(std::string_view s, uint64_t h = 0xcbf29ce484222325ull) {
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// Uniform in [-1, 1) from the top 24 bits: exact in float, identical everywhere.
float uniform_pm1(uint64_t& state) {
  return static_cast<float>(splitmix64(state) >> 40) * (2.0f / 16777216.0f) - 1.0f;
}

float llama3_divisor(uint64_t i, uint64_t n_rot, float base) {
  const double factor = 8, low = 1, high = 4, orig = 8192;
  double freq = std::pow(static_cast<double>(base), -2.0 * static_cast<double>(i) / static_cast<double>(n_rot));
  double wavelen = 2 * std::numbers::pi / freq;
  if (wavelen < orig / high) return 1.0f;
  if (wavelen > orig / low) return static_cast<float>(factor);
  double smooth = (orig / wavelen - low) / (high - low);
  return static_cast<float>(1.0 / ((1 - smooth) / factor + smooth));
}

}  // namespace

uint16_t f32_to_f16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000, a = x & 0x7fffffff;
  if (a >= 0x7f800000) return static_cast<uint16_t>(sign | (a > 0x7f800000 ? 0x7e00 : 0x7c00));
  if (a >= 0x477ff000) return static_cast<uint16_t>(sign | 0x7c00);  // rounds to infinity
  if (a < 0x38800000) {  // below 2^-14: subnormal, scale by 2^24 and round to nearest even
    float v;
    std::memcpy(&v, &a, 4);
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(std::nearbyint(v * 16777216.0f)));
  }
  a += 0xc8000fffu + ((a >> 13) & 1);  // rebias the exponent by -112 and round to nearest even
  return static_cast<uint16_t>(sign | (a >> 13));
}

uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffff) > 0x7f800000) return static_cast<uint16_t>((u >> 16) | 0x40);
  return static_cast<uint16_t>((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

bool can_write_type(tensor_type t) {
  if (t == tensor_type::f32 || t == tensor_type::f16 || t == tensor_type::bf16) return true;
#if R1_MKMODEL_HAVE_KERNELS
  return kernels::can_quantize(t) && t != tensor_type::q8_1 && t != tensor_type::q8_k;
#else
  return false;
#endif
}

void row_values(const fill_desc& d, uint64_t row, std::vector<float>& out) {
  out.resize(d.row_len);
  if (d.kind == fill_kind::rope_freqs) {
    for (uint64_t i = 0; i < d.row_len; ++i) out[i] = llama3_divisor(i, d.row_len * 2, d.rope_base);
    return;
  }
  uint64_t state = d.seed ^ fnv1a(d.name) ^ (row * 0xd1b54a32d192ed03ull);
  // A uniform on [-a, a) has std a/sqrt(3).
  float amp = 0, center = 0;
  switch (d.kind) {
    case fill_kind::weight: amp = d.scale * std::sqrt(3.0f / static_cast<float>(d.row_len ? d.row_len : 1)); break;
    case fill_kind::norm: amp = 0.05f * std::sqrt(3.0f); center = 1.0f; break;
    case fill_kind::bias: amp = 0.02f * std::sqrt(3.0f); break;
    case fill_kind::rope_freqs: break;
  }
  for (uint64_t i = 0; i < d.row_len; ++i) out[i] = center + amp * uniform_pm1(state);
}

status fill_rows(const fill_desc& d, uint64_t first_row, uint64_t n_rows, uint8_t* dst) {
  const tensor_type_info& info = type_info(d.type);
  uint64_t rb = row_bytes(info, d.row_len);
  std::vector<float> v;
  for (uint64_t r = 0; r < n_rows; ++r) {
    row_values(d, first_row + r, v);
    uint8_t* out = dst + r * rb;
    switch (d.type) {
      case tensor_type::f32: std::memcpy(out, v.data(), rb); break;
      case tensor_type::f16:
        for (uint64_t i = 0; i < d.row_len; ++i) {
          uint16_t h = f32_to_f16(v[i]);
          std::memcpy(out + 2 * i, &h, 2);
        }
        break;
      case tensor_type::bf16:
        for (uint64_t i = 0; i < d.row_len; ++i) {
          uint16_t h = f32_to_bf16(v[i]);
          std::memcpy(out + 2 * i, &h, 2);
        }
        break;
      default:
#if R1_MKMODEL_HAVE_KERNELS
        R1_RETURN_IF_ERROR(kernels::quantize_row(d.type, v.data(), out, static_cast<int64_t>(d.row_len)));
        break;
#else
        return invalid_argument("type " + std::string(info.name) + " needs the CPU kernels' quantizers");
#endif
    }
  }
  return {};
}

}  // namespace r1::mkmodel
