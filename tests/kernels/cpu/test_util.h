// Shared helpers for the CPU kernel tests: random data, random valid blocks, and
// an independent float64 decoder written from the format description
// (gguf-and-quants.md §5), reading raw bytes rather than the library's structs.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "r1/base/tensor_type.h"
#include "r1/kernels/quants.h"

namespace r1::kernels::test {

inline double half_to_double(const uint8_t* p) {
  const unsigned h = static_cast<unsigned>(p[0]) | (static_cast<unsigned>(p[1]) << 8);
  const int sign = (h >> 15) ? -1 : 1;
  const int e = static_cast<int>((h >> 10) & 31);
  const int m = static_cast<int>(h & 1023);
  if (e == 0) return sign * std::ldexp(static_cast<double>(m), -24);
  if (e == 31) return m ? NAN : sign * INFINITY;
  return sign * std::ldexp(1024.0 + m, e - 25);
}

inline void put_half(uint8_t* p, float v) {
  const uint16_t h = fp32_to_fp16(v);
  p[0] = static_cast<uint8_t>(h & 0xff);
  p[1] = static_cast<uint8_t>(h >> 8);
}

inline std::vector<float> random_floats(std::mt19937& rng, int64_t n, float scale = 1.0f) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(rng);
  return v;
}

// Random bytes with every scale field set to a sane positive/negative half.
std::vector<uint8_t> random_blocks(std::mt19937& rng, tensor_type t, int64_t n);

// Decodes n elements of type t from raw bytes in double, per the documented formulas.
std::vector<double> reference_dequantize(tensor_type t, const uint8_t* p, int64_t n);

// Σ |a_i| |b_i|, the scale dot-product tolerances are stated against.
inline double abs_dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += std::fabs(a[i] * b[i]);
  return s;
}

// The float64 dot product of weight row w (type t) with activation row a (type
// vec_dot_type(t)), n elements, as the formats define it: for Q8_1 activations
// the weight's min term uses the stored s = d·Σq. *scale receives the sum of
// the absolute terms, which tolerances are stated against.
double reference_dot(tensor_type t, const uint8_t* w, const uint8_t* a, int64_t n, double* scale);

// Restores the kernel path active at construction when it goes out of scope.
class path_guard {
 public:
  path_guard() : saved_(kernel_path_name()) {}
  ~path_guard() { (void)set_kernel_path(saved_); }
  path_guard(const path_guard&) = delete;
  path_guard& operator=(const path_guard&) = delete;

 private:
  std::string saved_;
};

// Weight types with dot kernels, and the kernel paths this CPU supports.
std::vector<tensor_type> dot_types();
std::vector<kernel_path> supported_paths();

}  // namespace r1::kernels::test
