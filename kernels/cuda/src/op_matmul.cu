// y = W·x for every weight type, in three shapes:
// - matvec (decode, up to k_vec_cols columns): one warp per weight row, each lane
//   dequantizes 8 consecutive elements per 256-element step (so a warp reads whole
//   blocks, coalesced) and dots them with every column; a warp shuffle sums.
// - tiled GEMM (prompts): a 64-row × 64-column output tile per block of 256 threads;
//   each step dequantizes a 64 × 32 weight tile and loads a 32 × 64 activation tile
//   into shared memory, and every thread accumulates a 4 × 4 sub-tile.
// - the generic kernel, kept for rows or activations that are not 16-byte aligned.
// All accumulate in f32 on dequantized weights (no activation quantization).
#include "launch.h"
#include "quants.cuh"
#include "quants8.cuh"

namespace r1::kernels::cu {

namespace {

// ---- generic: one block of 128 threads per (row, group of 4 columns) ----

constexpr int k_threads = 128;
constexpr int k_cols = 4;

template <int T>
__global__ void matmul_kernel(const uint8_t* w, int64_t cols, size_t row_bytes, const float* x, int64_t n_cols,
                              int64_t x_stride, float* y, int64_t y_stride) {
  __shared__ float red[32];
  const int64_t row = blockIdx.x, col0 = static_cast<int64_t>(blockIdx.y) * k_cols;
  const uint8_t* wr = w + row * row_bytes;
  float acc[k_cols] = {0, 0, 0, 0};
  for (int64_t c = threadIdx.x; c < cols / 32; c += k_threads) {
    float v[32];
    dequant_chunk<T>(wr, c, v);
#pragma unroll
    for (int j = 0; j < k_cols; ++j) {
      if (col0 + j >= n_cols) break;
      const float* xc = x + (col0 + j) * x_stride + c * 32;
      float s = 0;
#pragma unroll
      for (int i = 0; i < 32; ++i) s += v[i] * xc[i];
      acc[j] += s;
    }
  }
#pragma unroll
  for (int j = 0; j < k_cols; ++j) {
    const float s = block_sum(acc[j], red);
    if (threadIdx.x == 0 && col0 + j < n_cols) y[(col0 + j) * y_stride + row] = s;
  }
}

// ---- matvec: a warp per row ----

constexpr int k_vec_cols = 8;       // the matvec takes batches up to this many columns
constexpr int k_vec_warps = 8;      // rows per block

template <int T, int NC>
__global__ void matvec_kernel(const uint8_t* w, int64_t rows, int64_t cols, size_t row_bytes, const float* x,
                              int64_t x_stride, float* y, int64_t y_stride) {
  const int lane = threadIdx.x & 31;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * k_vec_warps + (threadIdx.x >> 5);
  if (row >= rows) return;  // whole warps leave together: no block-level barrier below
  const uint8_t* wr = w + row * row_bytes;
  float acc[NC];
#pragma unroll
  for (int j = 0; j < NC; ++j) acc[j] = 0.0f;
  for (int64_t e0 = 8 * lane; e0 < cols; e0 += 256) {
    float v[8];
    dequant8<T>(wr, e0, v);
#pragma unroll
    for (int j = 0; j < NC; ++j) {
      const float4* xp = reinterpret_cast<const float4*>(x + j * x_stride + e0);
      const float4 a = xp[0], b = xp[1];
      acc[j] += v[0] * a.x + v[1] * a.y + v[2] * a.z + v[3] * a.w + v[4] * b.x + v[5] * b.y + v[6] * b.z + v[7] * b.w;
    }
  }
#pragma unroll
  for (int j = 0; j < NC; ++j) {
    float s = acc[j];
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    if (lane == 0) y[j * y_stride + row] = s;
  }
}

// ---- tiled GEMM ----

constexpr int k_tm = 64, k_tn = 64, k_tk = 32;  // output tile rows × columns, K step
constexpr int k_gemm_threads = 256;             // 16 × 16, each 4 × 4 outputs

template <int T>
__global__ void __launch_bounds__(k_gemm_threads)
    gemm_kernel(const uint8_t* w, int64_t rows, int64_t cols, size_t row_bytes, const float* x, int64_t n_cols,
                int64_t x_stride, float* y, int64_t y_stride) {
  __shared__ float ws[k_tk][k_tm + 4];  // ws[k][r]: weight row r0+r, element k0+k
  __shared__ float xs[k_tk][k_tn + 4];  // xs[k][c]: column c0+c, element k0+k
  const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
  const int64_t r0 = static_cast<int64_t>(blockIdx.x) * k_tm, c0 = static_cast<int64_t>(blockIdx.y) * k_tn;
  // Loader roles: thread t dequantizes 8 elements of weight row t/4 (quarter t%4 of the
  // K step) and loads the same 8 elements of column t/4.
  const int lr = tid >> 2, lk = 8 * (tid & 3);
  const int64_t wrow = r0 + lr, xcol = c0 + lr;
  const uint8_t* wr = w + (wrow < rows ? wrow : 0) * row_bytes;
  const float* xc = x + (xcol < n_cols ? xcol : 0) * x_stride;
  float acc[4][4] = {};
  for (int64_t k0 = 0; k0 < cols; k0 += k_tk) {
    float v[8];
    if (wrow < rows) {
      dequant8<T>(wr, k0 + lk, v);
    } else {
#pragma unroll
      for (int i = 0; i < 8; ++i) v[i] = 0.0f;
    }
#pragma unroll
    for (int i = 0; i < 8; ++i) ws[lk + i][lr] = v[i];
    if (xcol < n_cols) {
      const float4* xp = reinterpret_cast<const float4*>(xc + k0 + lk);
      const float4 a = xp[0], b = xp[1];
      xs[lk + 0][lr] = a.x, xs[lk + 1][lr] = a.y, xs[lk + 2][lr] = a.z, xs[lk + 3][lr] = a.w;
      xs[lk + 4][lr] = b.x, xs[lk + 5][lr] = b.y, xs[lk + 6][lr] = b.z, xs[lk + 7][lr] = b.w;
    } else {
#pragma unroll
      for (int i = 0; i < 8; ++i) xs[lk + i][lr] = 0.0f;
    }
    __syncthreads();
#pragma unroll 8
    for (int k = 0; k < k_tk; ++k) {
      float a[4], b[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) a[i] = ws[k][ty + 16 * i];
#pragma unroll
      for (int j = 0; j < 4; ++j) b[j] = xs[k][tx + 16 * j];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] += a[i] * b[j];
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int64_t r = r0 + ty + 16 * i;
    if (r >= rows) continue;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t c = c0 + tx + 16 * j;
      if (c < n_cols) y[c * y_stride + r] = acc[i][j];
    }
  }
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

// Whether dequant8's loads are aligned in every row: Q8_0, Q4_0 and Q6_K read 2-byte
// words; the other types read 8/16 bytes at offsets that are multiples of 16 in each row.
bool rows_aligned(tensor_type t, const uint8_t* w, size_t row_bytes) {
  const bool words = t == tensor_type::q8_0 || t == tensor_type::q4_0 || t == tensor_type::q6_k;
  return aligned16(w) && row_bytes % (words ? 2 : 16) == 0;
}

template <int T>
void launch_matvec(cudaStream_t s, const uint8_t* w, int64_t rows, int64_t cols, size_t row_bytes, const float* x,
                   int64_t n_cols, int64_t x_stride, float* y, int64_t y_stride) {
  const dim3 grid(static_cast<unsigned>((rows + k_vec_warps - 1) / k_vec_warps));
  const int threads = 32 * k_vec_warps;
  switch (n_cols) {
#define R1_NC(N) \
  case N: matvec_kernel<T, N><<<grid, threads, 0, s>>>(w, rows, cols, row_bytes, x, x_stride, y, y_stride); break;
    R1_NC(1) R1_NC(2) R1_NC(3) R1_NC(4) R1_NC(5) R1_NC(6) R1_NC(7) R1_NC(8)
#undef R1_NC
    default: break;
  }
}

}  // namespace

status matmul(cudaStream_t s, tensor_type t, const uint8_t* w, int64_t rows, int64_t cols, size_t row_bytes,
              const float* x, int64_t n_cols, int64_t x_stride, float* y, int64_t y_stride) {
  bool ok = true;
  // The fast kernels read 8-/16-byte vectors: rows and activation columns must start 16-byte
  // aligned (device buffers are; an offset view might not be).
  const bool fast = rows_aligned(t, w, row_bytes) && aligned16(x) && (n_cols == 1 || x_stride % 4 == 0);
  if (fast && n_cols <= k_vec_cols) {
#define R1_LAUNCH(T) launch_matvec<T>(s, w, rows, cols, row_bytes, x, n_cols, x_stride, y, y_stride)
    R1_CU_DISPATCH_TYPE(static_cast<int>(t), ok, R1_LAUNCH)
#undef R1_LAUNCH
  } else if (fast) {
    const int64_t tiles_n = (n_cols + k_tn - 1) / k_tn;
    if (tiles_n > 65535) return invalid_argument("cuda: matmul with too many columns");
    const dim3 grid(static_cast<unsigned>((rows + k_tm - 1) / k_tm), static_cast<unsigned>(tiles_n));
#define R1_LAUNCH(T) \
  gemm_kernel<T><<<grid, k_gemm_threads, 0, s>>>(w, rows, cols, row_bytes, x, n_cols, x_stride, y, y_stride)
    R1_CU_DISPATCH_TYPE(static_cast<int>(t), ok, R1_LAUNCH)
#undef R1_LAUNCH
  } else {
    const dim3 grid(static_cast<unsigned>(rows), static_cast<unsigned>((n_cols + k_cols - 1) / k_cols));
    if (grid.y > 65535) return invalid_argument("cuda: matmul with too many columns");
#define R1_LAUNCH(T) matmul_kernel<T><<<grid, k_threads, 0, s>>>(w, cols, row_bytes, x, n_cols, x_stride, y, y_stride)
    R1_CU_DISPATCH_TYPE(static_cast<int>(t), ok, R1_LAUNCH)
#undef R1_LAUNCH
  }
  if (!ok) return unavailable("cuda: matmul does not support this weight type");
  return launch_status("matmul");
}

}  // namespace r1::kernels::cu
