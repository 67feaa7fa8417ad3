#include "r1/kernels/cpu_backend.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "r1/kernels/cpu.h"
#include "r1/kernels/op_checks.h"

namespace r1::kernels {

namespace {

class cpu_buffer final : public buffer {
 public:
  explicit cpu_buffer(size_t n) : size_(n), data_(static_cast<uint8_t*>(std::aligned_alloc(64, round_up(n)))) {}
  ~cpu_buffer() override { std::free(data_); }
  bool valid() const { return data_ != nullptr; }
  size_t size() const override { return size_; }
  uint8_t* data() { return data_; }

  status upload(size_t offset, const void* src, size_t n) override {
    if (offset > size_ || n > size_ - offset) return invalid_argument("cpu buffer: upload out of range");
    if (n) std::memcpy(data_ + offset, src, n);
    return ok_status();
  }
  status download(size_t offset, void* dst, size_t n) const override {
    if (offset > size_ || n > size_ - offset) return invalid_argument("cpu buffer: download out of range");
    if (n) std::memcpy(dst, data_ + offset, n);
    return ok_status();
  }

 private:
  static size_t round_up(size_t n) { return (n + 63) / 64 * 64 + (n == 0 ? 64 : 0); }
  size_t size_;
  uint8_t* data_;
};

template <class T = float>
T* ptr(const tensor_arg& a) {
  return reinterpret_cast<T*>(cpu_pointer(a));
}

class cpu_stream final : public stream {
 public:
  explicit cpu_stream(thread_pool& pool) : pool_(pool) {}

  status matmul(const matmul_args& a) override {
    R1_RETURN_IF_ERROR(check_matmul(a));
    R1_RETURN_IF_ERROR(owned(a.w, a.x, a.y));
    const matrix_view w{a.type, a.rows, a.cols, ptr<const void>(a.w), 0};
    kernels::matmul(w, ptr(a.x), a.n_cols, a.x_stride, ptr(a.y), a.y_stride, pool_, scratch_);
    return ok_status();
  }
  status rms_norm(const rms_norm_args& a) override {
    R1_RETURN_IF_ERROR(check_rms_norm(a));
    R1_RETURN_IF_ERROR(owned(a.x, a.y, a.w.empty() ? a.x : a.w));
    for (int64_t r = 0; r < a.n_rows; ++r)
      kernels::rms_norm(ptr(a.x) + r * a.stride, a.w.empty() ? nullptr : ptr(a.w), ptr(a.y) + r * a.stride, a.n, a.eps);
    return ok_status();
  }
  status binary(const binary_args& a) override {
    R1_RETURN_IF_ERROR(check_binary(a));
    R1_RETURN_IF_ERROR(owned(a.a, a.b, a.dst));
    const int64_t bl = a.b_len == 0 ? a.n : a.b_len;
    for (int64_t i = 0; i < a.n; i += bl) {
      if (a.op == binary_op::add) kernels::add(ptr(a.a) + i, ptr(a.b), ptr(a.dst) + i, bl);
      else kernels::mul(ptr(a.a) + i, ptr(a.b), ptr(a.dst) + i, bl);
    }
    return ok_status();
  }
  status swiglu(const swiglu_args& a) override {
    R1_RETURN_IF_ERROR(check_swiglu(a));
    R1_RETURN_IF_ERROR(owned(a.gate, a.up, a.dst));
    kernels::swiglu(ptr(a.gate), ptr(a.up), ptr(a.dst), a.n);
    return ok_status();
  }
  status softmax(const softmax_args& a) override {
    R1_RETURN_IF_ERROR(check_softmax(a));
    R1_RETURN_IF_ERROR(owned(a.x, a.x, a.x));
    for (int64_t r = 0; r < a.n_rows; ++r) kernels::softmax(ptr(a.x) + r * a.stride, a.n, a.scale);
    return ok_status();
  }
  status rope(const rope_args& a) override {
    R1_RETURN_IF_ERROR(check_rope(a));
    R1_RETURN_IF_ERROR(owned(a.x, a.pos, a.freq_factors.empty() ? a.x : a.freq_factors));
    rope_params p;
    p.n_rot = a.n_rot;
    p.neox = a.neox;
    p.freq_base = a.freq_base;
    p.freq_scale = a.freq_scale;
    p.freq_factors = a.freq_factors.empty() ? nullptr : ptr(a.freq_factors);
    p.ext_factor = a.ext_factor;
    p.attn_factor = a.attn_factor;
    p.beta_fast = a.beta_fast;
    p.beta_slow = a.beta_slow;
    p.n_ctx_orig = a.n_ctx_orig;
    kernels::rope(ptr(a.x), a.n_tokens, a.n_heads, a.head_dim, a.token_stride, ptr<const int32_t>(a.pos), p);
    return ok_status();
  }
  status get_rows(const get_rows_args& a) override {
    R1_RETURN_IF_ERROR(check_get_rows(a));
    R1_RETURN_IF_ERROR(owned(a.data, a.ids, a.dst));
    return kernels::get_rows(a.type, ptr<const void>(a.data), row_size(a.type, a.n_embd), a.n_rows, a.n_embd,
                             ptr<const int32_t>(a.ids), a.n_ids, ptr(a.dst));
  }
  status convert_rows(const convert_rows_args& a) override {
    R1_RETURN_IF_ERROR(check_convert_rows(a));
    R1_RETURN_IF_ERROR(owned(a.src, a.dst, a.dst));
    for (int64_t r = 0; r < a.n_rows; ++r) {
      const float* s = ptr(a.src) + r * a.src_stride;
      uint8_t* d = ptr<uint8_t>(a.dst) + r * a.dst_stride_bytes;
      if (a.dst_type == tensor_type::f16) convert_f32_to_f16(s, reinterpret_cast<uint16_t*>(d), a.width);
      else std::memmove(d, s, static_cast<size_t>(a.width) * 4);
    }
    return ok_status();
  }
  status attention(const attention_op_args& a) override {
    R1_RETURN_IF_ERROR(check_attention(a));
    R1_RETURN_IF_ERROR(owned(a.q, a.out, a.out));
    attention_args c;
    c.q = ptr(a.q);
    c.q_stride = a.q_stride;
    c.out = ptr(a.out);
    c.out_stride = a.out_stride;
    c.n_q = a.n_q;
    c.n_head = a.n_head;
    c.n_head_kv = a.n_head_kv;
    c.head_dim_k = a.head_dim_k;
    c.head_dim_v = a.head_dim_v;
    c.n_kv = a.n_kv;
    c.q_pos0 = a.q_pos0;
    c.causal = a.causal;
    c.scale = a.scale;
    if (a.n_kv > 0) {
      R1_RETURN_IF_ERROR(owned(a.k.data, a.v.data, a.v.data));
      c.k = {a.k.type, ptr<const void>(a.k.data), a.k.pos_stride_bytes, a.k.head_stride_bytes};
      c.v = {a.v.type, ptr<const void>(a.v.data), a.v.pos_stride_bytes, a.v.head_stride_bytes};
    } else {
      c.k = {a.k.type, nullptr, 0, 0};
      c.v = {a.v.type, nullptr, 0, 0};
    }
    kernels::attention(c, pool_);
    return ok_status();
  }
  status copy(tensor_arg src, tensor_arg dst, size_t n) override {
    R1_RETURN_IF_ERROR(check_arg("copy", "src", src, n));
    R1_RETURN_IF_ERROR(check_arg("copy", "dst", dst, n));
    R1_RETURN_IF_ERROR(owned(src, dst, dst));
    if (n) std::memmove(cpu_pointer(dst), cpu_pointer(src), n);
    return ok_status();
  }
  status synchronize() override { return ok_status(); }

