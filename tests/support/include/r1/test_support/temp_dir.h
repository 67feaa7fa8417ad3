// A temporary directory for one test, removed with everything inside on destruction.
#pragma once

#include <string>

namespace r1::test_support {

class temp_dir {
 public:
  // Creates $TMPDIR/r1-test-<tag>-XXXXXX (R1_ASSERTs on failure: tests cannot run without it).
  explicit temp_dir(const std::string& tag = "tmp");
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& child) const { return path_ + "/" + child; }

 private:
  std::string path_;
};

}  // namespace r1::test_support
