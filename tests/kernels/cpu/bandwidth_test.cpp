// measure_read_bandwidth: finite, positive rates (slices and whole passes); p90 at least the median; a buffer smaller
// than one slice is rounded up when the function allocates it.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "r1/kernels/bandwidth.h"

namespace r1::kernels {
namespace {

TEST(Bandwidth, GivenBufferGivesOrderedFiniteRates) {
  std::vector<uint8_t> buf(size_t{32} << 20, 7);
  thread_pool pool(2);
  const bandwidth_result r = measure_read_bandwidth(buf.data(), buf.size(), 1, pool);
  EXPECT_TRUE(std::isfinite(r.p90_gbs));
  EXPECT_GT(r.median_gbs, 0.0);
  EXPECT_GE(r.p90_gbs, r.median_gbs);
  EXPECT_TRUE(std::isfinite(r.pass_gbs));
  EXPECT_GT(r.pass_gbs, 0.0);
}

TEST(Bandwidth, OwnBufferOfLessThanASlice) {
  thread_pool pool(1);
  auto r = measure_read_bandwidth(pool, 1 << 20, 1);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_GT(r->p90_gbs, 0.0);
}

}  // namespace
}  // namespace r1::kernels
