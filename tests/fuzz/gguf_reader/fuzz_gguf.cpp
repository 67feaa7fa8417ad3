// libFuzzer target: any byte string must parse to a file or to a corrupt
// status, never crash; whatever parses must survive every accessor.
#include <cstddef>
#include <cstdint>
#include <span>

#include "r1/gguf/file.h"
#include "r1/gguf/model_params.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = r1::gguf::file::open_memory(std::span<const uint8_t>(data, size), "fuzz");
  if (!f.ok()) return 0;
  volatile uint64_t sink = 0;
  for (const r1::gguf::kv& e : f->metadata()) {
    sink = sink + e.as_uint().value_or(0) + static_cast<uint64_t>(e.as_float().value_or(0) != 0);
    if (e.type == r1::gguf::value_type::array) {
      for (uint64_t i = 0; i < e.count && i < 64; ++i) sink = sink + static_cast<uint64_t>(e.int_at(i).value_or(0));
      (void)f->get_int_array(e.key);
      (void)f->get_float_array(e.key);
      (void)f->get_string_array(e.key);
    } else {
      (void)f->get_string(e.key);
      (void)f->get_bool(e.key);
    }
  }
  for (const r1::gguf::tensor_info& t : f->tensors()) {
    // Touch the first and last byte: they must lie inside the input.
    if (t.size) sink = sink + t.data[0] + t.data[t.size - 1];
  }
  auto p = r1::gguf::resolve_params(*f);
  if (p.ok()) {
    (void)r1::gguf::check_tensors(*p, *f);
    sink = sink + r1::gguf::kv_bytes_per_token(*p);
  }
  return 0;
}
