#include <cstddef>
#include <cstdint>
#include <string>

#include "api_keys.h"
#include "r1/base/assert.h"
#include "request_context.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto keys = r1::daemon::parse_key_file(text);
  if (keys.ok()) {
    std::string once = r1::daemon::serialize_key_file(*keys);
    auto back = r1::daemon::parse_key_file(once);
    R1_ASSERT(back.ok());
    R1_ASSERT(r1::daemon::serialize_key_file(*back) == once);
  }
  std::string id = r1::daemon::key_id_of(text);
  R1_ASSERT(id.empty() || id.size() == 16);
  std::string rid = r1::daemon::request_id_for(text);
  R1_ASSERT(r1::daemon::request_id_is_sane(rid));
  std::string in_line = r1::daemon::request_id_in_log_line(text);
  R1_ASSERT(in_line.empty() || r1::daemon::request_id_is_sane(in_line));
  return 0;
}
