// gguf::model_files: one model stored in one GGUF file or in a split set
// (<name>-00001-of-0000N.gguf ... with split.no / split.count /
// split.tensors.count), opened as one model.
//
// Ownership: owns every shard's gguf::file; tensor refs and metadata views
// stay valid while the model_files lives (moves keep them valid).
// Errors: not_found for a missing shard (named), corrupt for shards that
// disagree (split.count, split.no, a tensor name in two shards, a wrong
// split.tensors.count), invalid_argument when asked to open a later shard.
// Thread safety: immutable after open.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "r1/base/status.h"
#include "r1/gguf/file.h"

namespace r1::gguf {

struct tensor_ref {
  const tensor_info* info = nullptr;
  uint32_t shard = 0;  // index into model_files::shards()
};

class model_files {
 public:
  // Opens a single file, or the first shard of a split set and then its siblings.
  static result<model_files> open(const std::string& path);

  // Model metadata lives in the first shard.
  const file& metadata() const { return *shards_.front(); }
  const std::vector<std::unique_ptr<file>>& shards() const { return shards_; }
  // All tensors of all shards, shard by shard in file order.
  const std::vector<tensor_ref>& tensors() const { return tensors_; }
  const tensor_info* find_tensor(std::string_view name) const;
  uint64_t total_file_bytes() const;

 private:
  std::vector<std::unique_ptr<file>> shards_;
  std::vector<tensor_ref> tensors_;
  std::unordered_map<std::string_view, size_t> index_;
};

// Recognizes "<prefix>-00001-of-00003.gguf"; returns false for other names.
bool parse_split_path(std::string_view path, std::string* prefix, uint32_t* index, uint32_t* count);

}  // namespace r1::gguf
