// The private state behind gguf::file, shared by the parser and the accessors.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "r1/base/raii.h"
#include "r1/gguf/file.h"

namespace r1::gguf {

struct file::state {
  std::string path;
  mapped_file mapping;          // set by open()
  std::vector<uint8_t> buffer;  // set by open_memory()
  const uint8_t* data = nullptr;
  uint64_t size = 0;

  uint32_t version = 0;
  uint32_t alignment = k_default_alignment;
  uint64_t data_offset = 0;
  std::vector<kv> kvs;
  std::unordered_map<std::string_view, size_t> kv_index;
  std::vector<tensor_info> tensors;
  std::unordered_map<std::string_view, size_t> tensor_index;
};

}  // namespace r1::gguf
