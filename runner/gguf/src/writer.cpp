#include "r1/gguf/writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>
#include <filesystem>

#include "r1/base/raii.h"
#include "r1/gguf/file.h"

namespace r1::gguf {
namespace {

template <typename T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}

void put_string(std::string& out, std::string_view s) {
  put<uint64_t>(out, s.size());
  out.append(s);
}

uint64_t pad_to(uint64_t n, uint64_t a) { return n % a ? n + (a - n % a) : n; }

constexpr uint64_t k_chunk_bytes = uint64_t{8} << 20;

}  // namespace

// Where serialized bytes go: a string, or a file descriptor through a buffer.
class writer::sink {
 public:
  explicit sink(std::string* out) : str_(out) {}
  sink(int fd, std::string what) : fd_(fd), what_(std::move(what)) {}

  status write(const void* p, size_t n) {
    pos_ += n;
    if (str_) {
      str_->append(static_cast<const char*>(p), n);
      return {};
    }
    if (buf_.size() + n > k_chunk_bytes) R1_RETURN_IF_ERROR(flush());
    if (n >= k_chunk_bytes) return write_all(fd_, p, n, what_);
    buf_.append(static_cast<const char*>(p), n);
    return {};
  }
  status zeros(uint64_t n) {
    static const char z[64] = {};
    while (n) {
      size_t k = std::min<uint64_t>(n, sizeof z);
      R1_RETURN_IF_ERROR(write(z, k));
      n -= k;
    }
    return {};
  }
  status flush() {
    if (str_ || buf_.empty()) return {};
    status s = write_all(fd_, buf_.data(), buf_.size(), what_);
    buf_.clear();
    return s;
  }
  uint64_t pos() const { return pos_; }

 private:
  std::string* str_ = nullptr;
  int fd_ = -1;
  std::string what_;
  std::string buf_;
  uint64_t pos_ = 0;
};

void writer::set_entry(std::string key, value_type t, std::string payload) {
  for (entry& e : entries_) {
    if (e.key == key) {
      e.type = t;
      e.payload = std::move(payload);
      return;
    }
  }
  entries_.push_back({std::move(key), t, std::move(payload)});
}

void writer::set_scalar(std::string key, value_type t, const void* p, size_t n) {
  set_entry(std::move(key), t, std::string(static_cast<const char*>(p), n));
}

void writer::set_u8(std::string key, uint8_t v) { set_scalar(std::move(key), value_type::u8, &v, 1); }
void writer::set_i8(std::string key, int8_t v) { set_scalar(std::move(key), value_type::i8, &v, 1); }
void writer::set_u16(std::string key, uint16_t v) { set_scalar(std::move(key), value_type::u16, &v, 2); }
void writer::set_i16(std::string key, int16_t v) { set_scalar(std::move(key), value_type::i16, &v, 2); }
void writer::set_u32(std::string key, uint32_t v) { set_scalar(std::move(key), value_type::u32, &v, 4); }
void writer::set_i32(std::string key, int32_t v) { set_scalar(std::move(key), value_type::i32, &v, 4); }
void writer::set_u64(std::string key, uint64_t v) { set_scalar(std::move(key), value_type::u64, &v, 8); }
void writer::set_i64(std::string key, int64_t v) { set_scalar(std::move(key), value_type::i64, &v, 8); }
void writer::set_f32(std::string key, float v) { set_scalar(std::move(key), value_type::f32, &v, 4); }
void writer::set_f64(std::string key, double v) { set_scalar(std::move(key), value_type::f64, &v, 8); }
void writer::set_bool(std::string key, bool v) {
  uint8_t b = v ? 1 : 0;
  set_scalar(std::move(key), value_type::boolean, &b, 1);
}
void writer::set_string(std::string key, std::string_view v) {
  std::string p;
  put_string(p, v);
  set_entry(std::move(key), value_type::string, std::move(p));
}

void writer::set_array_raw(std::string key, value_type elem, uint64_t count, std::span<const uint8_t> data) {
  std::string p;
  put<uint32_t>(p, static_cast<uint32_t>(elem));
  put<uint64_t>(p, count);
  p.append(reinterpret_cast<const char*>(data.data()), data.size());
  set_entry(std::move(key), value_type::array, std::move(p));
}

