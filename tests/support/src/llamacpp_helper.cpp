#include "r1/test_support/llamacpp_helper.h"

#include <cstdio>
#include <cstdlib>

namespace r1::test_support {

std::string llamacpp_helper_path() {
  const char* dir = std::getenv("R1_LLAMACPP_DIR");
  if (dir == nullptr) return {};
  std::string p = std::string(dir) + "/bin/r1-llamacpp-logprobs";
  FILE* f = std::fopen(p.c_str(), "rb");
  if (f == nullptr) return {};
  std::fclose(f);
  return p;
}

result<nlohmann::json> llamacpp_logprobs(const std::string& model, const std::string& kv,
                                         const std::vector<int32_t>& tokens, const std::string& env_prefix) {
  std::string csv;
  // Appended piece by piece: `"," + std::to_string(...)` draws a false -Wrestrict from GCC 12 at -O3.
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i) csv += ',';
    csv += std::to_string(tokens[i]);
  }
  const std::string cmd =
      env_prefix + llamacpp_helper_path() + " '" + model + "' " + kv + " 2 5 " + csv + " 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return io_error("popen");
  std::string out;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int rc = ::pclose(p);
  if (rc != 0) return internal_error("llama.cpp helper failed (" + std::to_string(rc) + ")");
  auto j = nlohmann::json::parse(out, nullptr, false);
  if (j.is_discarded()) return corrupt("helper output is not JSON");
  return j;
}

}  // namespace r1::test_support
