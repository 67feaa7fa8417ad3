// Formats: float conversions, dequantization against the documented formulas,
// activation quantizers bit-exact with ggml's rounding, weight quantizer error
// bounds, and scalar dot products against float64.
#include <gtest/gtest.h>
#include <immintrin.h>

#include <bit>
#include <cmath>

#include "r1/kernels/quants.h"
#include "test_util.h"

namespace r1::kernels {
namespace {
using test::random_blocks;
using test::random_floats;
using test::reference_dequantize;

TEST(Float16, EveryHalfRoundTripsExactly) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const uint8_t bytes[2] = {static_cast<uint8_t>(h & 0xff), static_cast<uint8_t>(h >> 8)};
    const double ref = test::half_to_double(bytes);
    const float f = fp16_to_fp32(static_cast<uint16_t>(h));
    if (std::isnan(ref)) {
      ASSERT_TRUE(std::isnan(f)) << h;
      ASSERT_EQ(fp32_to_fp16(f), h | 0x200u) << "NaN " << h;  // quieted
      continue;
    }
    ASSERT_EQ(static_cast<double>(f), ref) << h;
    ASSERT_EQ(fp32_to_fp16(f), h) << h;
  }
}

__attribute__((target("f16c"))) uint16_t hw_fp32_to_fp16(float f) {
  return static_cast<uint16_t>(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
}

TEST(Float16, RoundsToNearestEvenLikeF16C) {
  if (!detect_cpu_features().f16c) GTEST_SKIP() << "no F16C on this CPU to compare with";
  std::mt19937 rng(1);
  std::uniform_int_distribution<uint32_t> bits;
  for (int i = 0; i < 2000000; ++i) {
    uint32_t u = bits(rng);
    if (i % 2) u = (u & 0x807fffffu) | ((100u + u % 60u) << 23);  // focus on the half range
    const float f = std::bit_cast<float>(u);
    ASSERT_EQ(fp32_to_fp16(f), hw_fp32_to_fp16(f)) << std::hex << u;
  }
  // Exact ties: 1 + 2^-11 is halfway between 1 and the next half; even wins.
  EXPECT_EQ(fp32_to_fp16(1.0f + 0x1p-11f), 0x3c00);
  EXPECT_EQ(fp32_to_fp16(1.0f + 3 * 0x1p-11f), 0x3c02);
  EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7c00);
  EXPECT_EQ(fp32_to_fp16(65519.0f), 0x7bff);
}

TEST(BFloat16, RoundsToNearestEvenAndQuietsNaN) {
  EXPECT_EQ(fp32_to_bf16(std::bit_cast<float>(0x3f808000u)), 0x3f80);  // tie, even stays
  EXPECT_EQ(fp32_to_bf16(std::bit_cast<float>(0x3f818000u)), 0x3f82);  // tie, odd rounds up
  EXPECT_EQ(fp32_to_bf16(std::bit_cast<float>(0x3f808001u)), 0x3f81);
  EXPECT_EQ(fp32_to_bf16(std::bit_cast<float>(0x7f800001u)), 0x7fc0);  // sNaN -> quiet
  EXPECT_EQ(bf16_to_fp32(0x3f80), 1.0f);
  std::vector<float> x = {1.5f, -2.25f, 3e38f, -0.0f};
  std::vector<uint16_t> b(x.size());
  std::vector<float> back(x.size());
  convert_f32_to_bf16(x.data(), b.data(), 4);
  convert_bf16_to_f32(b.data(), back.data(), 4);
  EXPECT_EQ(back[0], 1.5f);
  EXPECT_EQ(back[1], -2.25f);
  EXPECT_TRUE(std::signbit(back[3]));
}

TEST(Dequantize, MatchesTheDocumentedFormulas) {
  std::mt19937 rng(2);
  for (tensor_type t : {tensor_type::f32, tensor_type::f16, tensor_type::bf16, tensor_type::q4_0, tensor_type::q4_1,
                        tensor_type::q5_0, tensor_type::q5_1, tensor_type::q8_0, tensor_type::q2_k, tensor_type::q3_k,
                        tensor_type::q4_k, tensor_type::q5_k, tensor_type::q6_k}) {
    const int64_t n = 1024;
    const auto blocks = random_blocks(rng, t, n);
    std::vector<float> got(n);
    ASSERT_TRUE(dequantize_row(t, blocks.data(), got.data(), n).ok());
    const auto ref = reference_dequantize(t, blocks.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      // Each value is at most two float roundings away from the exact formula.
      ASSERT_NEAR(got[i], ref[i], std::fabs(ref[i]) * 3e-7 + 1e-30) << type_info(t).name << " element " << i;
    }
  }
}

