#include "r1/test_support/temp_dir.h"

#include <stdlib.h>

#include <filesystem>
#include <system_error>

#include "r1/base/assert.h"

namespace r1::test_support {

temp_dir::temp_dir(const std::string& tag) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/r1-test-" + tag + "-XXXXXX";
  R1_ASSERT_MSG(::mkdtemp(tmpl.data()) != nullptr, "mkdtemp failed");
  path_ = tmpl;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace r1::test_support
