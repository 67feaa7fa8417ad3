// Parsing and validation of a GGUF file. Every length, count and offset read
// from the file is checked against the bytes that remain before it is used;
// sizes are computed with overflow checks. Messages name the key or tensor.
#include <bit>
#include <limits>
#include <string>

#include "byte_cursor.h"
#include "file_state.h"

namespace r1::gguf {
namespace {

// Smallest possible encodings, used to cap counts before allocating.
constexpr uint64_t k_min_kv_bytes = 8 + 4 + 1;               // empty key, type, one-byte value
constexpr uint64_t k_min_tensor_info_bytes = 8 + 4 + 8 + 4 + 8;  // empty name, n_dims, one dim, type, offset

struct parser {
  file::state& st;
  byte_cursor cur;

  status fail(const std::string& what) const {
    return corrupt("gguf " + st.path + ": " + what + " (at byte " + std::to_string(cur.pos()) + ")");
  }

  status read_string(std::string_view* out, const std::string& what) {
    uint64_t len;
    if (!cur.read(&len)) return fail(what + ": truncated string length");
    if (len > k_max_string_length) return fail(what + ": string length " + std::to_string(len) + " exceeds 2^30");
    const uint8_t* p;
    if (!cur.take(len, &p))
      return fail(what + ": string length " + std::to_string(len) + " exceeds the " +
                  std::to_string(cur.remaining()) + " bytes left");
    *out = std::string_view(reinterpret_cast<const char*>(p), len);
    return {};
  }

  status read_array(kv& e, const std::string& what) {
    uint32_t et;
    if (!cur.read(&et)) return fail(what + ": truncated array element type");
    if (et >= k_value_type_count) return fail(what + ": unknown array element type " + std::to_string(et));
    e.elem_type = static_cast<value_type>(et);
    if (e.elem_type == value_type::array) return fail(what + ": arrays of arrays are not supported");
    if (!cur.read(&e.count)) return fail(what + ": truncated array length");
    if (e.count > k_max_array_length)
      return fail(what + ": array length " + std::to_string(e.count) + " exceeds 2^30");
    if (e.elem_type == value_type::string) {
      // Each string needs at least its 8-byte length: cap before reserving.
      if (e.count > cur.remaining() / 8)
        return fail(what + ": array of " + std::to_string(e.count) + " strings does not fit in the " +
                    std::to_string(cur.remaining()) + " bytes left");
      e.strings.reserve(e.count);
      for (uint64_t i = 0; i < e.count; ++i) {
        std::string_view s;
        R1_RETURN_IF_ERROR(read_string(&s, what + "[" + std::to_string(i) + "]"));
        e.strings.push_back(s);
      }
      return {};
    }
    uint64_t bytes = e.count * value_type_size(e.elem_type);  // count <= 2^30, size <= 8: no overflow
    if (!cur.take(bytes, &e.raw))
      return fail(what + ": array of " + std::to_string(e.count) + " " +
                  std::string(value_type_name(e.elem_type)) + " does not fit in the " +
                  std::to_string(cur.remaining()) + " bytes left");
    if (e.elem_type == value_type::boolean)
      for (uint64_t i = 0; i < e.count; ++i)
        if (e.raw[i] > 1) return fail(what + "[" + std::to_string(i) + "]: bool value is not 0 or 1");
    return {};
  }

  status read_kv(uint64_t index) {
    kv e;
    std::string what = "metadata entry " + std::to_string(index);
    R1_RETURN_IF_ERROR(read_string(&e.key, what + " key"));
    what = "key '" + std::string(e.key) + "'";
    uint32_t t;
    if (!cur.read(&t)) return fail(what + ": truncated value type");
    if (t >= k_value_type_count) return fail(what + ": unknown value type " + std::to_string(t));
    e.type = static_cast<value_type>(t);
    if (e.type == value_type::string) {
      R1_RETURN_IF_ERROR(read_string(&e.str, what));
    } else if (e.type == value_type::array) {
      R1_RETURN_IF_ERROR(read_array(e, what));
    } else {
      if (!cur.take(value_type_size(e.type), &e.raw)) return fail(what + ": truncated value");
      if (e.type == value_type::boolean && e.raw[0] > 1) return fail(what + ": bool value is not 0 or 1");
    }
    if (!st.kv_index.emplace(e.key, st.kvs.size()).second) return fail("duplicate " + what);
    st.kvs.push_back(std::move(e));
    return {};
  }

  status read_alignment() {
    auto it = st.kv_index.find("general.alignment");
    if (it == st.kv_index.end()) return {};
    const kv& e = st.kvs[it->second];
    if (e.type != value_type::u32)
      return fail("key 'general.alignment' has type " + std::string(value_type_name(e.type)) + ", expected u32");
    uint32_t a = static_cast<uint32_t>(*e.as_uint());
    if (a == 0 || !std::has_single_bit(a))
      return fail("key 'general.alignment' is " + std::to_string(a) + ", not a power of two");
    st.alignment = a;
    return {};
  }