TEST(Dequantize, RejectsPartialBlocksAndUnknownTypes) {
  std::vector<uint8_t> b(1000);
  std::vector<float> out(300);
  EXPECT_EQ(dequantize_row(tensor_type::q4_k, b.data(), out.data(), 100).code(), error_code::invalid_argument);
  EXPECT_EQ(dequantize_row(tensor_type::iq2_xxs, b.data(), out.data(), 256).code(), error_code::invalid_argument);
}

// Q8_0/Q8_1 activations: id = 127/amax and round half to even (ggml's x86 path);
// the reference variant: id = 1/d and roundf.
TEST(QuantizeActivations, Q8_0RoundingTiesAndSaturation) {
  float x[32] = {};
  x[0] = 127.0f;  // amax = 127 -> id = 1 exactly in both rules
  x[1] = 2.5f;
  x[2] = 3.5f;
  x[3] = -2.5f;
  x[4] = 0.5f;
  x[5] = -127.0f;
  x[6] = 126.5f;
  uint8_t fast[34], ref[34];
  ASSERT_TRUE(quantize_row(tensor_type::q8_0, x, fast, 32).ok());
  ASSERT_TRUE(quantize_row_reference(tensor_type::q8_0, x, ref, 32).ok());
  const auto* qf = reinterpret_cast<const int8_t*>(fast + 2);
  const auto* qr = reinterpret_cast<const int8_t*>(ref + 2);
  EXPECT_EQ(qf[0], 127);
  EXPECT_EQ(qf[1], 2);
  EXPECT_EQ(qf[2], 4);
  EXPECT_EQ(qf[3], -2);
  EXPECT_EQ(qf[4], 0);
  EXPECT_EQ(qf[5], -127);
  EXPECT_EQ(qf[6], 126);
  EXPECT_EQ(qr[1], 3);
  EXPECT_EQ(qr[2], 4);
  EXPECT_EQ(qr[3], -3);
  EXPECT_EQ(qr[4], 1);
  EXPECT_EQ(qr[6], 127);
  EXPECT_EQ(test::half_to_double(fast), static_cast<double>(fp16_to_fp32(fp32_to_fp16(1.0f))));
  // Huge dynamic range: the largest maps to ±127, never ±128; tiny ones to 0.
  float y[32];
  for (int j = 0; j < 32; ++j) y[j] = 1e-30f * static_cast<float>(j);
  y[7] = -3e37f;
  y[8] = 3e37f;
  ASSERT_TRUE(quantize_row(tensor_type::q8_0, y, fast, 32).ok());
  EXPECT_EQ(qf[7], -127);
  EXPECT_EQ(qf[8], 127);
  EXPECT_EQ(qf[9], 0);
  // All zeros: d = 0, q = 0.
  float z[32] = {};
  ASSERT_TRUE(quantize_row(tensor_type::q8_0, z, fast, 32).ok());
  for (int j = 0; j < 34; ++j) EXPECT_EQ(fast[j], 0);
}

TEST(QuantizeActivations, Q8_0MatchesTheRuleOnRandomData) {
  std::mt19937 rng(3);
  const int64_t n = 4096;
  const auto x = random_floats(rng, n);
  std::vector<uint8_t> q(row_size(tensor_type::q8_0, n)), r(q.size());
  ASSERT_TRUE(quantize_row(tensor_type::q8_0, x.data(), q.data(), n).ok());
  ASSERT_TRUE(quantize_row_reference(tensor_type::q8_0, x.data(), r.data(), n).ok());
  int differ = 0;
  for (int64_t b = 0; b < n / 32; ++b) {
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[b * 32 + j]));
    const float id = 127.0f / amax, d = amax / 127.0f, rid = 1.0f / d;
    ASSERT_EQ(fp16_to_fp32(static_cast<uint16_t>(q[b * 34] | (q[b * 34 + 1] << 8))), fp16_to_fp32(fp32_to_fp16(d)));
    for (int j = 0; j < 32; ++j) {
      const int expect = static_cast<int>(std::nearbyint(x[b * 32 + j] * id));
      const int expect_ref = static_cast<int>(std::roundf(x[b * 32 + j] * rid));
      ASSERT_EQ(static_cast<int8_t>(q[b * 34 + 2 + j]), expect);
      ASSERT_EQ(static_cast<int8_t>(r[b * 34 + 2 + j]), expect_ref);
      differ += expect != expect_ref;
    }
  }
  EXPECT_LT(differ, 20);  // the two rules differ only on rare ties
}