 private:
  static status owned(const tensor_arg& a, const tensor_arg& b, const tensor_arg& c) {
    if (!cpu_pointer(a) || !cpu_pointer(b) || !cpu_pointer(c))
      return invalid_argument("cpu stream: a tensor is not in a CPU buffer");
    return ok_status();
  }

  thread_pool& pool_;
  scratch scratch_;
};

class cpu_device final : public device {
 public:
  explicit cpu_device(int n_threads) : pool_(n_threads) {
    info_.backend = "cpu";
    info_.name = "CPU";
    info_.type = device_type::cpu;
    info_.total_memory = host_memory("MemTotal:");
    info_.free_memory = host_memory("MemAvailable:");
  }
  const device_info& info() const override { return info_; }
  bool supports(op_kind op, tensor_type t) const override {
    switch (op) {
      case op_kind::matmul: return can_vec_dot(t);
      case op_kind::get_rows: return can_dequantize(t);
      case op_kind::convert_rows:
      case op_kind::attention: return t == tensor_type::f32 || t == tensor_type::f16;
      default: return true;
    }
  }
  result<std::unique_ptr<buffer>> alloc(size_t bytes) override {
    auto b = std::make_unique<cpu_buffer>(bytes);
    if (!b->valid()) return resource_exhausted("cpu: cannot allocate " + std::to_string(bytes) + " bytes");
    return std::unique_ptr<buffer>(std::move(b));
  }
  result<std::unique_ptr<stream>> create_stream() override {
    return std::unique_ptr<stream>(std::make_unique<cpu_stream>(pool_));
  }

 private:
  // A /proc/meminfo field in bytes (0 when unreadable).
  static uint64_t host_memory(const char* key) {
    std::FILE* f = std::fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    uint64_t kb = 0;
    const size_t kl = std::strlen(key);
    while (std::fgets(line, sizeof line, f))
      if (std::strncmp(line, key, kl) == 0) kb = std::strtoull(line + kl, nullptr, 10);
    std::fclose(f);
    return kb * 1024;
  }

  device_info info_;
  thread_pool pool_;
};

class cpu_backend final : public backend {
 public:
  explicit cpu_backend(int n_threads) : dev_(n_threads) {}
  std::string_view name() const override { return "cpu"; }
  size_t device_count() const override { return 1; }
  device& device_at(size_t) override { return dev_; }

 private:
  cpu_device dev_;
};

}  // namespace

void* cpu_pointer(const tensor_arg& a) {
  auto* b = dynamic_cast<cpu_buffer*>(a.buf);
  return b ? b->data() + a.offset : nullptr;
}

std::unique_ptr<backend> make_cpu_backend(int n_threads) { return std::make_unique<cpu_backend>(n_threads); }

}  // namespace r1::kernels
