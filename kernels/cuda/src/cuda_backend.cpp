#include "r1/kernels/cuda_backend.h"

#include <cuda_runtime.h>

#include <cmath>
#include <vector>

#include "launch.h"
#include "r1/kernels/op_checks.h"
#include "r1/kernels/ops.h"
#include "r1/kernels/quants.h"

namespace r1::kernels {

namespace cu {

status launch_status(const char* what) {
  const cudaError_t e = cudaGetLastError();
  if (e == cudaSuccess) return ok_status();
  return internal_error(std::string("cuda: ") + what + ": " + cudaGetErrorString(e));
}

namespace {

status cuda_status(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return ok_status();
  const std::string m = std::string("cuda: ") + what + ": " + cudaGetErrorString(e);
  return e == cudaErrorMemoryAllocation ? resource_exhausted(m) : internal_error(m);
}

class cuda_device;

class cuda_buffer final : public buffer {
 public:
  cuda_buffer(const cuda_device& d, int dev, void* p, size_t n) : owner_(d), dev_(dev), p_(static_cast<uint8_t*>(p)), n_(n) {}
  ~cuda_buffer() override {
    cudaSetDevice(dev_);
    cudaFree(p_);
  }
  size_t size() const override { return n_; }
  status upload(size_t offset, const void* src, size_t n) override {
    if (offset > n_ || n > n_ - offset) return invalid_argument("cuda buffer: upload out of range");
    cudaSetDevice(dev_);
    return cuda_status(cudaMemcpy(p_ + offset, src, n, cudaMemcpyHostToDevice), "upload");
  }
  status download(size_t offset, void* dst, size_t n) const override {
    if (offset > n_ || n > n_ - offset) return invalid_argument("cuda buffer: download out of range");
    cudaSetDevice(dev_);
    return cuda_status(cudaMemcpy(dst, p_ + offset, n, cudaMemcpyDeviceToHost), "download");
  }
  uint8_t* data() const { return p_; }
  const cuda_device& owner() const { return owner_; }

 private:
  const cuda_device& owner_;
  int dev_;
  uint8_t* p_;
  size_t n_;
};

class cuda_stream final : public stream {
 public:
  cuda_stream(const cuda_device& d, int dev, cudaStream_t s) : owner_(d), dev_(dev), s_(s) {}
  ~cuda_stream() override {
    cudaSetDevice(dev_);
    cudaStreamSynchronize(s_);
    cudaStreamDestroy(s_);
  }

