#include "test_util.h"

namespace r1::kernels::test {
namespace {

double h(const uint8_t* p) { return half_to_double(p); }
uint32_t u32(const uint8_t* p) { return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24); }

void scale_min_k4(int j, const uint8_t* q, int* sc, int* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = (q[j + 4] & 15) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

void legacy(tensor_type t, const uint8_t* b, double* y) {
  if (t == tensor_type::q8_0 || t == tensor_type::q8_1) {
    const int off = t == tensor_type::q8_0 ? 2 : 4;
    for (int j = 0; j < 32; ++j) y[j] = h(b) * static_cast<int8_t>(b[off + j]);
    return;
  }
  const bool has_m = t == tensor_type::q4_1 || t == tensor_type::q5_1;
  const bool five = t == tensor_type::q5_0 || t == tensor_type::q5_1;
  const double d = h(b), m = has_m ? h(b + 2) : 0.0;
  const uint8_t* p = b + (has_m ? 4 : 2);
  uint32_t qh = 0;
  if (five) {
    qh = u32(p);
    p += 4;
  }
  for (int j = 0; j < 16; ++j) {
    int lo = p[j] & 15, hi = p[j] >> 4;
    if (five) {
      lo |= static_cast<int>(((qh >> j) << 4) & 0x10);
      hi |= static_cast<int>((qh >> (j + 12)) & 0x10);
    }
    const int off = has_m ? 0 : (five ? -16 : -8);
    y[j] = d * (lo + off) + m;
    y[j + 16] = d * (hi + off) + m;
  }
}

void q2_k(const uint8_t* b, double* y) {
  const uint8_t* scales = b;
  const uint8_t* q = b + 16;
  const double d = h(b + 80), dmin = h(b + 82);
  int is = 0;
  for (int half = 0; half < 2; ++half, q += 32)
    for (int shift = 0; shift < 8; shift += 2)
      for (int part = 0; part < 2; ++part, ++is)
        for (int l = 0; l < 16; ++l)
          *y++ = d * (scales[is] & 15) * ((q[l + 16 * part] >> shift) & 3) - dmin * (scales[is] >> 4);
}

void q3_k(const uint8_t* b, double* y) {
  const uint8_t* hmask = b;
  const uint8_t* q = b + 32;
  const uint8_t* s = b + 96;
  const double d = h(b + 108);
  int sc[16];
  for (int k = 0; k < 16; ++k) {
    const int low = k < 8 ? (s[k % 8] & 15) : (s[k % 8] >> 4);
    const int high = (s[8 + k % 4] >> (2 * (k / 4))) & 3;
    sc[k] = (low | (high << 4)) - 32;
  }
  int is = 0;
  unsigned m = 1;
  for (int half = 0; half < 2; ++half, q += 32)
    for (int shift = 0; shift < 8; shift += 2, m <<= 1)
      for (int part = 0; part < 2; ++part, ++is)
        for (int l = 0; l < 16; ++l)
          *y++ = d * sc[is] * (((q[l + 16 * part] >> shift) & 3) - ((hmask[l + 16 * part] & m) ? 0 : 4));
}

void q45_k(bool five, const uint8_t* b, double* y) {
  const double d = h(b), dmin = h(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* qh = b + 16;
  const uint8_t* qs = five ? b + 48 : b + 16;
  for (int c = 0; c < 4; ++c) {
    int sc1, m1, sc2, m2;
    scale_min_k4(2 * c, scales, &sc1, &m1);
    scale_min_k4(2 * c + 1, scales, &sc2, &m2);
    for (int l = 0; l < 32; ++l) {
      int lo = qs[32 * c + l] & 15, hi = qs[32 * c + l] >> 4;
      if (five) {
        lo += (qh[l] & (1 << (2 * c))) ? 16 : 0;
        hi += (qh[l] & (1 << (2 * c + 1))) ? 16 : 0;
      }
      y[64 * c + l] = d * sc1 * lo - dmin * m1;
      y[64 * c + 32 + l] = d * sc2 * hi - dmin * m2;
    }
  }
}

void q6_k(const uint8_t* b, double* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
  const double d = h(b + 208);
  for (int half = 0; half < 2; ++half, ql += 64, qh += 32, sc += 8, y += 128) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      y[l] = d * sc[is] * (((ql[l] & 15) | (((qh[l] >> 0) & 3) << 4)) - 32);
      y[l + 32] = d * sc[is + 2] * (((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32);
      y[l + 64] = d * sc[is + 4] * (((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
      y[l + 96] = d * sc[is + 6] * (((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
    }
  }
}

}  // namespace

std::vector<double> reference_dequantize(tensor_type t, const uint8_t* p, int64_t n) {
  std::vector<double> y(static_cast<size_t>(n));
  const auto& info = type_info(t);
  for (int64_t b = 0; b < n / info.block_elems; ++b) {
    const uint8_t* blk = p + b * info.block_bytes;
    double* out = y.data() + b * info.block_elems;
    switch (t) {
      case tensor_type::f32: { float f; std::memcpy(&f, blk, 4); *out = f; break; }
      case tensor_type::f16: *out = h(blk); break;
      case tensor_type::bf16: {
        const uint32_t bits = static_cast<uint32_t>(blk[0] | (blk[1] << 8)) << 16;
        float f; std::memcpy(&f, &bits, 4); *out = f; break;
      }
      case tensor_type::q2_k: q2_k(blk, out); break;
      case tensor_type::q3_k: q3_k(blk, out); break;
      case tensor_type::q4_k: q45_k(false, blk, out); break;
      case tensor_type::q5_k: q45_k(true, blk, out); break;
      case tensor_type::q6_k: q6_k(blk, out); break;
      case tensor_type::q8_k: {
        float d; std::memcpy(&d, blk, 4);
        for (int j = 0; j < 256; ++j) out[j] = static_cast<double>(d) * static_cast<int8_t>(blk[4 + j]);
        break;
      }
      default: legacy(t, blk, out); break;
    }
  }
  return y;
}

std::vector<uint8_t> random_blocks(std::mt19937& rng, tensor_type t, int64_t n) {
  const auto& info = type_info(t);
  const int64_t nb = n / info.block_elems;
  std::vector<uint8_t> v(static_cast<size_t>(nb * info.block_bytes));
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& b : v) b = static_cast<uint8_t>(byte(rng));
  std::uniform_real_distribution<float> mag(0.001f, 0.05f);
  std::uniform_int_distribution<int> sign(0, 1);
  auto scale = [&] { return sign(rng) ? mag(rng) : -mag(rng); };
  for (int64_t i = 0; i < nb; ++i) {
    uint8_t* b = v.data() + i * info.block_bytes;
    switch (t) {
      case tensor_type::f32: { const float f = std::normal_distribution<float>()(rng); std::memcpy(b, &f, 4); break; }
      case tensor_type::f16: put_half(b, std::normal_distribution<float>()(rng)); break;
      case tensor_type::bf16: {
        const uint16_t x = fp32_to_bf16(std::normal_distribution<float>()(rng));
        b[0] = static_cast<uint8_t>(x & 0xff); b[1] = static_cast<uint8_t>(x >> 8); break;
      }
      case tensor_type::q4_0: case tensor_type::q5_0: case tensor_type::q8_0: put_half(b, scale()); break;
      case tensor_type::q4_1: case tensor_type::q5_1: put_half(b, scale()); put_half(b + 2, scale()); break;
      case tensor_type::q2_k: put_half(b + 80, std::fabs(scale())); put_half(b + 82, std::fabs(scale())); break;
      case tensor_type::q3_k: put_half(b + 108, scale()); break;
      case tensor_type::q4_k: case tensor_type::q5_k:
        put_half(b, std::fabs(scale())); put_half(b + 2, std::fabs(scale())); break;
      case tensor_type::q6_k: put_half(b + 208, scale()); break;
      default: break;
    }
  }
  return v;
}

double reference_dot(tensor_type t, const uint8_t* w, const uint8_t* a, int64_t n, double* scale) {
  const tensor_type vt = vec_dot_type(t);
  const auto wd = reference_dequantize(t, w, n);
  const auto ad = reference_dequantize(vt, a, n);
  double ref = 0, sc = 0;
  if (vt != tensor_type::q8_1) {
    for (int64_t i = 0; i < n; ++i) ref += wd[static_cast<size_t>(i)] * ad[static_cast<size_t>(i)];
    *scale = abs_dot(wd, ad);
    return ref;
  }
  const int wbytes = static_cast<int>(type_info(t).block_bytes);
  for (int64_t b = 0; b < n / 32; ++b) {
    const double m = h(w + b * wbytes + 2), s = h(a + b * 36 + 2);
    for (int64_t j = b * 32; j < b * 32 + 32; ++j) {
      ref += (wd[static_cast<size_t>(j)] - m) * ad[static_cast<size_t>(j)];
      sc += std::fabs((wd[static_cast<size_t>(j)] - m) * ad[static_cast<size_t>(j)]);
    }
    ref += m * s;
    sc += std::fabs(m * s);
  }
  *scale = sc;
  return ref;
}

std::vector<tensor_type> dot_types() {
  return {tensor_type::f32,  tensor_type::f16,  tensor_type::bf16, tensor_type::q4_0, tensor_type::q4_1,
          tensor_type::q5_0, tensor_type::q5_1, tensor_type::q8_0, tensor_type::q2_k, tensor_type::q3_k,
          tensor_type::q4_k, tensor_type::q5_k, tensor_type::q6_k};
}

std::vector<kernel_path> supported_paths() {
  std::vector<kernel_path> out;
  for (auto p : {kernel_path::scalar, kernel_path::avx2, kernel_path::avx512, kernel_path::amx})
    if (kernel_path_supported(p)) out.push_back(p);
  return out;
}

}  // namespace r1::kernels::test
