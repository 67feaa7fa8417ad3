// gguf::file: a validated, read-only view of one GGUF (v2/v3) file.
//
//   R1_ASSIGN_OR_RETURN(gguf::file f, gguf::file::open(path));
//   R1_ASSIGN_OR_RETURN(uint64_t n_layer, f.get_uint("qwen2.block_count"));
//   const gguf::tensor_info* t = f.find_tensor("token_embd.weight");
//
// Ownership: the file owns its bytes (a read-only shared mmap, or a copy for
// open_memory); every string_view and data pointer handed out points into them
// and stays valid while the file object lives. Moving a file keeps them valid.
//
// Validation happens once, in open: magic and version, every count, string
// length and array size against the bytes left, duplicate keys and tensor
// names, value and tensor type ids, n_dims, dimension products (overflow),
// general.alignment, the packed-offset rule and offset + size against the file
// size. A bad file gets error_code::corrupt with a message naming the key or
// tensor; nothing is read out of bounds.
//
// Thread safety: immutable after open; concurrent readers are fine.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "r1/base/status.h"
#include "r1/base/tensor_type.h"
#include "r1/gguf/value.h"

namespace r1::gguf {

inline constexpr uint32_t k_magic = 0x46554747;  // "GGUF" read as a little-endian u32
inline constexpr uint32_t k_default_alignment = 32;
inline constexpr uint32_t k_max_dims = 4;
inline constexpr size_t k_max_name_length = 63;  // tensor names are < 64 bytes (GGML_MAX_NAME)
inline constexpr uint64_t k_max_string_length = uint64_t{1} << 30;
inline constexpr uint64_t k_max_array_length = uint64_t{1} << 30;
// Caps on entry counts: real files have tens of keys and at most a few thousand
// tensors; the caps bound the memory a hostile header can make the parser use.
inline constexpr uint64_t k_max_kv_count = uint64_t{1} << 20;
inline constexpr uint64_t k_max_tensor_count = uint64_t{1} << 20;

struct tensor_info {
  std::string_view name;
  tensor_type type = tensor_type::f32;
  uint32_t n_dims = 0;
  std::array<uint64_t, 4> ne{1, 1, 1, 1};  // ggml order: ne[0] is the row length; unused dims are 1
  uint64_t offset = 0;       // relative to the start of the data section
  uint64_t file_offset = 0;  // absolute position in the file
  uint64_t size = 0;         // bytes of tensor data (not padded)
  const uint8_t* data = nullptr;  // into the file's bytes; nullptr only when size == 0

  uint64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
  uint64_t n_rows() const { return ne[1] * ne[2] * ne[3]; }
  // Bytes of one row of ne[0] elements.
  uint64_t row_size() const { return size / (n_rows() ? n_rows() : 1); }
  // "[4096, 151936]"
  std::string shape_string() const;
};

class file {
 public:
  file();
  ~file();
  file(file&&) noexcept;
  file& operator=(file&&) noexcept;
  file(const file&) = delete;
  file& operator=(const file&) = delete;

  // Maps and validates `path`. Errors: not_found / io_error from the OS,
  // corrupt for a malformed file (message names the path and what is wrong).
  static result<file> open(const std::string& path);
  // Validates a copy of `bytes`; `name` is used in error messages. For tests and fuzzing.
  static result<file> open_memory(std::span<const uint8_t> bytes, std::string name = "<memory>");

  const std::string& path() const;
  uint32_t version() const;
  uint32_t alignment() const;
  uint64_t data_offset() const;  // start of the data section in the file
  uint64_t file_size() const;
  const uint8_t* bytes() const;  // the whole file
  // For bytes no longer read through this file (e.g. a matrix whose copy serves every
  // read): drops their whole pages from the process's resident set when the file is
  // mapped (mapped_file::release); nothing for files opened from memory. Contents
  // stay readable.
  void release_pages(const uint8_t* p, size_t n) const;

  // ---- metadata ----
  const std::vector<kv>& metadata() const;
  const kv* find(std::string_view key) const;  // nullptr when absent
  bool has(std::string_view key) const { return find(key) != nullptr; }

  // Typed getters. Errors: not_found when absent (the *_or forms return the
  // fallback instead), corrupt when the stored type does not convert (message
  // names the key, the stored type and the expected one).
  // Integers accept any integer value type; floats accept f32, f64 and integers.
  result<uint64_t> get_uint(std::string_view key) const;
  result<uint64_t> get_uint_or(std::string_view key, uint64_t fallback) const;
  result<int64_t> get_int(std::string_view key) const;
  result<int64_t> get_int_or(std::string_view key, int64_t fallback) const;
  result<double> get_float(std::string_view key) const;
  result<double> get_float_or(std::string_view key, double fallback) const;
  result<bool> get_bool(std::string_view key) const;
  result<bool> get_bool_or(std::string_view key, bool fallback) const;
  result<std::string_view> get_string(std::string_view key) const;
  result<std::string_view> get_string_or(std::string_view key, std::string_view fallback) const;
  // Arrays (not_found when absent, corrupt for a scalar or a wrong element type).
  result<std::vector<int64_t>> get_int_array(std::string_view key) const;
  result<std::vector<double>> get_float_array(std::string_view key) const;
  result<std::span<const std::string_view>> get_string_array(std::string_view key) const;

  // ---- tensors ----
  const std::vector<tensor_info>& tensors() const;
  const tensor_info* find_tensor(std::string_view name) const;  // nullptr when absent

 // Implementation detail (defined in src/), public only so the parser can name it.
  struct state;

 private:
  explicit file(std::unique_ptr<state> s);
  static result<file> parse(std::unique_ptr<state> s);
  std::unique_ptr<state> s_;
};

}  // namespace r1::gguf