  status read_tensor_info(uint64_t index, tensor_info* t) {
    std::string what = "tensor " + std::to_string(index);
    R1_RETURN_IF_ERROR(read_string(&t->name, what + " name"));
    what = "tensor '" + std::string(t->name) + "'";
    if (t->name.size() > k_max_name_length)
      return fail(what + ": name is longer than " + std::to_string(k_max_name_length) + " bytes");
    if (!cur.read(&t->n_dims)) return fail(what + ": truncated n_dims");
    if (t->n_dims < 1 || t->n_dims > k_max_dims)
      return fail(what + ": n_dims " + std::to_string(t->n_dims) + " is not in 1..4");
    for (uint32_t d = 0; d < t->n_dims; ++d) {
      if (!cur.read(&t->ne[d])) return fail(what + ": truncated dimension " + std::to_string(d));
      if (t->ne[d] > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return fail(what + ": dimension " + std::to_string(d) + " is negative");
    }
    uint32_t type_id;
    if (!cur.read(&type_id)) return fail(what + ": truncated type");
    auto info = lookup_tensor_type(type_id);
    if (!info) return fail(what + ": unknown or retired tensor type " + std::to_string(type_id));
    t->type = info->type;
    if (!cur.read(&t->offset)) return fail(what + ": truncated offset");
    if (!row_is_whole(*info, t->ne[0]))
      return fail(what + ": row length " + std::to_string(t->ne[0]) + " is not a multiple of the " +
                  std::string(info->name) + " block size " + std::to_string(info->block_elems));
    // Element count and byte size, both must fit in int64.
    uint64_t rows = 1;
    for (uint32_t d = 1; d < 4; ++d)
      if (__builtin_mul_overflow(rows, t->ne[d], &rows)) return fail(what + ": dimension product overflows");
    uint64_t n_el, bytes;
    const uint64_t lim = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    if (__builtin_mul_overflow(rows, t->ne[0], &n_el) || n_el > lim)
      return fail(what + ": element count " + t->shape_string() + " overflows");
    if (__builtin_mul_overflow(row_bytes(*info, t->ne[0]), rows, &bytes) || bytes > lim)
      return fail(what + ": byte size of " + t->shape_string() + " overflows");
    t->size = bytes;
    return {};
  }

  status read_tensor_infos(uint64_t n_tensors) {
    st.tensors.reserve(n_tensors);
    for (uint64_t i = 0; i < n_tensors; ++i) {
      tensor_info t;
      R1_RETURN_IF_ERROR(read_tensor_info(i, &t));
      if (!st.tensor_index.emplace(t.name, st.tensors.size()).second)
        return fail("duplicate tensor name '" + std::string(t.name) + "'");
      st.tensors.push_back(t);
    }
    return {};
  }

  status place_tensors() {
    if (st.tensors.empty()) {
      st.data_offset = cur.pos();
      return {};
    }
    uint64_t a = st.alignment;
    uint64_t start = cur.pos();
    if (start % a != 0) start += a - start % a;  // pos <= file size < 2^63: no overflow
    if (start > st.size)
      return fail("data section starts at " + std::to_string(start) + ", past the end of the file (" +
                  std::to_string(st.size) + " bytes)");
    st.data_offset = start;
    uint64_t expected = 0;  // tensors are packed in order, each padded to the alignment
    for (tensor_info& t : st.tensors) {
      std::string what = "tensor '" + std::string(t.name) + "'";
      if (t.offset != expected)
        return fail(what + ": offset " + std::to_string(t.offset) + " is not the expected " +
                    std::to_string(expected) + " (tensors must be packed in order)");
      uint64_t end;
      if (__builtin_add_overflow(start, t.offset, &t.file_offset) ||
          __builtin_add_overflow(t.file_offset, t.size, &end) || end > st.size)
        return fail(what + ": data [" + std::to_string(t.offset) + ", +" + std::to_string(t.size) +
                    ") runs past the end of the file (" + std::to_string(st.size) + " bytes)");
      t.data = t.size ? st.data + t.file_offset : nullptr;
      uint64_t padded = t.size % a ? t.size + (a - t.size % a) : t.size;
      if (__builtin_add_overflow(expected, padded, &expected)) return fail(what + ": data offsets overflow");
    }
    return {};
  }

  status run() {
    uint32_t magic;
    if (!cur.read(&magic)) return fail("file is too short for a GGUF header");
    if (magic != k_magic) return fail("bad magic: not a GGUF file");
    if (!cur.read(&st.version)) return fail("truncated version");
    if ((st.version & 0xffff) == 0)
      return fail("version " + std::to_string(st.version) + " looks byte-swapped (big-endian files are not supported)");
    if (st.version != 2 && st.version != 3)
      return fail("unsupported GGUF version " + std::to_string(st.version) + " (expected 2 or 3)");
    uint64_t n_tensors, n_kv;
    if (!cur.read(&n_tensors) || !cur.read(&n_kv)) return fail("truncated header counts");
    if (n_kv > k_max_kv_count) return fail("metadata count " + std::to_string(n_kv) + " exceeds 2^20");
    if (n_tensors > k_max_tensor_count) return fail("tensor count " + std::to_string(n_tensors) + " exceeds 2^20");
    if (n_kv > cur.remaining() / k_min_kv_bytes)
      return fail("metadata count " + std::to_string(n_kv) + " cannot fit in the " +
                  std::to_string(cur.remaining()) + " bytes left");
    if (n_tensors > cur.remaining() / k_min_tensor_info_bytes)
      return fail("tensor count " + std::to_string(n_tensors) + " cannot fit in the " +
                  std::to_string(cur.remaining()) + " bytes left");
    st.kvs.reserve(n_kv);
    for (uint64_t i = 0; i < n_kv; ++i) R1_RETURN_IF_ERROR(read_kv(i));
    R1_RETURN_IF_ERROR(read_alignment());
    R1_RETURN_IF_ERROR(read_tensor_infos(n_tensors));
    return place_tensors();
  }
};

}  // namespace

result<file> file::parse(std::unique_ptr<state> s) {
  parser p{*s, byte_cursor(s->data, s->size)};
  R1_RETURN_IF_ERROR(p.run());
  return file(std::move(s));
}

}  // namespace r1::gguf
