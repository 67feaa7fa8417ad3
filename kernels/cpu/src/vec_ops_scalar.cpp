// Baseline (any x86-64) instance of the vector-math kernels, with eight-lane
// arrays the compiler may vectorise with SSE2 and the library's std::exp, and
// the choice of table for the active kernel path.
#include <cmath>

#include "r1/kernels/cpu_features.h"
#include "vec_ops_impl.h"

namespace r1::kernels::detail {
namespace {

struct lanes8 {
  struct vf {
    float v[8];
  };
  static constexpr int W = 8;
  static constexpr int score_row_vectors = 2;
  static constexpr int score_keys = 4;
  static constexpr int pv_vectors = 2;
  template <class F>
  static vf map(F fn) {
    vf r;
    for (int i = 0; i < W; ++i) r.v[i] = fn(i);
    return r;
  }
  static vf load(const float* p) { return map([&](int i) { return p[i]; }); }
  static void store(float* p, vf a) {
    for (int i = 0; i < W; ++i) p[i] = a.v[i];
  }
  static vf set1(float x) { return map([&](int) { return x; }); }
  static vf bcast(const float* p) { return set1(*p); }
  static vf add(vf a, vf b) { return map([&](int i) { return a.v[i] + b.v[i]; }); }
  static vf sub(vf a, vf b) { return map([&](int i) { return a.v[i] - b.v[i]; }); }
  static vf mul(vf a, vf b) { return map([&](int i) { return a.v[i] * b.v[i]; }); }
  static vf div(vf a, vf b) { return map([&](int i) { return a.v[i] / b.v[i]; }); }
  // Multiply then add (no FMA instruction in the baseline ISA).
  static vf fma(vf a, vf b, vf c) { return map([&](int i) { return a.v[i] * b.v[i] + c.v[i]; }); }
  static vf max(vf a, vf b) { return map([&](int i) { return std::fmax(a.v[i], b.v[i]); }); }
  static float hsum(vf a) {
    float s = 0.0f;
    for (float x : a.v) s += x;
    return s;
  }
  static float hmax(vf a) {
    float m = a.v[0];
    for (float x : a.v) m = std::fmax(m, x);
    return m;
  }
  static vf hide(vf s, const int32_t* vis, int32_t j) {
    return map([&](int i) { return vis[i] <= j ? k_neg_inf : s.v[i]; });
  }
  static vf finite_or_zero(vf m) { return map([&](int i) { return m.v[i] == k_neg_inf ? 0.0f : m.v[i]; }); }
  static vf exp(vf a) { return map([&](int i) { return std::exp(a.v[i]); }); }
};

}  // namespace

extern const vec_ops_table scalar_vec_ops = make_vec_ops<lanes8>();

const vec_ops_table& active_vec_ops() {
  switch (active_kernel_path()) {
    case kernel_path::avx512:
    case kernel_path::amx:
      return avx512_vec_ops;
    case kernel_path::avx2:
      return avx2_vec_ops;
    case kernel_path::scalar:
      break;
  }
  return scalar_vec_ops;
}

}  // namespace r1::kernels::detail
