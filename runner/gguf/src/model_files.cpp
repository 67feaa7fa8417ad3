#include "r1/gguf/model_files.h"

#include <cctype>

#include "r1/gguf/writer.h"

namespace r1::gguf {
namespace {

bool parse_5digits(std::string_view s, uint32_t* out) {
  if (s.size() != 5) return false;
  uint32_t v = 0;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

bool parse_split_path(std::string_view path, std::string* prefix, uint32_t* index, uint32_t* count) {
  // "-00001-of-00003.gguf" is 20 characters.
  constexpr std::string_view ext = ".gguf";
  if (path.size() < 20 || path.substr(path.size() - ext.size()) != ext) return false;
  std::string_view tail = path.substr(path.size() - 20);
  if (tail[0] != '-' || tail.substr(6, 4) != "-of-") return false;
  if (!parse_5digits(tail.substr(1, 5), index) || !parse_5digits(tail.substr(10, 5), count)) return false;
  *prefix = std::string(path.substr(0, path.size() - 20));
  return true;
}

const tensor_info* model_files::find_tensor(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : tensors_[it->second].info;
}

uint64_t model_files::total_file_bytes() const {
  uint64_t n = 0;
  for (const auto& f : shards_) n += f->file_size();
  return n;
}

result<model_files> model_files::open(const std::string& path) {
  model_files m;
  R1_ASSIGN_OR_RETURN(file first, file::open(path));
  m.shards_.push_back(std::make_unique<file>(std::move(first)));
  const file& f0 = *m.shards_[0];
  R1_ASSIGN_OR_RETURN(uint64_t count, f0.get_uint_or("split.count", 1));
  R1_ASSIGN_OR_RETURN(uint64_t no, f0.get_uint_or("split.no", 0));
  if (count == 0 || count > 99999) return corrupt("gguf " + path + ": split.count " + std::to_string(count) + " is not in 1..99999");
  if (no != 0)
    return invalid_argument("gguf " + path + " is shard " + std::to_string(no + 1) + " of " + std::to_string(count) +
                            "; open the first shard");
  if (count > 1) {
    std::string prefix;
    uint32_t idx, cnt;
    if (!parse_split_path(path, &prefix, &idx, &cnt) || idx != 1 || cnt != count)
      return corrupt("gguf " + path + ": split.count is " + std::to_string(count) + " but the name does not end in '" +
                     writer::split_path("", 1, static_cast<uint32_t>(count)) + "'");
    for (uint32_t i = 2; i <= count; ++i) {
      std::string p = writer::split_path(prefix, i, static_cast<uint32_t>(count));
      R1_ASSIGN_OR_RETURN(file f, file::open(p));
      R1_ASSIGN_OR_RETURN(uint64_t fno, f.get_uint("split.no"));
      R1_ASSIGN_OR_RETURN(uint64_t fcount, f.get_uint("split.count"));
      if (fno != i - 1 || fcount != count)
        return corrupt("gguf " + p + ": split.no " + std::to_string(fno) + " / split.count " + std::to_string(fcount) +
                       ", expected " + std::to_string(i - 1) + " / " + std::to_string(count));
      m.shards_.push_back(std::make_unique<file>(std::move(f)));
    }
  }
  for (uint32_t s = 0; s < m.shards_.size(); ++s) {
    for (const tensor_info& t : m.shards_[s]->tensors()) {
      if (!m.index_.emplace(t.name, m.tensors_.size()).second)
        return corrupt("gguf " + m.shards_[s]->path() + ": tensor '" + std::string(t.name) +
                       "' also appears in an earlier shard");
      m.tensors_.push_back({&t, s});
    }
  }
  if (count > 1) {
    R1_ASSIGN_OR_RETURN(int64_t total, f0.get_int("split.tensors.count"));
    if (total < 0 || static_cast<uint64_t>(total) != m.tensors_.size())
      return corrupt("gguf " + path + ": split.tensors.count is " + std::to_string(total) + " but the " +
                     std::to_string(count) + " shards hold " + std::to_string(m.tensors_.size()) + " tensors");
  }
  return m;
}

}  // namespace r1::gguf
