#include "r1/base/raii.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>

namespace r1 {
namespace {

std::string temp_dir() {
  char tmpl[] = "/tmp/r1-base-test-XXXXXX";
  return mkdtemp(tmpl);
}

TEST(Raii, AtomicWriteThenMapAndRead) {
  std::string dir = temp_dir();
  std::string path = dir + "/f";
  ASSERT_TRUE(write_file_atomic(path, "hello").ok());
  auto text = read_file(path);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "hello");
  auto m = mapped_file::open(path);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  ASSERT_EQ(m->size(), 5u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m->data()), m->size()), "hello");
  // No temp file is left beside the target.
  int n = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) (void)e, ++n;
  EXPECT_EQ(n, 1);
  std::filesystem::remove_all(dir);
}

TEST(Raii, ErrorsNameThePath) {
  auto m = mapped_file::open("/nonexistent/r1/x");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code(), error_code::not_found);
  EXPECT_NE(m.error().message().find("/nonexistent/r1/x"), std::string::npos);
  auto big = read_file("/proc/self/status", 4);
  EXPECT_EQ(big.error().code(), error_code::resource_exhausted);
}

TEST(Raii, UniqueFdCloses) {
  int raw;
  {
    auto fd = open_fd("/dev/null", O_RDONLY);
    ASSERT_TRUE(fd.ok());
    raw = fd->get();
    EXPECT_GE(fcntl(raw, F_GETFD), 0);
  }
  EXPECT_EQ(fcntl(raw, F_GETFD), -1);
}

}  // namespace
}  // namespace r1
