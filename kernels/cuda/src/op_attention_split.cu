// Split-KV ("flash-decoding") attention for decode and small batches. The keys of
// each (query, head) are cut into chunks; one block of 64 or 128 threads scores
// one chunk for up to 8 query heads that share a KV head (K/V rows are read once
// for all of them) and writes an unnormalised partial (max, sum, output) to the
// stream's scratch. A second kernel merges the partials of each (query, head)
// with the log-sum-exp rule. With n_head x n_q blocks the prompt kernel leaves
// most SMs idle during decode; here the chunk count is chosen so that the grid
// fills the device.
//
// Scores: 8 lanes per key, each reading every 8th dim of the row (consecutive
// lanes read consecutive dims), reduced with shuffles. P·V: each thread owns up
// to 4 output dims of every head of the block and walks the tile's keys (V rows
// read coalesced across the block).
#include <cuda_fp16.h>

#include <algorithm>

#include "launch.h"

namespace r1::kernels::cu {

namespace {

constexpr int k_tile = 64;           // keys scored per pass of a block
constexpr int k_lanes_per_key = 8;   // lanes sharing one key's dot product
constexpr int k_batch = 8;           // loads a thread issues before using them
constexpr int k_max_heads = 8;       // query heads per block (one KV group or part of it)
constexpr int k_max_dv_per_thread = 4;
constexpr int k_max_dk = 576;
constexpr int k_max_dv = 512;
constexpr int k_max_chunks = 256;
constexpr int k_split_max_q = 16;    // larger batches take the prompt kernel
constexpr int k_blocks_per_sm = 2;   // the grid size aimed at

// The cache type is a template parameter: with a run-time choice every load sits in
// a branch, and loads in branches are not kept in flight together.
template <bool F16>
__device__ __forceinline__ float load(const uint8_t* row, int d) {
  if constexpr (F16) return __half2float(reinterpret_cast<const __half*>(row)[d]);
  return reinterpret_cast<const float*>(row)[d];
}

__device__ __forceinline__ int64_t key_end(const attention_consts& c, int64_t qi) {
  return c.causal ? min(c.n_kv, c.q_pos0 + qi + 1) : c.n_kv;
}

// Scores keys [t0, t0 + k_tile) of the block's heads into ps (-inf past k1). A lane
// group takes two keys at a time and loads k_batch elements of each before using
// them: the kernel is latency-bound, so loads are issued together.
template <bool KF16>
__device__ void score_tile(const float* qs, const uint8_t* k, int64_t t0, int64_t k1, int hk, int heads,
                           const attention_consts& c, float (*ps)[k_tile]) {
  const int tid = threadIdx.x, lane = tid % k_lanes_per_key, step = blockDim.x / k_lanes_per_key;
  // k_tile is a multiple of 2 * step (8 or 16 key slots): j + step stays in the tile.
  for (int j = tid / k_lanes_per_key; j < k_tile; j += 2 * step) {
    const int64_t key[2] = {t0 + j, t0 + j + step};
    const bool valid[2] = {key[0] < k1, key[1] < k1};
    const uint8_t* kr[2] = {k + key[0] * c.k_pos + hk * c.k_head, k + key[1] * c.k_pos + hk * c.k_head};
    float part[2][k_max_heads] = {};
    for (int d0 = lane; d0 < c.dk; d0 += k_lanes_per_key * k_batch) {
      float kv[2][k_batch];
#pragma unroll
      for (int u = 0; u < k_batch; ++u) {
        const int d = d0 + u * k_lanes_per_key;
#pragma unroll
        for (int r = 0; r < 2; ++r) kv[r][u] = valid[r] && d < c.dk ? load<KF16>(kr[r], d) : 0.0f;
      }
#pragma unroll
      for (int u = 0; u < k_batch; ++u) {
        const int d = d0 + u * k_lanes_per_key;
        if (d >= c.dk) break;
#pragma unroll
        for (int h = 0; h < k_max_heads; ++h) {
          if (h >= heads) break;
          const float qv = qs[h * c.dk + d];
          part[0][h] += qv * kv[0][u];
          part[1][h] += qv * kv[1][u];
        }
      }
    }
#pragma unroll
    for (int r = 0; r < 2; ++r) {
#pragma unroll
      for (int h = 0; h < k_max_heads; ++h) {
        for (int off = k_lanes_per_key / 2; off > 0; off /= 2)
          part[r][h] += __shfl_xor_sync(0xffffffffu, part[r][h], off);
      }
      if (lane == 0) {
        for (int h = 0; h < heads; ++h) ps[h][j + r * step] = valid[r] ? part[r][h] * c.scale : -INFINITY;
      }
    }
  }
}

// P·V of one tile for the dims this thread owns (up to k_max_dv_per_thread, every head
// of the block): k_batch V values are loaded before they are used. Weights past the
// tile's keys are zero (softmax_tile), their V values are not read.
template <bool VF16>
__device__ void accumulate_tile(const uint8_t* v, int64_t t0, int n_in, int hk, int heads, const attention_consts& c,
                                const float (*ps)[k_tile], float (*acc)[k_max_dv_per_thread]) {
  const int tid = threadIdx.x;
  for (int j0 = 0; j0 < n_in; j0 += k_batch) {
    float vv[k_max_dv_per_thread][k_batch];
#pragma unroll
    for (int u = 0; u < k_batch; ++u) {
      const uint8_t* vr = v + (t0 + j0 + u) * c.v_pos + hk * c.v_head;
#pragma unroll
      for (int e = 0; e < k_max_dv_per_thread; ++e) {
        const int d = tid + e * blockDim.x;
        vv[e][u] = j0 + u < n_in && d < c.dv ? load<VF16>(vr, d) : 0.0f;
      }
    }
#pragma unroll
    for (int u = 0; u < k_batch; ++u) {
#pragma unroll
      for (int h = 0; h < k_max_heads; ++h) {
        if (h >= heads) break;
        const float p = ps[h][j0 + u];
#pragma unroll
        for (int e = 0; e < k_max_dv_per_thread; ++e) acc[h][e] += p * vv[e][u];
      }
    }
  }
}

// Online softmax step of one tile: one warp per head turns scores into weights
// exp(s - m_new) and updates the running max and sum; corr is the factor for the
// output accumulated so far.
__device__ void softmax_tile(int heads, float (*ps)[k_tile], float* m_run, float* l_run, float* corr) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, n_warps = blockDim.x / 32;
  for (int h = warp; h < heads; h += n_warps) {
    float s0 = ps[h][lane], s1 = ps[h][lane + 32];
    float tm = fmaxf(s0, s1);
    for (int off = 16; off > 0; off /= 2) tm = fmaxf(tm, __shfl_xor_sync(0xffffffffu, tm, off));
    // A tile always holds a key of this query, so m_new is finite.
    const float m_new = fmaxf(m_run[h], tm);
    s0 = expf(s0 - m_new);
    s1 = expf(s1 - m_new);
    ps[h][lane] = s0;
    ps[h][lane + 32] = s1;
    float sum = s0 + s1;
    for (int off = 16; off > 0; off /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, off);
    if (lane == 0) {
      const float f = expf(m_run[h] - m_new);  // 0 for the first tile (m_run = -inf)
      corr[h] = f;
      l_run[h] = l_run[h] * f + sum;
      m_run[h] = m_new;
    }
  }
}

// grid (n_chunks, n_head / heads, n_q); dynamic shared memory: heads * dk floats.
template <bool KF16, bool VF16>
__global__ void split_kernel(const float* q, const uint8_t* k, const uint8_t* v, float* part_o, float2* part_ml,
                             attention_consts c, int heads, int64_t chunk_len) {
  extern __shared__ float qs[];
  __shared__ float ps[k_max_heads][k_tile];
  __shared__ float m_run[k_max_heads], l_run[k_max_heads], corr[k_max_heads];
  const int tid = threadIdx.x, n_chunks = gridDim.x, chunk = blockIdx.x;
  const int h0 = blockIdx.y * heads, hk = h0 / (c.n_head / c.n_head_kv);
  const int64_t qi = blockIdx.z;
  for (int i = tid; i < heads * c.dk; i += blockDim.x) qs[i] = q[qi * c.q_stride + int64_t{h0} * c.dk + i];
  if (tid < heads) {
    m_run[tid] = -INFINITY;
    l_run[tid] = 0.0f;
  }
  __syncthreads();
  const int64_t k0 = chunk * chunk_len, k1 = min(k0 + chunk_len, key_end(c, qi));
  float acc[k_max_heads][k_max_dv_per_thread] = {};
  for (int64_t t0 = k0; t0 < k1; t0 += k_tile) {
    score_tile<KF16>(qs, k, t0, k1, hk, heads, c, ps);
    __syncthreads();
    softmax_tile(heads, ps, m_run, l_run, corr);
    __syncthreads();
#pragma unroll
    for (int h = 0; h < k_max_heads; ++h) {
      if (h >= heads) break;
      const float f = corr[h];
#pragma unroll
      for (int e = 0; e < k_max_dv_per_thread; ++e) acc[h][e] *= f;
    }
    const int n_in = static_cast<int>(min(static_cast<int64_t>(k_tile), k1 - t0));
    accumulate_tile<VF16>(v, t0, n_in, hk, heads, c, ps, acc);
    __syncthreads();  // ps and corr are rewritten by the next tile
  }
#pragma unroll
  for (int h = 0; h < k_max_heads; ++h) {
    if (h >= heads) break;
    const int64_t slot = (qi * c.n_head + h0 + h) * n_chunks + chunk;
#pragma unroll
    for (int e = 0; e < k_max_dv_per_thread; ++e) {
      const int d = tid + e * blockDim.x;
      if (d < c.dv) part_o[slot * c.dv + d] = acc[h][e];
    }
    if (tid == 0) part_ml[slot] = make_float2(m_run[h], l_run[h]);
  }
}

// grid (n_head, n_q): out = sum_c w_c o_c / sum_c w_c l_c with w_c = exp(m_c - max m).
// The (max, sum) pairs go through shared memory; the output sums over chunks read the
// partials without branches (an empty chunk's output is zeros) so loads overlap.
__global__ void merge_kernel(const float* part_o, const float2* part_ml, float* out, attention_consts c,
                             int n_chunks) {
  __shared__ float2 ml[k_max_chunks];
  __shared__ float w[k_max_chunks];
  const int h = blockIdx.x, tid = threadIdx.x;
  const int64_t qi = blockIdx.y, base = (qi * c.n_head + h) * n_chunks;
  for (int i = tid; i < n_chunks; i += blockDim.x) ml[i] = part_ml[base + i];
  __syncthreads();
  float m = -INFINITY;
  for (int i = 0; i < n_chunks; ++i) m = fmaxf(m, ml[i].x);
  for (int i = tid; i < n_chunks; i += blockDim.x) w[i] = ml[i].x == -INFINITY ? 0.0f : expf(ml[i].x - m);
  __syncthreads();
  float l = 0;
  for (int i = 0; i < n_chunks; ++i) l += w[i] * ml[i].y;
  const float inv_l = l > 0 ? 1.0f / l : 0.0f;  // no keys: zeros, like the prompt kernel
  const float* po = part_o + base * c.dv;
  for (int d = tid; d < c.dv; d += blockDim.x) {
    float s0 = 0, s1 = 0;
    int i = 0;
    for (; i + 1 < n_chunks; i += 2) {
      s0 += w[i] * po[int64_t{i} * c.dv + d];
      s1 += w[i + 1] * po[int64_t{i + 1} * c.dv + d];
    }
    if (i < n_chunks) s0 += w[i] * po[int64_t{i} * c.dv + d];
    out[qi * c.out_stride + int64_t{h} * c.dv + d] = (s0 + s1) * inv_l;
  }
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

attention_split_plan plan_attention(const attention_consts& c, int sm_count) {
  attention_split_plan p;
  if (c.n_q > k_split_max_q || c.dk > k_max_dk || c.dv > k_max_dv || c.n_head % c.n_head_kv != 0) return p;
  const int group = c.n_head / c.n_head_kv;
  const int64_t span = std::max<int64_t>(c.causal ? std::min(c.n_kv, c.q_pos0 + c.n_q) : c.n_kv, 1);
  const int64_t target = int64_t{k_blocks_per_sm} * std::max(sm_count, 1);
  // Heads per block: the largest divisor of the group up to 8 whose grid still fills
  // the SMs (a block per KV head reads K/V once for its whole group); else one head.
  for (int heads = std::min(group, k_max_heads); heads >= 1; --heads) {
    if (group % heads != 0) continue;
    const int64_t rows = int64_t{c.n_head / heads} * c.n_q;
    int64_t chunks = std::min(ceil_div(span, k_tile), ceil_div(target, rows));
    chunks = std::clamp<int64_t>(chunks, 1, k_max_chunks);
    p.heads_per_block = heads;
    p.chunk_len = ceil_div(ceil_div(span, chunks), k_tile) * k_tile;
    p.n_chunks = static_cast<int>(ceil_div(span, p.chunk_len));
    if (rows * p.n_chunks >= sm_count) break;
  }
  const int64_t slots = c.n_q * c.n_head * p.n_chunks;
  p.scratch_bytes = static_cast<size_t>(slots) * (static_cast<size_t>(c.dv) + 2) * sizeof(float);
  return p;
}

status attention_split(cudaStream_t s, const float* q, const uint8_t* k, const uint8_t* v, float* out,
                       const attention_consts& c, const attention_split_plan& p, float* scratch,
                       size_t scratch_bytes) {
  if (p.heads_per_block <= 0 || p.scratch_bytes > scratch_bytes || scratch == nullptr)
    return internal_error("cuda: split attention launched without its scratch");
  const int64_t slots = c.n_q * c.n_head * p.n_chunks;
  // (max, sum) pairs first: the scratch comes from cudaMalloc, so they are 8-byte aligned.
  auto* part_ml = reinterpret_cast<float2*>(scratch);
  float* part_o = scratch + 2 * slots;
  const int threads = c.dv <= 64 ? 64 : 128;
  const dim3 grid(static_cast<unsigned>(p.n_chunks), static_cast<unsigned>(c.n_head / p.heads_per_block),
                  static_cast<unsigned>(c.n_q));
  const size_t shm = static_cast<size_t>(p.heads_per_block) * c.dk * sizeof(float);
  auto* kernel = c.k_f16 ? (c.v_f16 ? split_kernel<true, true> : split_kernel<true, false>)
                         : (c.v_f16 ? split_kernel<false, true> : split_kernel<false, false>);
  kernel<<<grid, threads, shm, s>>>(q, k, v, part_o, part_ml, c, p.heads_per_block, p.chunk_len);
  R1_RETURN_IF_ERROR(launch_status("attention (split)"));
  merge_kernel<<<dim3(static_cast<unsigned>(c.n_head), static_cast<unsigned>(c.n_q)), 128, 0, s>>>(
      part_o, part_ml, out, c, p.n_chunks);
  return launch_status("attention (merge)");
}

}  // namespace r1::kernels::cu
