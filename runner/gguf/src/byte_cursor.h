// A bounds-checked little-endian reader over a byte range. Every read says
// whether it fit; nothing is ever read past `size`.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace r1::gguf {

class byte_cursor {
 public:
  byte_cursor(const uint8_t* data, uint64_t size) : data_(data), size_(size) {}

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }
  const uint8_t* here() const { return data_ + pos_; }

  template <typename T>
  bool read(T* out) {
    if (remaining() < sizeof(T)) return false;
    std::memcpy(out, data_ + pos_, sizeof(T));  // the host is little-endian (x86-64, aarch64)
    pos_ += sizeof(T);
    return true;
  }
  // Advances by n bytes and returns where they start; false if fewer are left.
  bool take(uint64_t n, const uint8_t** out) {
    if (remaining() < n) return false;
    *out = data_ + pos_;
    pos_ += n;
    return true;
  }

 private:
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

}  // namespace r1::gguf
