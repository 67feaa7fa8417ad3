// Hand-assembled GGUF bytes for hostile-input tests: every field is written
// exactly as given, valid or not.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace r1::gguf::testing {

class raw_gguf {
 public:
  raw_gguf& u8(uint8_t v) { return put(v); }
  raw_gguf& u32(uint32_t v) { return put(v); }
  raw_gguf& u64(uint64_t v) { return put(v); }
  raw_gguf& str(std::string_view s) {
    u64(s.size());
    bytes_.append(s);
    return *this;
  }
  raw_gguf& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    return u32(0x46554747).u32(version).u64(n_tensors).u64(n_kv);
  }
  raw_gguf& kv_u32(std::string_view key, uint32_t v) { return str(key).u32(4).u32(v); }
  raw_gguf& kv_str(std::string_view key, std::string_view v) { return str(key).u32(8).str(v); }
  raw_gguf& tensor(std::string_view name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
    str(name).u32(static_cast<uint32_t>(ne.size()));
    for (uint64_t d : ne) u64(d);
    return u32(type).u64(offset);
  }
  raw_gguf& pad(size_t alignment = 32) {
    while (bytes_.size() % alignment) bytes_.push_back('\0');
    return *this;
  }
  raw_gguf& zeros(size_t n) {
    bytes_.append(n, '\0');
    return *this;
  }
  const std::string& bytes() const { return bytes_; }
  std::span<const uint8_t> span() const {
    return {reinterpret_cast<const uint8_t*>(bytes_.data()), bytes_.size()};
  }

 private:
  template <typename T>
  raw_gguf& put(T v) {
    bytes_.append(reinterpret_cast<const char*>(&v), sizeof v);
    return *this;
  }
  std::string bytes_;
};

inline std::span<const uint8_t> as_span(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace r1::gguf::testing