  status matmul(const matmul_args& a) override {
    R1_RETURN_IF_ERROR(check_matmul(a));
    R1_RETURN_IF_ERROR(own({a.w, a.x, a.y}));
    return cu::matmul(s_, a.type, ptr<uint8_t>(a.w), a.rows, a.cols, row_size(a.type, a.cols), ptr(a.x), a.n_cols,
                      a.x_stride, ptr(a.y), a.y_stride);
  }
  status rms_norm(const rms_norm_args& a) override {
    R1_RETURN_IF_ERROR(check_rms_norm(a));
    R1_RETURN_IF_ERROR(own({a.x, a.w, a.y}));
    return cu::rms_norm(s_, ptr(a.x), a.w.empty() ? nullptr : ptr(a.w), ptr(a.y), a.n, a.n_rows, a.stride, a.eps);
  }
  status binary(const binary_args& a) override {
    R1_RETURN_IF_ERROR(check_binary(a));
    R1_RETURN_IF_ERROR(own({a.a, a.b, a.dst}));
    return cu::binary(s_, a.op == binary_op::add, ptr(a.a), ptr(a.b), ptr(a.dst), a.n, a.b_len == 0 ? a.n : a.b_len);
  }
  status swiglu(const swiglu_args& a) override {
    R1_RETURN_IF_ERROR(check_swiglu(a));
    R1_RETURN_IF_ERROR(own({a.gate, a.up, a.dst}));
    return cu::swiglu(s_, ptr(a.gate), ptr(a.up), ptr(a.dst), a.n);
  }
  status softmax(const softmax_args& a) override {
    R1_RETURN_IF_ERROR(check_softmax(a));
    R1_RETURN_IF_ERROR(own({a.x}));
    return cu::softmax(s_, ptr(a.x), a.n, a.n_rows, a.stride, a.scale);
  }
  status rope(const rope_args& a) override;
  status get_rows(const get_rows_args& a) override {
    R1_RETURN_IF_ERROR(check_get_rows(a));
    R1_RETURN_IF_ERROR(own({a.data, a.ids, a.dst}));
    if (a.n_embd % 32 != 0) return unavailable("cuda: get_rows needs rows of a multiple of 32");
    return cu::get_rows(s_, a.type, ptr<uint8_t>(a.data), a.n_rows, a.n_embd, row_size(a.type, a.n_embd),
                        ptr<int32_t>(a.ids), a.n_ids, ptr(a.dst));
  }
  status convert_rows(const convert_rows_args& a) override {
    R1_RETURN_IF_ERROR(check_convert_rows(a));
    R1_RETURN_IF_ERROR(own({a.src, a.dst}));
    return cu::convert_rows(s_, ptr(a.src), a.width, a.n_rows, a.src_stride, a.dst_type == tensor_type::f16,
                            ptr<uint8_t>(a.dst), a.dst_stride_bytes);
  }
  status attention(const attention_op_args& a) override;
  status copy(tensor_arg src, tensor_arg dst, size_t n) override {
    R1_RETURN_IF_ERROR(check_arg("copy", "src", src, n));
    R1_RETURN_IF_ERROR(check_arg("copy", "dst", dst, n));
    R1_RETURN_IF_ERROR(own({src, dst}));
    cudaSetDevice(dev_);
    return cuda_status(cudaMemcpyAsync(ptr<uint8_t>(dst), ptr<uint8_t>(src), n, cudaMemcpyDeviceToDevice, s_), "copy");
  }
  status synchronize() override {
    cudaSetDevice(dev_);
    return cuda_status(cudaStreamSynchronize(s_), "synchronize");
  }

 private:
  template <class T = float>
  static T* ptr(const tensor_arg& a) {
    return a.empty() ? nullptr : reinterpret_cast<T*>(static_cast<cuda_buffer*>(a.buf)->data() + a.offset);
  }
  status own(std::initializer_list<tensor_arg> args) const {
    for (const auto& a : args) {
      if (a.empty()) continue;
      auto* b = dynamic_cast<cuda_buffer*>(a.buf);
      if (!b || &b->owner() != &owner_) return invalid_argument("cuda stream: a tensor is not in a buffer of this device");
    }
    cudaSetDevice(dev_);
    return ok_status();
  }

