#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "r1/api/modelfile.h"
#include "r1/api/options.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto mf = r1::api::parse_modelfile(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!mf.ok()) return 0;
  (void)r1::api::parameters_to_json(mf->parameters);
  auto again = r1::api::parse_modelfile(r1::api::format_modelfile(*mf));
  if (!again.ok() || again->from != mf->from) std::abort();  // what we write, we read back
  return 0;
}
