// gguf::writer: builds a GGUF v3 file (metadata + tensors) and writes it.
//
//   gguf::writer w;
//   w.set_string("general.architecture", "qwen2");
//   w.set_u32("qwen2.block_count", 2);
//   R1_RETURN_IF_ERROR(w.add_tensor("output_norm.weight", tensor_type::f32, {64}, bytes));
//   R1_RETURN_IF_ERROR(w.add_tensor("token_embd.weight", tensor_type::f16, {64, 1000}, fill));
//   R1_RETURN_IF_ERROR(w.write("model.gguf"));
//
// Metadata keeps insertion order; setting a key again replaces its value in
// place. Tensors are laid out in insertion order, each padded to the
// alignment (general.alignment when set with set_alignment, else 32).
// Tensor data is either copied in (add_tensor with bytes) or produced at
// write time by a fill callback, called with consecutive runs of whole rows,
// so tensors of many GiB never sit in memory at once.
//
// write() is atomic: a temp file beside the target, fsync, rename, fsync of
// the directory; on error no partial file is left. write_split() writes a
// split set the way llama-gguf-split does (first shard: all metadata; every
// shard: split.no, split.count, split.tensors.count).
//
// Thread safety: none; one thread builds and writes. write() may be called
// more than once (fill callbacks then run again).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "r1/base/status.h"
#include "r1/base/tensor_type.h"
#include "r1/gguf/value.h"

namespace r1::gguf {

class writer {
 public:
  // Fills rows [first_row, first_row + n_rows) of a tensor into dst
  // (n_rows * row bytes). A row is ne[0] elements of the tensor's type.
  using fill_fn = std::function<status(uint64_t first_row, uint64_t n_rows, uint8_t* dst)>;

  void set_u8(std::string key, uint8_t v);
  void set_i8(std::string key, int8_t v);
  void set_u16(std::string key, uint16_t v);
  void set_i16(std::string key, int16_t v);
  void set_u32(std::string key, uint32_t v);
  void set_i32(std::string key, int32_t v);
  void set_u64(std::string key, uint64_t v);
  void set_i64(std::string key, int64_t v);
  void set_f32(std::string key, float v);
  void set_f64(std::string key, double v);
  void set_bool(std::string key, bool v);
  void set_string(std::string key, std::string_view v);
  // Arrays of scalars: `data` holds count packed little-endian elements of `elem`.
  void set_array_raw(std::string key, value_type elem, uint64_t count, std::span<const uint8_t> data);
  void set_i32_array(std::string key, std::span<const int32_t> v);
  void set_u32_array(std::string key, std::span<const uint32_t> v);
  void set_f32_array(std::string key, std::span<const float> v);
  void set_string_array(std::string key, std::span<const std::string> v);
  // Sets general.alignment (u32, power of two) and uses it for the layout.
  status set_alignment(uint32_t alignment);
  bool remove(std::string_view key);
  bool has(std::string_view key) const;

  // Errors (invalid_argument): empty or over-long name, duplicate name,
  // n_dims outside 1..4, a row length that is not a whole number of blocks,
  // data of the wrong size.
  status add_tensor(std::string name, tensor_type type, std::vector<uint64_t> dims, std::span<const uint8_t> data);
  status add_tensor(std::string name, tensor_type type, std::vector<uint64_t> dims, fill_fn fill);

  size_t tensor_count() const { return tensors_.size(); }
  uint64_t tensor_data_bytes() const;  // sum of tensor sizes, without padding

  status write(const std::string& path) const;
  // The whole file in memory (for small files: tests, fuzz seeds).
  result<std::string> to_bytes() const;
  // Writes split_path(prefix, i, n) for i = 1..n; tensors are spread in
  // order, balanced by bytes, at least one per shard. Returns the paths.
  result<std::vector<std::string>> write_split(const std::string& prefix, uint32_t n_shards) const;
  // "<prefix>-00002-of-00005.gguf" (index is 1-based).
  static std::string split_path(std::string_view prefix, uint32_t index, uint32_t count);

 private:
  struct entry {
    std::string key;
    value_type type;
    std::string payload;  // encoded value, without key and type
  };
  struct tensor {
    std::string name;
    tensor_type type;
    std::vector<uint64_t> dims;
    uint64_t size;
    std::vector<uint8_t> data;  // when given up front
    fill_fn fill;               // otherwise
  };
  class sink;
  void set_scalar(std::string key, value_type t, const void* p, size_t n);
  void set_entry(std::string key, value_type t, std::string payload);
  status check_tensor(const std::string& name, tensor_type type, const std::vector<uint64_t>& dims) const;
  status write_range(sink& out, const std::vector<const entry*>& kvs, size_t first, size_t last) const;
  status write_shard_file(const std::string& path, const std::vector<const entry*>& kvs, size_t first,
                          size_t last) const;

  std::vector<entry> entries_;
  std::vector<tensor> tensors_;
  uint32_t alignment_ = 32;
};

}  // namespace r1::gguf