void writer::set_i32_array(std::string key, std::span<const int32_t> v) {
  set_array_raw(std::move(key), value_type::i32, v.size(),
                std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size_bytes()));
}
void writer::set_u32_array(std::string key, std::span<const uint32_t> v) {
  set_array_raw(std::move(key), value_type::u32, v.size(),
                std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size_bytes()));
}
void writer::set_f32_array(std::string key, std::span<const float> v) {
  set_array_raw(std::move(key), value_type::f32, v.size(),
                std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size_bytes()));
}
void writer::set_string_array(std::string key, std::span<const std::string> v) {
  std::string p;
  put<uint32_t>(p, static_cast<uint32_t>(value_type::string));
  put<uint64_t>(p, v.size());
  for (const std::string& s : v) put_string(p, s);
  set_entry(std::move(key), value_type::array, std::move(p));
}

status writer::set_alignment(uint32_t alignment) {
  if (alignment == 0 || !std::has_single_bit(alignment))
    return invalid_argument("gguf alignment " + std::to_string(alignment) + " is not a power of two");
  alignment_ = alignment;
  set_u32("general.alignment", alignment);
  return {};
}

bool writer::remove(std::string_view key) {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const entry& e) { return e.key == key; });
  if (it == entries_.end()) return false;
  entries_.erase(it);
  return true;
}

bool writer::has(std::string_view key) const {
  return std::any_of(entries_.begin(), entries_.end(), [&](const entry& e) { return e.key == key; });
}

status writer::check_tensor(const std::string& name, tensor_type type, const std::vector<uint64_t>& dims) const {
  if (name.empty() || name.size() > k_max_name_length)
    return invalid_argument("tensor name '" + name + "' must be 1.." + std::to_string(k_max_name_length) + " bytes");
  for (const tensor& t : tensors_)
    if (t.name == name) return invalid_argument("tensor '" + name + "' added twice");
  if (dims.empty() || dims.size() > k_max_dims)
    return invalid_argument("tensor '" + name + "': " + std::to_string(dims.size()) + " dims, expected 1..4");
  const tensor_type_info& info = type_info(type);
  if (!row_is_whole(info, dims[0]))
    return invalid_argument("tensor '" + name + "': row length " + std::to_string(dims[0]) +
                            " is not a multiple of the " + std::string(info.name) + " block size " +
                            std::to_string(info.block_elems));
  return {};
}

namespace {
uint64_t tensor_bytes(tensor_type type, const std::vector<uint64_t>& dims) {
  uint64_t rows = 1;
  for (size_t d = 1; d < dims.size(); ++d) rows *= dims[d];
  return row_bytes(type_info(type), dims[0]) * rows;
}
}  // namespace

status writer::add_tensor(std::string name, tensor_type type, std::vector<uint64_t> dims,
                          std::span<const uint8_t> data) {
  R1_RETURN_IF_ERROR(check_tensor(name, type, dims));
  uint64_t size = tensor_bytes(type, dims);
  if (data.size() != size)
    return invalid_argument("tensor '" + name + "': " + std::to_string(data.size()) + " bytes of data, expected " +
                            std::to_string(size));
  tensors_.push_back({std::move(name), type, std::move(dims), size, {data.begin(), data.end()}, nullptr});
  return {};
}

status writer::add_tensor(std::string name, tensor_type type, std::vector<uint64_t> dims, fill_fn fill) {
  R1_RETURN_IF_ERROR(check_tensor(name, type, dims));
  if (!fill) return invalid_argument("tensor '" + name + "': no fill function");
  uint64_t size = tensor_bytes(type, dims);
  tensors_.push_back({std::move(name), type, std::move(dims), size, {}, std::move(fill)});
  return {};
}

uint64_t writer::tensor_data_bytes() const {
  uint64_t n = 0;
  for (const tensor& t : tensors_) n += t.size;
  return n;
}

status writer::write_range(sink& out, const std::vector<const entry*>& kvs, size_t first, size_t last) const {
  std::string head;
  put<uint32_t>(head, k_magic);
  put<uint32_t>(head, 3);
  put<uint64_t>(head, last - first);
  put<uint64_t>(head, kvs.size());
  for (const entry* e : kvs) {
    put_string(head, e->key);
    put<uint32_t>(head, static_cast<uint32_t>(e->type));
    head += e->payload;
  }
  uint64_t offset = 0;
  for (size_t i = first; i < last; ++i) {
    const tensor& t = tensors_[i];
    put_string(head, t.name);
    put<uint32_t>(head, static_cast<uint32_t>(t.dims.size()));
    for (uint64_t d : t.dims) put<uint64_t>(head, d);
    put<uint32_t>(head, static_cast<uint32_t>(t.type));
    put<uint64_t>(head, offset);
    offset += pad_to(t.size, alignment_);
  }
  R1_RETURN_IF_ERROR(out.write(head.data(), head.size()));
  if (first == last) return {};
  R1_RETURN_IF_ERROR(out.zeros(pad_to(out.pos(), alignment_) - out.pos()));
  std::vector<uint8_t> chunk;
  for (size_t i = first; i < last; ++i) {
    const tensor& t = tensors_[i];
    if (t.fill) {
      uint64_t rb = row_bytes(type_info(t.type), t.dims[0]);
      uint64_t rows = rb ? t.size / rb : 0;
      uint64_t per = std::max<uint64_t>(1, k_chunk_bytes / std::max<uint64_t>(rb, 1));
      for (uint64_t r = 0; r < rows; r += per) {
        uint64_t n = std::min(per, rows - r);
        chunk.assign(n * rb, 0);
        R1_RETURN_IF_ERROR(t.fill(r, n, chunk.data()).with_context("tensor '" + t.name + "'"));
        R1_RETURN_IF_ERROR(out.write(chunk.data(), chunk.size()));
      }
    } else {
      R1_RETURN_IF_ERROR(out.write(t.data.data(), t.data.size()));
    }
    R1_RETURN_IF_ERROR(out.zeros(pad_to(t.size, alignment_) - t.size));
  }
  return out.flush();
}