  const cuda_device& owner_;
  int dev_;
  cudaStream_t s_;
};

status cuda_stream::rope(const rope_args& a) {
  R1_RETURN_IF_ERROR(check_rope(a));
  R1_RETURN_IF_ERROR(own({a.x, a.pos, a.freq_factors}));
  float corr[2] = {0.0f, 0.0f};
  if (a.ext_factor != 0.0f) rope_yarn_corr_dims(a.n_rot, a.n_ctx_orig, a.freq_base, a.beta_fast, a.beta_slow, corr);
  float mscale = a.attn_factor;
  if (a.ext_factor != 0.0f) mscale *= 1.0f + 0.1f * std::log(1.0f / a.freq_scale);
  const rope_consts c{a.n_tokens, a.n_heads, a.head_dim, a.token_stride, a.n_rot, a.neox,
                      std::pow(a.freq_base, -2.0f / static_cast<float>(a.n_rot)), a.freq_scale, a.ext_factor, mscale,
                      corr[0], corr[1]};
  return cu::rope(s_, ptr(a.x), ptr<int32_t>(a.pos), ptr(a.freq_factors), c);
}

status cuda_stream::attention(const attention_op_args& a) {
  R1_RETURN_IF_ERROR(check_attention(a));
  R1_RETURN_IF_ERROR(own({a.q, a.out}));
  if (a.n_kv > 0) R1_RETURN_IF_ERROR(own({a.k.data, a.v.data}));
  const attention_consts c{a.q_stride, a.out_stride, a.n_q, a.n_head, a.n_head_kv, a.head_dim_k, a.head_dim_v,
                           a.n_kv, a.q_pos0, a.causal, a.scale, a.k.type == tensor_type::f16,
                           a.v.type == tensor_type::f16, a.k.pos_stride_bytes, a.k.head_stride_bytes,
                           a.v.pos_stride_bytes, a.v.head_stride_bytes};
  const uint8_t* k = a.n_kv > 0 ? ptr<uint8_t>(a.k.data) : nullptr;
  const uint8_t* v = a.n_kv > 0 ? ptr<uint8_t>(a.v.data) : nullptr;
  return cu::attention(s_, ptr(a.q), k, v, ptr(a.out), c);
}

class cuda_device final : public device {
 public:
  cuda_device(int dev, device_info info) : dev_(dev), info_(std::move(info)) {}
  const device_info& info() const override { return info_; }
  bool supports(op_kind op, tensor_type t) const override {
    switch (op) {
      case op_kind::matmul:
      case op_kind::get_rows:
        return t == tensor_type::f32 || t == tensor_type::f16 || t == tensor_type::bf16 || t == tensor_type::q8_0 ||
               t == tensor_type::q4_0 || t == tensor_type::q4_k || t == tensor_type::q5_k || t == tensor_type::q6_k;
      case op_kind::convert_rows:
      case op_kind::attention: return t == tensor_type::f32 || t == tensor_type::f16;
      default: return true;
    }
  }
  result<std::unique_ptr<buffer>> alloc(size_t bytes) override {
    cudaSetDevice(dev_);
    void* p = nullptr;
    R1_RETURN_IF_ERROR(cuda_status(cudaMalloc(&p, bytes == 0 ? 4 : bytes), "cudaMalloc"));
    return std::unique_ptr<buffer>(std::make_unique<cuda_buffer>(*this, dev_, p, bytes));
  }
  result<std::unique_ptr<stream>> create_stream() override {
    cudaSetDevice(dev_);
    cudaStream_t s = nullptr;
    R1_RETURN_IF_ERROR(cuda_status(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate"));
    return std::unique_ptr<stream>(std::make_unique<cuda_stream>(*this, dev_, s));
  }

 private:
  int dev_;
  device_info info_;
};

class cuda_backend final : public backend {
 public:
  std::string_view name() const override { return "cuda"; }
  size_t device_count() const override { return devices_.size(); }
  device& device_at(size_t i) override { return *devices_.at(i); }
  std::vector<std::unique_ptr<cuda_device>> devices_;
};

}  // namespace
}  // namespace cu

result<std::unique_ptr<backend>> make_cuda_backend() {
  int n = 0;
  if (cudaError_t e = cudaGetDeviceCount(&n); e != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error for later calls
    return unavailable(std::string("cuda: no usable driver or device (") + cudaGetErrorString(e) + ")");
  }
  auto b = std::make_unique<cu::cuda_backend>();
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    device_info info;
    info.backend = "cuda";
    info.index = static_cast<int>(b->devices_.size());
    info.name = p.name;
    info.type = p.integrated ? device_type::integrated_gpu : device_type::discrete_gpu;
    info.compute_capability = std::to_string(p.major) + "." + std::to_string(p.minor);
    size_t free_b = 0, total_b = 0;
    cudaSetDevice(i);
    if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) free_b = total_b = p.totalGlobalMem;
    info.total_memory = total_b;
    info.free_memory = free_b;
    int drv = 0;
    cudaDriverGetVersion(&drv);
    info.driver = "CUDA " + std::to_string(drv / 1000) + "." + std::to_string(drv % 1000 / 10);
    b->devices_.push_back(std::make_unique<cu::cuda_device>(i, std::move(info)));
  }
  return std::unique_ptr<backend>(std::move(b));
}

}  // namespace r1::kernels
