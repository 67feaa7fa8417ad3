// AVX2 + FMA vector math (exp, SiLU, softmax, flash-attention tiles). Compiled
// with -mavx2 -mfma -mf16c for this file only and reached only through
// avx2_vec_ops after the CPU check.
#include <immintrin.h>

#include "vec_ops_impl.h"

namespace r1::kernels::detail {
namespace {

struct v256 {
  using vf = __m256;
  static constexpr int W = 8;
  static constexpr int score_row_vectors = 2;  // 2 × 4 accumulators of 16 registers
  static constexpr int score_keys = 4;
  static constexpr int pv_vectors = 2;         // 4 rows × 2 vectors of V
  static vf load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, vf v) { _mm256_storeu_ps(p, v); }
  static vf set1(float x) { return _mm256_set1_ps(x); }
  static vf bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static vf add(vf a, vf b) { return _mm256_add_ps(a, b); }
  static vf sub(vf a, vf b) { return _mm256_sub_ps(a, b); }
  static vf mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
  static vf div(vf a, vf b) { return _mm256_div_ps(a, b); }
  static vf fma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
  static vf max(vf a, vf b) { return _mm256_max_ps(a, b); }
  static float hsum(vf v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static float hmax(vf v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static vf hide(vf s, const int32_t* vis, int32_t j) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(vis));
    const __m256i gone = _mm256_cmpgt_epi32(_mm256_set1_epi32(j + 1), v);  // vis <= j
    return _mm256_blendv_ps(s, _mm256_set1_ps(k_neg_inf), _mm256_castsi256_ps(gone));
  }
  static vf finite_or_zero(vf m) {
    const vf is_inf = _mm256_cmp_ps(m, _mm256_set1_ps(k_neg_inf), _CMP_EQ_OQ);
    return _mm256_blendv_ps(m, _mm256_setzero_ps(), is_inf);
  }
  static vf min(vf a, vf b) { return _mm256_min_ps(a, b); }
  static vf round(vf x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // p · 2^n in two factors, as in vec_ops_avx512.cpp.
  static vf times_pow2(vf p, vf n) {
    const __m256i ni = _mm256_cvtps_epi32(n);
    const __m256i n1 = _mm256_srai_epi32(ni, 1);
    const __m256i n2 = _mm256_sub_epi32(ni, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    const vf s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    const vf s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
  }
  static vf exp(vf x) { return exp_poly<v256>(x); }
};

}  // namespace

extern const vec_ops_table avx2_vec_ops = make_vec_ops<v256>();

}  // namespace r1::kernels::detail