status writer::write_shard_file(const std::string& path, const std::vector<const entry*>& kvs, size_t first,
                                size_t last) const {
  static std::atomic<uint64_t> counter{0};
  std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  {
    R1_ASSIGN_OR_RETURN(unique_fd fd, open_fd(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644));
    sink out(fd.get(), tmp);
    status s = write_range(out, kvs, first, last);
    if (s.ok() && ::fsync(fd.get()) != 0) s = errno_status("fsync " + tmp, errno);
    if (!s.ok()) {
      ::unlink(tmp.c_str());
      return s.with_context("write " + path);
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return errno_status("rename " + tmp + " -> " + path, err);
  }
  std::filesystem::path p(path);
  return fsync_dir(p.parent_path().empty() ? "." : p.parent_path().string());
}

status writer::write(const std::string& path) const {
  std::vector<const entry*> kvs;
  for (const entry& e : entries_) kvs.push_back(&e);
  return write_shard_file(path, kvs, 0, tensors_.size());
}

result<std::string> writer::to_bytes() const {
  std::vector<const entry*> kvs;
  for (const entry& e : entries_) kvs.push_back(&e);
  std::string out;
  sink s(&out);
  R1_RETURN_IF_ERROR(write_range(s, kvs, 0, tensors_.size()));
  return out;
}

std::string writer::split_path(std::string_view prefix, uint32_t index, uint32_t count) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "-%05u-of-%05u.gguf", index, count);
  return std::string(prefix) + buf;
}

result<std::vector<std::string>> writer::write_split(const std::string& prefix, uint32_t n_shards) const {
  if (n_shards == 0 || n_shards > 99999)
    return invalid_argument("split count " + std::to_string(n_shards) + " is not in 1..99999");
  if (n_shards > tensors_.size())
    return invalid_argument("cannot split " + std::to_string(tensors_.size()) + " tensors into " +
                            std::to_string(n_shards) + " shards");
  // Cut points balanced by bytes, keeping at least one tensor per shard.
  std::vector<size_t> cut{0};
  uint64_t total = tensor_data_bytes(), acc = 0;
  for (size_t i = 0; i < tensors_.size() && cut.size() < n_shards; ++i) {
    acc += tensors_[i].size;
    size_t left_tensors = tensors_.size() - (i + 1), left_shards = n_shards - cut.size();
    bool reached = acc * n_shards >= total * cut.size();
    if ((reached && i + 1 > cut.back()) || left_tensors == left_shards) cut.push_back(i + 1);
  }
  cut.push_back(tensors_.size());
  std::vector<std::string> paths;
  for (uint32_t s = 0; s < n_shards; ++s) {
    writer keys;  // this shard's split keys
    keys.set_u16("split.no", static_cast<uint16_t>(s));
    keys.set_u16("split.count", static_cast<uint16_t>(n_shards));
    keys.set_i32("split.tensors.count", static_cast<int32_t>(tensors_.size()));
    std::vector<const entry*> kvs;
    for (const entry& e : entries_) {
      bool is_split_key = e.key.rfind("split.", 0) == 0;
      if (!is_split_key && (s == 0 || e.key == "general.alignment")) kvs.push_back(&e);
    }
    for (const entry& e : keys.entries_) kvs.push_back(&e);
    std::string path = split_path(prefix, s + 1, n_shards);
    R1_RETURN_IF_ERROR(write_shard_file(path, kvs, cut[s], cut[s + 1]));
    paths.push_back(std::move(path));
  }
  return paths;
}

}  // namespace r1::gguf
