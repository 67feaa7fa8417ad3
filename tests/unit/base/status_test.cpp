#include "r1/base/status.h"

#include <cerrno>

#include <gtest/gtest.h>

namespace r1 {
namespace {

result<int> half(int x) {
  if (x % 2) return invalid_argument("odd: " + std::to_string(x));
  return x / 2;
}

status quarter(int x, int* out) {
  R1_ASSIGN_OR_RETURN(int h, half(x));
  R1_ASSIGN_OR_RETURN(int q, half(h));
  *out = q;
  return {};
}

TEST(Status, OkAndErrors) {
  EXPECT_TRUE(status{}.ok());
  status s = not_found("model x");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), error_code::not_found);
  EXPECT_EQ(s.to_string(), "not_found: model x");
  EXPECT_EQ(s.with_context("pull").message(), "pull: model x");
}

TEST(Status, ErrnoMapping) {
  EXPECT_EQ(errno_status("open a", ENOENT).code(), error_code::not_found);
  EXPECT_EQ(errno_status("write", ENOSPC).code(), error_code::resource_exhausted);
  EXPECT_EQ(errno_status("open", EACCES).code(), error_code::permission_denied);
  EXPECT_NE(errno_status("open a", ENOENT).message().find("open a: "), std::string::npos);
}

TEST(Result, PropagatesThroughMacros) {
  int out = 0;
  EXPECT_TRUE(quarter(8, &out).ok());
  EXPECT_EQ(out, 2);
  status s = quarter(6, &out);
  EXPECT_EQ(s.code(), error_code::invalid_argument);
  EXPECT_EQ(s.message(), "odd: 3");
  EXPECT_EQ(half(3).value_or(-1), -1);
}

}  // namespace
}  // namespace r1