TEST(QuantizeActivations, Q8_1StoresScaledSum) {
  std::mt19937 rng(4);
  const auto x = random_floats(rng, 64);
  uint8_t q[72];
  ASSERT_TRUE(quantize_row(tensor_type::q8_1, x.data(), q, 64).ok());
  for (int b = 0; b < 2; ++b) {
    float amax = 0;
    int sum = 0;
    for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[b * 32 + j]));
    for (int j = 0; j < 32; ++j) sum += static_cast<int8_t>(q[b * 36 + 4 + j]);
    const float d = amax / 127.0f;
    EXPECT_EQ(test::half_to_double(q + b * 36), fp16_to_fp32(fp32_to_fp16(d)));
    EXPECT_EQ(test::half_to_double(q + b * 36 + 2), fp16_to_fp32(fp32_to_fp16(d * static_cast<float>(sum))));
  }
}

TEST(QuantizeActivations, Q8_KTiesSaturationAndBsums) {
  std::vector<float> x(256, 0.0f);
  x[0] = -127.0f;  // max (signed) = -127 -> iscale = 1
  x[1] = 2.5f;
  x[2] = 3.5f;
  x[3] = -0.5f;
  x[4] = 127.0f;   // opposite sign of max: +127
  x[5] = 126.5f;
  std::vector<uint8_t> q(292);
  ASSERT_TRUE(quantize_row(tensor_type::q8_k, x.data(), q.data(), 256).ok());
  float d;
  std::memcpy(&d, q.data(), 4);
  const auto* qs = reinterpret_cast<const int8_t*>(q.data() + 4);
  EXPECT_EQ(d, 1.0f);  // 1/iscale
  EXPECT_EQ(qs[0], -127);
  EXPECT_EQ(qs[1], 2);
  EXPECT_EQ(qs[2], 4);
  EXPECT_EQ(qs[3], 0);
  EXPECT_EQ(qs[4], 127);
  EXPECT_EQ(qs[5], 126);
  // Positive max: the sign flips (iscale = -127/max) and the largest maps to -127.
  std::mt19937 rng(5);
  auto y = random_floats(rng, 512);
  y[10] = 50.0f;
  ASSERT_TRUE(quantize_row(tensor_type::q8_k, y.data(), q.data(), 256).ok());
  std::memcpy(&d, q.data(), 4);
  EXPECT_EQ(qs[10], -127);
  EXPECT_FLOAT_EQ(d, 1.0f / (-127.0f / 50.0f));
  for (int k = 0; k < 16; ++k) {
    int s = 0;
    for (int j = 0; j < 16; ++j) s += qs[16 * k + j];
    int16_t bs;
    std::memcpy(&bs, q.data() + 260 + 2 * k, 2);
    EXPECT_EQ(bs, s);
  }
  for (int j = 0; j < 256; ++j) {
    const int expect = std::min(127, static_cast<int>(std::nearbyint((-127.0f / 50.0f) * y[j])));
    ASSERT_EQ(qs[j], expect) << j;
  }
}

// Round trip: error per format against what its grid allows.
struct roundtrip_case {
  tensor_type t;
  double max_rel_rmse;  // RMSE / RMS of N(0,1) data
};

