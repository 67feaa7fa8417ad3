// The compute backend interface: backend -> device -> buffer / stream.
//
// A backend (cpu, vulkan, cuda) exposes the devices it found. A device owns
// memory (buffers) and executes the operations of the forward pass on a stream.
// The CPU backend (cpu_backend.h) is the reference every other backend is
// tested against (tests/kernels/backends).
//
// Tensors are passed as tensor_arg: a buffer of the same device plus a byte
// offset (a multiple of 4). Shapes are plain integers; all activations are f32,
// weights may be any type the device supports (supports()).
//
// Ownership: a backend owns its devices; buffers and streams are owned by the
// caller and must not outlive their device. Buffers used by queued operations
// must stay alive until the stream's synchronize() returns.
// Thread safety: devices are safe to use from several threads (alloc,
// create_stream); a buffer or a stream is used by one thread at a time.
// Errors: operations validate their arguments when queued and return
// invalid_argument (bad shape, foreign buffer, out-of-range offset) or
// unavailable (type not supported on this device); failures of the device
// itself surface as internal / resource_exhausted from alloc or synchronize.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "r1/base/status.h"
#include "r1/base/tensor_type.h"

namespace r1::kernels {

enum class device_type { cpu, discrete_gpu, integrated_gpu, virtual_gpu, other };
// "cpu", "discrete_gpu", "integrated_gpu", "virtual_gpu", "other".
std::string_view device_type_name(device_type t);

struct device_info {
  std::string backend;             // "cpu", "vulkan", "cuda"
  int index = 0;                   // position within its backend
  std::string name;                // as the driver reports it
  device_type type = device_type::other;
  uint64_t total_memory = 0;       // bytes usable for buffers
  uint64_t free_memory = 0;        // bytes free now (best effort; total when unknown)
  std::string compute_capability;  // CUDA "9.0"; empty for other backends
  std::string driver;              // driver name / version (may be empty)
};

// Memory owned by one device.
class buffer {
 public:
  virtual ~buffer() = default;
  virtual size_t size() const = 0;
  // Copies host memory in / out; invalid_argument when [offset, offset+n) is outside the buffer.
  // Both wait for the transfer (no queued operation may write the range concurrently).
  virtual status upload(size_t offset, const void* src, size_t n) = 0;
  virtual status download(size_t offset, void* dst, size_t n) const = 0;
};

// A tensor on a device: buffer + byte offset.
struct tensor_arg {
  buffer* buf = nullptr;
  size_t offset = 0;
  bool empty() const { return buf == nullptr; }
};

// ---- the op list of the forward pass ----

// y[j*y_stride + r] = sum_k W[r][k] * x[j*x_stride + k] for j < n_cols (n_cols == 1: decode).
struct matmul_args {
  tensor_type type = tensor_type::f32;
  int64_t rows = 0, cols = 0;        // cols: a multiple of 32 and of the block size
  tensor_arg w;                      // packed rows of row_size(type, cols) bytes
  tensor_arg x;                      // f32
  int64_t n_cols = 1, x_stride = 0;  // in floats
  tensor_arg y;                      // f32
  int64_t y_stride = 0;
};

// y_row = x_row / sqrt(mean(x_row²) + eps) [* w] for n_rows rows of n floats.
struct rms_norm_args {
  tensor_arg x, w, y;  // w may be empty
  int64_t n = 0, n_rows = 1, stride = 0;  // stride between rows (floats) of x and y
  float eps = 1e-6f;
};

enum class binary_op { add, mul };
// dst = a (op) b, elementwise over n floats; b is broadcast when b_len < n (b_len divides n).
struct binary_args {
  binary_op op = binary_op::add;
  tensor_arg a, b, dst;
  int64_t n = 0, b_len = 0;  // b_len 0: n
};

// dst = silu(gate) * up over n floats.
struct swiglu_args {
  tensor_arg gate, up, dst;
  int64_t n = 0;
};

// Row softmax in place after scaling: n_rows rows of n floats, row r at x + r*stride.
struct softmax_args {
  tensor_arg x;
  int64_t n = 0, n_rows = 1, stride = 0;
  float scale = 1.0f;
};

// RoPE in place, as kernels::rope (ops.h): token t, head h at x + t*token_stride + h*head_dim.
struct rope_args {
  tensor_arg x;
  tensor_arg pos;            // int32 per token
  tensor_arg freq_factors;   // n_rot/2 floats or empty
  int64_t n_tokens = 0, n_heads = 0, head_dim = 0, token_stride = 0;
  int n_rot = 0;
  bool neox = false;
  float freq_base = 10000.0f, freq_scale = 1.0f;
  float ext_factor = 0.0f, attn_factor = 1.0f, beta_fast = 32.0f, beta_slow = 1.0f;
  int n_ctx_orig = 0;
};

// dst[i] = dequantized row ids[i] of a (n_rows x n_embd) matrix of `type`.
// Ids out of range give zero rows on GPUs (the caller validates token ids).
struct get_rows_args {
  tensor_type type = tensor_type::f32;
  tensor_arg data;
  int64_t n_rows = 0, n_embd = 0;
  tensor_arg ids;  // int32
  int64_t n_ids = 0;
  tensor_arg dst;  // f32, row i at dst + i*n_embd
};

// Converts n_rows rows of `width` f32 values (row i at src + i*src_stride floats)
// into rows of dst_type (F32 or F16) at dst + i*dst_stride_bytes: KV cache stores.
struct convert_rows_args {
  tensor_arg src;
  int64_t width = 0, n_rows = 1, src_stride = 0;
  tensor_type dst_type = tensor_type::f16;
  tensor_arg dst;
  size_t dst_stride_bytes = 0;
};

// A KV cache on the device (F32 or F16).
struct kv_arg {
  tensor_type type = tensor_type::f16;
  tensor_arg data;
  size_t pos_stride_bytes = 0;   // between positions of one head
  size_t head_stride_bytes = 0;  // between KV heads at one position
};

// Attention as kernels::attention (attention.h): causal flash-style softmax(QK^T*scale)V
// with grouped-query heads. Query i, head h at q + i*q_stride + h*head_dim_k.
struct attention_op_args {
  tensor_arg q, out;
  int64_t q_stride = 0, out_stride = 0;
  int64_t n_q = 1;
  int n_head = 1, n_head_kv = 1, head_dim_k = 0, head_dim_v = 0;
  int64_t n_kv = 0, q_pos0 = 0;
  bool causal = true;
  float scale = 1.0f;
  kv_arg k, v;
};

enum class op_kind { matmul, rms_norm, binary, swiglu, softmax, rope, get_rows, convert_rows, attention };

// An in-order queue of operations on one device.
class stream {
 public:
  virtual ~stream() = default;
  virtual status matmul(const matmul_args& a) = 0;
  virtual status rms_norm(const rms_norm_args& a) = 0;
  virtual status binary(const binary_args& a) = 0;
  virtual status swiglu(const swiglu_args& a) = 0;
  virtual status softmax(const softmax_args& a) = 0;
  virtual status rope(const rope_args& a) = 0;
  virtual status get_rows(const get_rows_args& a) = 0;
  virtual status convert_rows(const convert_rows_args& a) = 0;
  virtual status attention(const attention_op_args& a) = 0;
  // Copies n bytes between buffers of this device.
  virtual status copy(tensor_arg src, tensor_arg dst, size_t n) = 0;
  // Waits until every queued operation finished; reports the first device error.
  virtual status synchronize() = 0;

