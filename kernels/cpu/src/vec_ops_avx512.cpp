// AVX-512 vector math (exp, SiLU, softmax, flash-attention tiles). Compiled with
// AVX-512 flags for this file only and reached only through avx512_vec_ops after
// the CPU check (the avx512 and amx paths).
#include <immintrin.h>

#include <cstring>

// GCC 12's AVX-512 intrinsics pass _mm512_undefined_* (a self-initialised
// variable) as the unused merge source, which trips these warnings at every use.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#include "vec_ops_impl.h"

namespace r1::kernels::detail {
namespace {

struct v512 {
  using vf = __m512;
  static constexpr int W = 16;
  static constexpr int score_row_vectors = 3;  // 3 × 4 accumulators
  static constexpr int score_keys = 4;
  static constexpr int pv_vectors = 4;         // 4 rows × 4 vectors of V
  static vf load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, vf v) { _mm512_storeu_ps(p, v); }
  static vf set1(float x) { return _mm512_set1_ps(x); }
  static vf bcast(const float* p) { return _mm512_set1_ps(*p); }
  static vf add(vf a, vf b) { return _mm512_add_ps(a, b); }
  static vf sub(vf a, vf b) { return _mm512_sub_ps(a, b); }
  static vf mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
  static vf div(vf a, vf b) { return _mm512_div_ps(a, b); }
  static vf fma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
  static vf max(vf a, vf b) { return _mm512_max_ps(a, b); }
  static float hsum(vf v) { return _mm512_reduce_add_ps(v); }
  static float hmax(vf v) { return _mm512_reduce_max_ps(v); }
  static vf hide(vf s, const int32_t* vis, int32_t j) {
    const __mmask16 k = _mm512_cmple_epi32_mask(_mm512_loadu_si512(vis), _mm512_set1_epi32(j));
    return _mm512_mask_blend_ps(k, s, _mm512_set1_ps(k_neg_inf));
  }
  static vf finite_or_zero(vf m) {
    const __mmask16 k = _mm512_cmp_ps_mask(m, _mm512_set1_ps(k_neg_inf), _CMP_EQ_OQ);
    return _mm512_mask_blend_ps(k, m, _mm512_setzero_ps());
  }
  static vf min(vf a, vf b) { return _mm512_min_ps(a, b); }
  static vf round(vf x) { return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // p · 2^n as p · 2^(n>>1) · 2^(n - (n>>1)): each factor is a normal float for n in [-150, 128].
  static vf times_pow2(vf p, vf n) {
    const __m512i ni = _mm512_cvtps_epi32(n);
    const __m512i n1 = _mm512_srai_epi32(ni, 1);
    const __m512i n2 = _mm512_sub_epi32(ni, n1);
    const __m512i bias = _mm512_set1_epi32(127);
    const vf s1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n1, bias), 23));
    const vf s2 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n2, bias), 23));
    return _mm512_mul_ps(_mm512_mul_ps(p, s1), s2);
  }
  static vf exp(vf x) { return exp_poly<v512>(x); }

  static vf load_f16(const uint16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }

  // Key pairs (vec_ops_impl.h, score_pairs): lane 2r + i holds query row r against key i.
  static vf bcast_pair(const float* p) {
    double d;
    std::memcpy(&d, p, sizeof d);
    return _mm512_castpd_ps(_mm512_set1_pd(d));
  }
  static vf dup_rows(vf q) {  // [q0 q0 q1 q1 ... q7 q7]
    return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7), q);
  }
  static void interleave_pairs(vf a, vf b, vf& lo, vf& hi) {  // lo [a0 b0 ... a7 b7], hi [a8 b8 ... a15 b15]
    lo = _mm512_permutex2var_ps(a, _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), b);
    hi = _mm512_permutex2var_ps(a, _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), b);
  }
  static void split_pairs(vf x, vf& first, vf& second) {  // the even lanes, the odd lanes; zeros above
    first = _mm512_maskz_permutexvar_ps(0x00ff, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 0, 0, 0, 0, 0, 0, 0, 0), x);
    second = _mm512_maskz_permutexvar_ps(0x00ff, _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 0, 0, 0, 0, 0, 0, 0, 0), x);
  }
};

}  // namespace

extern const vec_ops_table avx512_vec_ops = make_vec_ops<v512>();

}  // namespace r1::kernels::detail
