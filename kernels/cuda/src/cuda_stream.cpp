// The CUDA stream: checks each op's arguments when it is queued, then either
// launches it at once or, inside a step that is to become a graph, records it;
// end_step() replays the recorded launches into a capture (step_graph), or one
// by one when graphs are off or the capture fails.
#include <cuda_runtime.h>

#include <cmath>
#include <variant>
#include <vector>

#include "cuda_device.h"
#include "launch.h"
#include "r1/base/log.h"
#include "r1/kernels/op_checks.h"
#include "r1/kernels/ops.h"
#include "r1/kernels/quants.h"
#include "step_graph.h"

namespace r1::kernels::cu {

namespace {

struct copy_args {
  tensor_arg src, dst;
  size_t n = 0;
};

using recorded_op = std::variant<matmul_args, rms_norm_args, binary_args, swiglu_args, softmax_args,
                                 rope_args, get_rows_args, convert_rows_args, attention_op_args, copy_args>;

template <class T = float>
T* ptr(const tensor_arg& a) {
  return a.empty() ? nullptr : reinterpret_cast<T*>(static_cast<cuda_buffer*>(a.buf)->data() + a.offset);
}

class cuda_stream final : public stream {
 public:
  cuda_stream(const cuda_device& d, int dev, cudaStream_t s) : owner_(d), dev_(dev), s_(s) {
    if (cudaDeviceGetAttribute(&sm_count_, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess) sm_count_ = 1;
  }
  ~cuda_stream() override {
    cudaSetDevice(dev_);
    cudaStreamSynchronize(s_);
    if (attn_scratch_) cudaFree(attn_scratch_);
    cudaStreamDestroy(s_);
  }

  status matmul(const matmul_args& a) override {
    R1_RETURN_IF_ERROR(check_matmul(a));
    R1_RETURN_IF_ERROR(own({a.w, a.x, a.y}));
    return queue(a);
  }
  status rms_norm(const rms_norm_args& a) override {
    R1_RETURN_IF_ERROR(check_rms_norm(a));
    R1_RETURN_IF_ERROR(own({a.x, a.w, a.y}));
    return queue(a);
  }
  status binary(const binary_args& a) override {
    R1_RETURN_IF_ERROR(check_binary(a));
    R1_RETURN_IF_ERROR(own({a.a, a.b, a.dst}));
    return queue(a);
  }
  status swiglu(const swiglu_args& a) override {
    R1_RETURN_IF_ERROR(check_swiglu(a));
    R1_RETURN_IF_ERROR(own({a.gate, a.up, a.dst}));
    return queue(a);
  }
  status softmax(const softmax_args& a) override {
    R1_RETURN_IF_ERROR(check_softmax(a));
    R1_RETURN_IF_ERROR(own({a.x}));
    return queue(a);
  }
  status rope(const rope_args& a) override {
    R1_RETURN_IF_ERROR(check_rope(a));
    R1_RETURN_IF_ERROR(own({a.x, a.pos, a.freq_factors}));
    return queue(a);
  }
  status get_rows(const get_rows_args& a) override {
    R1_RETURN_IF_ERROR(check_get_rows(a));
    R1_RETURN_IF_ERROR(own({a.data, a.ids, a.dst}));
    if (a.n_embd % 32 != 0) return unavailable("cuda: get_rows needs rows of a multiple of 32");
    return queue(a);
  }
  status convert_rows(const convert_rows_args& a) override {
    R1_RETURN_IF_ERROR(check_convert_rows(a));
    R1_RETURN_IF_ERROR(own({a.src, a.dst}));
    return queue(a);
  }
  status attention(const attention_op_args& a) override {
    R1_RETURN_IF_ERROR(check_attention(a));
    R1_RETURN_IF_ERROR(own({a.q, a.out}));
    if (a.n_kv > 0) R1_RETURN_IF_ERROR(own({a.k.data, a.v.data}));
    R1_RETURN_IF_ERROR(reserve_attention_scratch(plan_attention(attention_consts_of(a), sm_count_).scratch_bytes));
    return queue(a);
  }
  status copy(tensor_arg src, tensor_arg dst, size_t n) override {
    R1_RETURN_IF_ERROR(check_arg("copy", "src", src, n));
    R1_RETURN_IF_ERROR(check_arg("copy", "dst", dst, n));
    R1_RETURN_IF_ERROR(own({src, dst}));
    return queue(copy_args{src, dst, n});
  }
  status synchronize() override {
    const status ended = in_step_ ? end_step() : ok_status();
    cudaSetDevice(dev_);
    const status waited = cuda_status(cudaStreamSynchronize(s_), "synchronize");
    return ended.ok() ? waited : ended;
  }
  status begin_step(int64_t n_tokens) override;
  status end_step() override;

 private:
  status own(std::initializer_list<tensor_arg> args) const {
    for (const auto& a : args) {
      if (a.empty()) continue;
      auto* b = dynamic_cast<cuda_buffer*>(a.buf);
      if (!b || &b->owner() != &owner_)
        return invalid_argument("cuda stream: a tensor is not in a buffer of this device");
    }
    cudaSetDevice(dev_);
    return ok_status();
  }
  // Grows the scratch of the split attention when an op is queued, never inside a
  // capture (ops are recorded then and launched at end_step). The old block may be in
  // use by launched work or a graph of an earlier step: the stream drains first.
  status reserve_attention_scratch(size_t bytes) {
    if (bytes <= attn_scratch_bytes_) return ok_status();
    R1_RETURN_IF_ERROR(cuda_status(cudaStreamSynchronize(s_), "attention scratch"));
    if (attn_scratch_) cudaFree(attn_scratch_);
    attn_scratch_ = nullptr;
    attn_scratch_bytes_ = 0;
    const size_t mib = size_t{1} << 20, n = (bytes + mib - 1) / mib * mib;
    void* p = nullptr;
    R1_RETURN_IF_ERROR(cuda_status(cudaMalloc(&p, n), "attention scratch"));
    attn_scratch_ = static_cast<float*>(p);
    attn_scratch_bytes_ = n;
    return ok_status();
  }
  static attention_consts attention_consts_of(const attention_op_args& a);
  // Launches now, or records for end_step() inside a step that becomes a graph.
  template <class A>
  status queue(const A& a) {
    if (recording_) {
      ops_.emplace_back(a);
      return ok_status();
    }
    return launch(a);
  }
  status replay() {
    for (const recorded_op& op : ops_) {
      R1_RETURN_IF_ERROR(std::visit([this](const auto& a) { return launch(a); }, op));
    }
    return ok_status();
  }

  // The launches themselves (arguments were checked when queued).
  status launch(const matmul_args& a) {
    return cu::matmul(s_, a.type, ptr<uint8_t>(a.w), a.rows, a.cols, row_size(a.type, a.cols), ptr(a.x),
                      a.n_cols, a.x_stride, ptr(a.y), a.y_stride);
  }
  status launch(const rms_norm_args& a) {
    return cu::rms_norm(s_, ptr(a.x), a.w.empty() ? nullptr : ptr(a.w), ptr(a.y), a.n, a.n_rows, a.stride,
                        a.eps);
  }
  status launch(const binary_args& a) {
    return cu::binary(s_, a.op == binary_op::add, ptr(a.a), ptr(a.b), ptr(a.dst), a.n,
                      a.b_len == 0 ? a.n : a.b_len);
  }
  status launch(const swiglu_args& a) { return cu::swiglu(s_, ptr(a.gate), ptr(a.up), ptr(a.dst), a.n); }
  status launch(const softmax_args& a) { return cu::softmax(s_, ptr(a.x), a.n, a.n_rows, a.stride, a.scale); }
  status launch(const rope_args& a);
  status launch(const get_rows_args& a) {
    return cu::get_rows(s_, a.type, ptr<uint8_t>(a.data), a.n_rows, a.n_embd, row_size(a.type, a.n_embd),
                        ptr<int32_t>(a.ids), a.n_ids, ptr(a.dst));
  }
  status launch(const convert_rows_args& a) {
    return cu::convert_rows(s_, ptr(a.src), a.width, a.n_rows, a.src_stride, a.dst_type == tensor_type::f16,
                            ptr<uint8_t>(a.dst), a.dst_stride_bytes);
  }
  status launch(const attention_op_args& a);
  status launch(const copy_args& a) {
    return cuda_status(
        cudaMemcpyAsync(ptr<uint8_t>(a.dst), ptr<uint8_t>(a.src), a.n, cudaMemcpyDeviceToDevice, s_), "copy");
  }

  const cuda_device& owner_;
  int dev_;
  cudaStream_t s_;
  bool in_step_ = false;
  bool recording_ = false;  // inside a step that is to be captured
  int64_t step_tokens_ = 0;
  bool warned_ = false;  // the first failed capture of this stream was logged as a warning
  std::vector<recorded_op> ops_;
  step_graph graph_;
  int sm_count_ = 1;
  float* attn_scratch_ = nullptr;  // partials of the split attention, owned
  size_t attn_scratch_bytes_ = 0;
};

status cuda_stream::launch(const rope_args& a) {
  float corr[2] = {0.0f, 0.0f};
  if (a.ext_factor != 0.0f)
    rope_yarn_corr_dims(a.n_rot, a.n_ctx_orig, a.freq_base, a.beta_fast, a.beta_slow, corr);
  float mscale = a.attn_factor;
  if (a.ext_factor != 0.0f) mscale *= 1.0f + 0.1f * std::log(1.0f / a.freq_scale);
  const rope_consts c{a.n_tokens,
                      a.n_heads,
                      a.head_dim,
                      a.token_stride,
                      a.n_rot,
                      a.neox,
                      std::pow(a.freq_base, -2.0f / static_cast<float>(a.n_rot)),
                      a.freq_scale,
                      a.ext_factor,
                      mscale,
                      corr[0],
                      corr[1]};
  return cu::rope(s_, ptr(a.x), ptr<int32_t>(a.pos), ptr(a.freq_factors), c);
}

attention_consts cuda_stream::attention_consts_of(const attention_op_args& a) {
  return attention_consts{a.q_stride,
                           a.out_stride,
                           a.n_q,
                           a.n_head,
                           a.n_head_kv,
                           a.head_dim_k,
                           a.head_dim_v,
                           a.n_kv,
                           a.q_pos0,
                           a.causal,
                           a.scale,
                           a.k.type == tensor_type::f16,
                           a.v.type == tensor_type::f16,
                           a.k.pos_stride_bytes,
                           a.k.head_stride_bytes,
                           a.v.pos_stride_bytes,
                           a.v.head_stride_bytes};
}

status cuda_stream::launch(const attention_op_args& a) {
  const attention_consts c = attention_consts_of(a);
  const uint8_t* k = a.n_kv > 0 ? ptr<uint8_t>(a.k.data) : nullptr;
  const uint8_t* v = a.n_kv > 0 ? ptr<uint8_t>(a.v.data) : nullptr;
  const attention_split_plan p = plan_attention(c, sm_count_);
  if (p.heads_per_block > 0)
    return cu::attention_split(s_, ptr(a.q), k, v, ptr(a.out), c, p, attn_scratch_, attn_scratch_bytes_);
  return cu::attention(s_, ptr(a.q), k, v, ptr(a.out), c);
}

status cuda_stream::begin_step(int64_t n_tokens) {
  ops_.clear();  // whatever an earlier step left unlaunched is dropped
  const cuda_options& o = owner_.options();
  in_step_ = true;
  step_tokens_ = n_tokens;
  recording_ = o.graphs && n_tokens > 0 && n_tokens <= o.graph_max_tokens;
  return ok_status();
}

status cuda_stream::end_step() {
  if (!in_step_) return ok_status();
  in_step_ = false;
  graph_counters& c = owner_.counters();
  if (!recording_) {
    c.eager_steps.fetch_add(1, std::memory_order_relaxed);
    return ok_status();
  }
  recording_ = false;
  cudaSetDevice(dev_);
  const status captured = graph_.launch(
      s_, step_tokens_, owner_.options().fail_graph_capture, [this] { return replay(); }, c);
  if (captured.ok()) {
    ops_.clear();
    return ok_status();
  }
  // Nothing of the step was queued: launch it op by op. An op error comes back the same way here.
  const status eager = replay();
  ops_.clear();
  if (!eager.ok()) return eager;
  c.fallbacks.fetch_add(1, std::memory_order_relaxed);
  c.eager_steps.fetch_add(1, std::memory_order_relaxed);
  if (!warned_) {
    warned_ = true;
    R1_LOG(warn, "cuda") << owner_.info().backend << owner_.info().index << ": CUDA graph capture failed ("
                         << captured.message() << "); the step ran op by op";
  } else {
    R1_LOG(debug, "cuda") << "CUDA graph capture failed (" << captured.message()
                          << "); the step ran op by op";
  }
  return ok_status();
}

}  // namespace

std::unique_ptr<stream> make_cuda_stream(const cuda_device& d, int dev, cudaStream_t s) {
  return std::make_unique<cuda_stream>(d, dev, s);
}

}  // namespace r1::kernels::cu
