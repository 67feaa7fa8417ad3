// Flash-style attention for prompts, one block of 64 threads per (head, query): a
// tile of 64 keys is scored (one key per thread), then an online softmax (running
// max and sum) rescales the output accumulated in registers (8 dims per thread).
// Decode and small batches take the split-KV path (op_attention_split.cu) instead.
#include <cuda_fp16.h>

#include "launch.h"

namespace r1::kernels::cu {

namespace {

constexpr int k_tile = 64;
constexpr int k_dv_per_thread = 8;
constexpr int k_max_dk = 576;

__device__ __forceinline__ float load(const uint8_t* row, int d, bool f16) {
  return f16 ? __half2float(reinterpret_cast<const __half*>(row)[d]) : reinterpret_cast<const float*>(row)[d];
}

__global__ void attention_kernel(const float* q, const uint8_t* k, const uint8_t* v, float* out, attention_consts c) {
  __shared__ float qs[k_max_dk];
  __shared__ float ps[k_tile];
  const int h = blockIdx.x, hk = h / (c.n_head / c.n_head_kv), tid = threadIdx.x;
  for (int64_t qi = blockIdx.y; qi < c.n_q; qi += gridDim.y) {
    for (int d = tid; d < c.dk; d += k_tile) qs[d] = q[qi * c.q_stride + int64_t{h} * c.dk + d];
    __syncthreads();
    const int64_t end = c.causal ? min(c.n_kv, c.q_pos0 + qi + 1) : c.n_kv;
    float acc[k_dv_per_thread] = {};
    float m = -INFINITY, l = 0;
    for (int64_t t0 = 0; t0 < end; t0 += k_tile) {
      const int64_t key = t0 + tid;
      float s = -INFINITY;
      if (key < end) {
        const uint8_t* kr = k + key * c.k_pos + hk * c.k_head;
        s = 0;
        for (int d = 0; d < c.dk; ++d) s += qs[d] * load(kr, d, c.k_f16);
        s *= c.scale;
      }
      ps[tid] = s;
      __syncthreads();
      const int n_in = static_cast<int>(min(static_cast<int64_t>(k_tile), end - t0));
      float tm = m;
      for (int j = 0; j < n_in; ++j) tm = fmaxf(tm, ps[j]);
      const float corr = expf(m - tm);
      l *= corr;
      for (int e = 0; e < k_dv_per_thread; ++e) acc[e] *= corr;
      for (int j = 0; j < n_in; ++j) {
        const float pj = expf(ps[j] - tm);
        l += pj;
        const uint8_t* vr = v + (t0 + j) * c.v_pos + hk * c.v_head;
        for (int e = 0; e < k_dv_per_thread; ++e) {
          const int d = tid + e * k_tile;
          if (d < c.dv) acc[e] += pj * load(vr, d, c.v_f16);
        }
      }
      m = tm;
      __syncthreads();
    }
    const float inv = l > 0 ? 1.0f / l : 0.0f;
    for (int e = 0; e < k_dv_per_thread; ++e) {
      const int d = tid + e * k_tile;
      if (d < c.dv) out[qi * c.out_stride + int64_t{h} * c.dv + d] = acc[e] * inv;
    }
    __syncthreads();
  }
}

}  // namespace

status attention(cudaStream_t s, const float* q, const uint8_t* k, const uint8_t* v, float* out,
                 const attention_consts& c) {
  if (c.dk > k_max_dk || c.dv > k_tile * k_dv_per_thread)
    return unavailable("cuda: attention supports head dims up to 576 (K) and 512 (V)");
  const dim3 grid(static_cast<unsigned>(c.n_head), static_cast<unsigned>(std::min<int64_t>(c.n_q, 65535)));
  attention_kernel<<<grid, k_tile, 0, s>>>(q, k, v, out, c);
  return launch_status("attention");
}

}  // namespace r1::kernels::cu
