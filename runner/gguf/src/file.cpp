#include "r1/gguf/file.h"

#include <string>

#include "file_state.h"

namespace r1::gguf {
namespace {

status wrong_type(const file& f, const kv& e, std::string_view expected) {
  std::string stored(value_type_name(e.type));
  if (e.type == value_type::array) stored += " of " + std::string(value_type_name(e.elem_type));
  return corrupt("gguf " + f.path() + ": key '" + std::string(e.key) + "' has type " + stored + ", expected " +
                 std::string(expected));
}

status missing(const file& f, std::string_view key) {
  return not_found("gguf " + f.path() + ": key '" + std::string(key) + "' is missing");
}

}  // namespace

std::string tensor_info::shape_string() const {
  std::string s = "[";
  for (uint32_t d = 0; d < n_dims; ++d) s += (d ? ", " : "") + std::to_string(ne[d]);
  return s + "]";
}

file::file() = default;
file::~file() = default;
file::file(file&&) noexcept = default;
file& file::operator=(file&&) noexcept = default;
file::file(std::unique_ptr<state> s) : s_(std::move(s)) {}

result<file> file::open(const std::string& path) {
  auto s = std::make_unique<state>();
  s->path = path;
  R1_ASSIGN_OR_RETURN(s->mapping, mapped_file::open(path));
  s->data = s->mapping.data();
  s->size = s->mapping.size();
  return parse(std::move(s));
}

result<file> file::open_memory(std::span<const uint8_t> bytes, std::string name) {
  auto s = std::make_unique<state>();
  s->path = std::move(name);
  s->buffer.assign(bytes.begin(), bytes.end());
  s->data = s->buffer.data();
  s->size = s->buffer.size();
  return parse(std::move(s));
}

const std::string& file::path() const { return s_->path; }
uint32_t file::version() const { return s_->version; }
uint32_t file::alignment() const { return s_->alignment; }
uint64_t file::data_offset() const { return s_->data_offset; }
uint64_t file::file_size() const { return s_->size; }
const uint8_t* file::bytes() const { return s_->data; }
void file::release_pages(const uint8_t* p, size_t n) const { s_->mapping.release(p, n); }
const std::vector<kv>& file::metadata() const { return s_->kvs; }
const std::vector<tensor_info>& file::tensors() const { return s_->tensors; }

const kv* file::find(std::string_view key) const {
  auto it = s_->kv_index.find(key);
  return it == s_->kv_index.end() ? nullptr : &s_->kvs[it->second];
}

const tensor_info* file::find_tensor(std::string_view name) const {
  auto it = s_->tensor_index.find(name);
  return it == s_->tensor_index.end() ? nullptr : &s_->tensors[it->second];
}

result<uint64_t> file::get_uint(std::string_view key) const {
  const kv* e = find(key);
  if (!e) return missing(*this, key);
  auto v = e->as_uint();
  if (!v) return wrong_type(*this, *e, "a non-negative integer");
  return *v;
}

result<uint64_t> file::get_uint_or(std::string_view key, uint64_t fallback) const {
  return has(key) ? get_uint(key) : result<uint64_t>(fallback);
}

result<int64_t> file::get_int(std::string_view key) const {
  const kv* e = find(key);
  if (!e) return missing(*this, key);
  auto v = e->as_int();
  if (!v) return wrong_type(*this, *e, "an integer");
  return *v;
}

result<int64_t> file::get_int_or(std::string_view key, int64_t fallback) const {
  return has(key) ? get_int(key) : result<int64_t>(fallback);
}

result<double> file::get_float(std::string_view key) const {
  const kv* e = find(key);
  if (!e) return missing(*this, key);
  auto v = e->as_float();
  if (!v) return wrong_type(*this, *e, "a number");
  return *v;
}

result<double> file::get_float_or(std::string_view key, double fallback) const {
  return has(key) ? get_float(key) : result<double>(fallback);
}

result<bool> file::get_bool(std::string_view key) const {
  const kv* e = find(key);
  if (!e) return missing(*this, key);
  auto v = e->as_bool();
  if (!v) return wrong_type(*this, *e, "bool");
  return *v;
}

result<bool> file::get_bool_or(std::string_view key, bool fallback) const {
  return has(key) ? get_bool(key) : result<bool>(fallback);
}

result<std::string_view> file::get_string(std::string_view key) const {
  const kv* e = find(key);
  if (!e) return missing(*this, key);
  if (e->type != value_type::string) return wrong_type(*this, *e, "string");
  return e->str;
}

result<std::string_view> file::get_string_or(std::string_view key, std::string_view fallback) const {
  return has(key) ? get_string(key) : result<std::string_view>(fallback);
}

result<std::vector<int64_t>> file::get_int_array(std::string_view key) const {
  const kv* e = find(key);
  if (!e) return missing(*this, key);
  if (e->type != value_type::array || !is_integer_type(e->elem_type)) return wrong_type(*this, *e, "array of integers");
  std::vector<int64_t> out;
  out.reserve(e->count);
  for (uint64_t i = 0; i < e->count; ++i) {
    auto v = e->int_at(i);
    if (!v) return corrupt("gguf " + path() + ": key '" + std::string(key) + "'[" + std::to_string(i) + "] does not fit in int64");
    out.push_back(*v);
  }
  return out;
}

result<std::vector<double>> file::get_float_array(std::string_view key) const {
  const kv* e = find(key);
  if (!e) return missing(*this, key);
  if (e->type != value_type::array || value_type_size(e->elem_type) == 0 || e->elem_type == value_type::boolean)
    return wrong_type(*this, *e, "array of numbers");
  std::vector<double> out;
  out.reserve(e->count);
  for (uint64_t i = 0; i < e->count; ++i) out.push_back(*e->float_at(i));
  return out;
}

result<std::span<const std::string_view>> file::get_string_array(std::string_view key) const {
  const kv* e = find(key);
  if (!e) return missing(*this, key);
  if (e->type != value_type::array || e->elem_type != value_type::string) return wrong_type(*this, *e, "array of strings");
  return std::span<const std::string_view>(e->strings);
}

}  // namespace r1::gguf
