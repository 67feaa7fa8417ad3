// The token bucket: burst of a minute's worth, then one request per 60/rpm seconds.
#include <gtest/gtest.h>

#include "rate_limit.h"

namespace d = r1::daemon;
using namespace std::chrono_literals;

TEST(rate_limit, burst_then_refill) {
  d::rate_limiter rl;
  auto t0 = d::rate_limiter::clock::time_point{} + 1000s;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(rl.take("k", 3, t0).allowed) << i;
  auto r = rl.take("k", 3, t0);
  EXPECT_FALSE(r.allowed);
  EXPECT_EQ(r.retry_after_s, 20);  // 3 per minute: one token every 20 s
  r = rl.take("k", 3, t0 + 15s);
  EXPECT_FALSE(r.allowed);
  EXPECT_EQ(r.retry_after_s, 5);
  EXPECT_TRUE(rl.take("k", 3, t0 + 20s).allowed);
  EXPECT_FALSE(rl.take("k", 3, t0 + 20s).allowed);
}

TEST(rate_limit, keys_are_independent_and_zero_is_unlimited) {
  d::rate_limiter rl;
  auto t0 = d::rate_limiter::clock::time_point{} + 5s;
  EXPECT_TRUE(rl.take("a", 1, t0).allowed);
  EXPECT_FALSE(rl.take("a", 1, t0).allowed);
  EXPECT_TRUE(rl.take("b", 1, t0).allowed);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(rl.take("c", 0, t0).allowed);
  EXPECT_EQ(rl.tracked(), 2u);
}

TEST(rate_limit, retry_after_rounds_up_to_whole_seconds) {
  d::rate_limiter rl;
  auto t0 = d::rate_limiter::clock::time_point{} + 5s;
  EXPECT_TRUE(rl.take("k", 600, t0).allowed);
  for (int i = 1; i < 600; ++i) ASSERT_TRUE(rl.take("k", 600, t0).allowed) << i;
  auto r = rl.take("k", 600, t0);
  EXPECT_FALSE(r.allowed);
  EXPECT_EQ(r.retry_after_s, 1);  // 0.1 s to the next token, reported as 1
  EXPECT_TRUE(rl.take("k", 600, t0 + 100ms).allowed);
}

TEST(rate_limit, refill_never_exceeds_the_bucket) {
  d::rate_limiter rl;
  auto t0 = d::rate_limiter::clock::time_point{} + 5s;
  EXPECT_TRUE(rl.take("k", 2, t0).allowed);
  // An hour later the bucket holds 2, not 120.
  auto later = t0 + 3600s;
  EXPECT_TRUE(rl.take("k", 2, later).allowed);
  EXPECT_TRUE(rl.take("k", 2, later).allowed);
  EXPECT_FALSE(rl.take("k", 2, later).allowed);
}

TEST(rate_limit, many_keys_are_pruned_once_full) {
  d::rate_limiter rl;
  auto t0 = d::rate_limiter::clock::time_point{} + 5s;
  for (int i = 0; i < 5000; ++i) rl.take("key" + std::to_string(i), 60, t0);
  EXPECT_LE(rl.tracked(), 5000u);
  // A minute later every bucket is full again, so the next new key prunes them all.
  rl.take("fresh", 60, t0 + 61s);
  EXPECT_EQ(rl.tracked(), 1u);
}