TEST(QuantizeWeights, RoundTripErrorWithinFormatBounds) {
  std::mt19937 rng(6);
  const int64_t n = 256 * 64;
  const auto x = random_floats(rng, n);
  // Bounds: a uniform grid of 2^b levels over a block's range (~4.5σ for 32
  // normal samples) has RMSE range/(2^b-1)/sqrt(12) (Q4_0: 0.086, Q8_0: 0.0053);
  // the K formats fit scale and min per sub-block but pay for 6-bit scales.
  // Each bound is ~1.3x what these quantizers achieve, so a regression fails.
  for (const roundtrip_case c : {roundtrip_case{tensor_type::q8_0, 0.007}, {tensor_type::q4_0, 0.11},
                                 {tensor_type::q4_1, 0.10}, {tensor_type::q5_0, 0.055}, {tensor_type::q5_1, 0.05},
                                 {tensor_type::q2_k, 0.35}, {tensor_type::q3_k, 0.19}, {tensor_type::q4_k, 0.093},
                                 {tensor_type::q5_k, 0.047}, {tensor_type::q6_k, 0.023}, {tensor_type::f16, 3e-4},
                                 {tensor_type::bf16, 2.2e-3}}) {
    std::vector<uint8_t> q(row_size(c.t, n));
    ASSERT_TRUE(quantize_row(c.t, x.data(), q.data(), n).ok());
    const auto back = reference_dequantize(c.t, q.data(), n);
    double se = 0, ss = 0, max_err = 0;
    for (int64_t i = 0; i < n; ++i) {
      se += (back[i] - x[i]) * (back[i] - x[i]);
      ss += static_cast<double>(x[i]) * x[i];
      max_err = std::max(max_err, std::fabs(back[i] - x[i]));
    }
    const double rel = std::sqrt(se / ss);
    EXPECT_LT(rel, c.max_rel_rmse) << type_info(c.t).name;
    // No element may be off by more than the coarsest formats' step on N(0,1) data.
    EXPECT_LT(max_err, c.t == tensor_type::q2_k ? 2.0 : 1.0) << type_info(c.t).name;
    std::printf("  %-5s relative RMSE %.5f (bound %.4f), max error %.4f\n", std::string(type_info(c.t).name).c_str(),
                rel, c.max_rel_rmse, max_err);
  }
}

TEST(QuantizeWeights, Q8_0And4_0ElementErrorBounds) {
  std::mt19937 rng(7);
  const int64_t n = 32 * 100;
  const auto x = random_floats(rng, n);
  std::vector<uint8_t> q8(row_size(tensor_type::q8_0, n)), q4(row_size(tensor_type::q4_0, n));
  ASSERT_TRUE(quantize_row(tensor_type::q8_0, x.data(), q8.data(), n).ok());
  ASSERT_TRUE(quantize_row(tensor_type::q4_0, x.data(), q4.data(), n).ok());
  const auto b8 = reference_dequantize(tensor_type::q8_0, q8.data(), n);
  const auto b4 = reference_dequantize(tensor_type::q4_0, q4.data(), n);
  for (int64_t b = 0; b < n / 32; ++b) {
    double amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, static_cast<double>(std::fabs(x[b * 32 + j])));
    const double d8 = amax / 127, d4 = amax / 8;
    for (int j = 0; j < 32; ++j) {
      const int64_t i = b * 32 + j;
      // Half a step, plus the fp16 rounding of d (2^-11 relative) carried by q.
      ASSERT_LE(std::fabs(b8[i] - x[i]), d8 / 2 + amax * 0x1p-11 + 1e-7);
      // Q4_0 has one step more on the side opposite the max (q clamps at 15).
      ASSERT_LE(std::fabs(b4[i] - x[i]), d4 + amax * 0x1p-10 + 1e-7);
    }
  }
}

// Scalar dot kernels against the float64 dot of the decoded operands.
TEST(VecDotScalar, MatchesFloat64OnRandomBlocks) {
  std::mt19937 rng(8);
  for (tensor_type t : test::dot_types()) {
    const tensor_type vt = vec_dot_type(t);
    for (int64_t n : {256, 512, 4096}) {
      const auto w = random_blocks(rng, t, n);
      const auto xf = random_floats(rng, n);
      std::vector<uint8_t> a(row_size(vt, n));
      ASSERT_TRUE(quantize_row(vt, xf.data(), a.data(), n).ok());
      double scale;
      const double ref = test::reference_dot(t, w.data(), a.data(), n, &scale);
      const float got = vec_dot_on(kernel_path::scalar, t, n, w.data(), a.data());
      // Exact integer block sums; float error from the per-block scaling only.
      EXPECT_NEAR(got, ref, 2e-5 * scale + 1e-6) << type_info(t).name << " n=" << n;
    }
  }
}

}  // namespace
}  // namespace r1::kernels