  // Optional grouping of one step of a forward pass (default: no grouping, operations run as
  // queued). Operations queued between begin_step(n_tokens) and end_step() evaluate a batch of
  // n_tokens tokens; a backend may hold them and launch them as one unit at end_step() (CUDA
  // graphs for decode steps), so launch errors may surface from end_step() instead of the op.
  // Argument checks still happen when an operation is queued. Inside a step, queue operations
  // only: no upload/download of buffers the step uses. synchronize() ends an open step first;
  // the next begin_step() drops what a step left open by an error holds and has not run.
  virtual status begin_step(int64_t n_tokens) {
    (void)n_tokens;
    return ok_status();
  }
  virtual status end_step() { return ok_status(); }
};

class device {
 public:
  virtual ~device() = default;
  virtual const device_info& info() const = 0;
  // Whether `op` runs here with weight / cache type t (t is ignored for f32-only ops).
  virtual bool supports(op_kind op, tensor_type t) const = 0;
  // resource_exhausted when the device has no room.
  virtual result<std::unique_ptr<buffer>> alloc(size_t bytes) = 0;
  virtual result<std::unique_ptr<stream>> create_stream() = 0;
};

class backend {
 public:
  virtual ~backend() = default;
  virtual std::string_view name() const = 0;
  virtual size_t device_count() const = 0;
  virtual device& device_at(size_t i) = 0;
};

// The backends compiled into this binary. add() order is the listing order.
class backend_registry {
 public:
  void add(std::unique_ptr<backend> b) { backends_.push_back(std::move(b)); }
  // A backend that is compiled in but could not start (no loader, no driver): kept for listings.
  void add_unavailable(std::string name, status why) { unavailable_.push_back({std::move(name), std::move(why)}); }

  const std::vector<std::unique_ptr<backend>>& backends() const { return backends_; }
  backend* find(std::string_view name) const;
  std::vector<device*> all_devices() const;
  struct unavailable_backend {
    std::string name;
    status why;
  };
  const std::vector<unavailable_backend>& unavailable() const { return unavailable_; }

 private:
  std::vector<std::unique_ptr<backend>> backends_;
  std::vector<unavailable_backend> unavailable_;
};

}  // namespace r1::kernels
