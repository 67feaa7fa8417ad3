// AMX-INT8 prompt GEMM: the layouts shared by matmul.cpp (baseline x86-64) and
// amx_gemm.cpp (the only file built with -mamx-*). Private to the CPU kernels.
//
// Roles: the weights are the A side of tdpbusd/tdpbssd (16 weight rows × 64 bytes
// of K), the activations the B side (K/4 rows × 16 columns × 4 bytes). A task
// takes its 16 rows either from a repacked copy made once at load
// (r1/kernels/amx_repack.h, matrix_view::amx_packed) or unpacks them into a
// per-thread work buffer; both hold the same panel (K-quants as int16
// scale·quant split into a u8 low byte and an s8 high byte, so one superblock is
// 4 full-depth tile products per byte plane with a single float step per 256
// elements). The task then runs every token tile it owns against the panel.
// Activations are packed once per matmul.
// Plain structs only (see blocks.h for why).
#pragma once

#include <cstddef>
#include <cstdint>

#include "blocks.h"

namespace r1::kernels::detail {

constexpr int amx_tile = 16;  // weight rows per A tile, activation columns per B tile

// How many of `left` remaining rows (or columns) a tile takes: 16, or the tail.
constexpr int tile_part(int64_t left) { return left < amx_tile ? static_cast<int>(left) : amx_tile; }
// Two int16 values in one int32 lane (lo in the low half), as vpdpwssd and the
// VNNI word layout read them.
constexpr int32_t pack_int16_pair(int lo, int hi) {
  return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint16_t>(lo)) |
                              (static_cast<uint32_t>(static_cast<uint16_t>(hi)) << 16));
}
// The store mask of a tile's first n of 16 rows.
constexpr uint16_t tile_row_mask(int n) { return static_cast<uint16_t>(n >= amx_tile ? 0xffff : (1u << n) - 1); }

// The operand of ldtilecfg (palette 1): rows and bytes per row of each tile register.
struct alignas(64) amx_tile_config {
  uint8_t palette;
  uint8_t start_row;
  uint8_t reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};
static_assert(sizeof(amx_tile_config) == 64);

// Activations of one matmul in B-tile layout. For token tile t (columns 16t..16t+15)
// and K block b (256 elements for Q8_K, 32 for Q8_0): kblock/4 rows of 64 bytes,
// row kk holding column j's quants 4kk..4kk+3 at bytes 4j..4j+3. Columns past
// n_cols are zero. Owned by the caller.
struct amx_packed_act {
  uint8_t* quants = nullptr;      // [n_tok_tiles][n_kblocks][kblock/4][64]
  float* scales = nullptr;        // [n_tok_tiles][n_kblocks][16]: column scale d
  int32_t* bsum_pairs = nullptr;  // Q8_K only: [n_tok_tiles][n_kblocks][4][16]; pair p of
                                  // column j = bsum32(2p) (low i16) | bsum32(2p+1) (high i16)
  int64_t n_tok_tiles = 0;
  int64_t n_kblocks = 0;
  int64_t kblock = 0;
};

// Bytes of each array of amx_packed_act for n_cols columns of k elements.
struct amx_act_sizes {
  size_t quants, scales, bsum_pairs;
};
amx_act_sizes amx_act_bytes(bool q8_k, int64_t n_cols, int64_t k);

// Packs token tile t of activations already in Q8_K (q8_k = true) or Q8_0:
// column c at x_q + c*x_stride bytes. Tiles are independent (parallel callers).
void amx_pack_act_tile(bool q8_k, const void* x_q, int64_t n_cols, size_t x_stride, int64_t k, int64_t t,
                       const amx_packed_act& out);

struct amx_weight {
  const uint8_t* data = nullptr;
  size_t stride = 0;  // bytes per row
  int64_t rows = 0;
  int64_t cols = 0;
};

// One task: weight rows 16*row_tile.. (+16, clipped) against token tiles
// [tt_begin, tt_end). `packed` is the row tile's repacked panel (amx_unpack_fn's
// output, 64-byte aligned), or nullptr to unpack the rows into `work` first;
// `next` (or nullptr) the repacked panel of the caller's next task, prefetched
// meanwhile.
// `work` is this thread's buffer (work_bytes(cols), 64-byte aligned). Writes
// y[c*y_stride + r] for the valid rows r and columns c < n_cols.
using amx_task_fn = void (*)(const amx_weight& w, const amx_packed_act& act, int64_t row_tile, int64_t tt_begin,
                             int64_t tt_end, const uint8_t* packed, const uint8_t* next, uint8_t* work, float* y,
                             int64_t y_stride, int64_t n_cols);
using amx_bytes_fn = size_t (*)(int64_t cols);
// Unpacks weight rows 16*row_tile.. (zeros past w.rows) into `panel`
// (panel_bytes(cols) bytes): what a task does per call, and the repacking step.
using amx_unpack_fn = void (*)(const amx_weight& w, int64_t row_tile, uint8_t* panel);

// y[c·y_stride + r] for the rows of row tiles [rt_begin, rt_end) (clipped to
// `rows`) against n_cols Q8_K columns (column c at x_q + c·x_stride bytes), the
// tiles' decode panels back to back from `panels`. A column's result does not
// depend on n_cols.
using amx_decode_fn = void (*)(const uint8_t* panels, int64_t cols, int64_t rows, int64_t rt_begin, int64_t rt_end,
                               const void* x_q, size_t x_stride, int64_t n_cols, float* y, int64_t y_stride);

struct amx_kernel {
  amx_task_fn run;               // nullptr: no AMX kernel for this weight type
  amx_bytes_fn work_bytes;       // per-thread work buffer of a task
  amx_unpack_fn unpack;
  amx_bytes_fn panel_bytes;      // one row tile's panel (a multiple of 64)
  bool q8_k;                     // activations in Q8_K (else Q8_0)
  // The repacked copy's layout when it is not the panel above (Q8_0: decode
  // panels, which the prompt GEMM ignores); nullptr: the panel.
  amx_unpack_fn repack = nullptr;
  amx_bytes_fn repack_bytes = nullptr;
  // Decode panels stored after the A panels of the copy (Q4_K), so that decode and
  // small batches read them instead of the original rows; nullptr: none.
  amx_unpack_fn write_decode = nullptr;
  amx_bytes_fn decode_bytes = nullptr;
  amx_decode_fn decode = nullptr;
};
// Indexed by tensor type id (Q4_0, Q8_0, Q4_K, Q5_K, Q6_K). Constant data: no
// code of amx_gemm.cpp runs unless the amx path is active.
extern const amx_kernel amx_kernels[n_dot_slots];

// Q8_0's repacked copy is not an AMX A panel but a decode panel
// (amx_panel_decode.cpp): a decode reads it as one stream, and the prompt GEMM takes
// it as the B operand of its tiles (amx_q8_0_gemm.cpp). A 16-row tile of nb = cols/32 blocks holds, block after block, 512
// bytes in the VNNI layout (byte 64·g + 4·n + j: quant 4g + j of row n, plus 128
// as an unsigned byte), then the rows' fp16 scales (16 per block), padded to 64.
size_t q8_0_decode_panel_bytes(int64_t cols);
// Writes row tile `row_tile` of w (rows past w.rows: zero).
void q8_0_write_decode_panel(const amx_weight& w, int64_t row_tile, uint8_t* panel);
// Per block of each Q8_0 activation column: 128·Σy (what the +128 on the stored
// weights adds) and its scale d.
struct q8_0_column_block {
  int32_t comp;
  float d;
};
// The blocks of n_cols columns of `cols` elements (column c at x_q + c·x_stride
// bytes), column after column, in storage of the calling thread that stays valid
// until its next call: computed once per matmul, read by every task.
const q8_0_column_block* q8_0_prepare_columns(const void* x_q, size_t x_stride, int64_t n_cols, int64_t cols);
// y[c·y_stride + r] for the rows of row tiles [rt_begin, rt_end) (clipped to
// `rows`) against n_cols Q8_0 columns as above (`sums` from q8_0_prepare_columns),
// the tiles' panels back to back from `panels`. A column's result does not depend
// on n_cols.
void q8_0_decode_panels(const uint8_t* panels, int64_t cols, int64_t rows, int64_t rt_begin, int64_t rt_end,
                        const void* x_q, size_t x_stride, int64_t n_cols, const q8_0_column_block* sums, float* y,
                        int64_t y_stride);
// The prompt GEMM of the same panels on AMX tiles (amx_q8_0_gemm.cpp): row tiles
// [rt_begin, rt_end) against columns [c_begin, c_end) of x_q (sums of all columns
// from q8_0_prepare_columns), y as above. Every column gets the bits
// q8_0_decode_panels gives it. AMX only.
void q8_0_panel_gemm(const uint8_t* panels, int64_t cols, int64_t rows, int64_t rt_begin, int64_t rt_end,
                     const void* x_q, size_t x_stride, int64_t c_begin, int64_t c_end, const q8_0_column_block* sums,
                     float* y, int64_t y_stride);
// The prompt GEMM of the same panels on AMX-BF16 tiles from float activations
// (amx_q8_0_bf16_gemm.cpp; why and its error bound there). The activations go
// first through q8_0_bf16_convert_columns: column c (of n_cols, column c at
// x + c·x_stride floats) to bf16 at xb + c·cols, zeros for the padding columns
// n_cols..(a multiple of 16); columns are independent (parallel callers). The
// GEMM then runs row tiles [rt_begin, rt_end) against columns [c_begin, c_end)
// (c_begin a multiple of 16) with a work buffer of q8_0_bf16_work_bytes() (64-byte
// aligned), y as above. AMX-BF16 only.
void q8_0_bf16_convert_columns(const float* x, int64_t x_stride, int64_t n_cols, int64_t cols, int64_t c,
                               uint16_t* xb);
size_t q8_0_bf16_work_bytes();
void q8_0_bf16_gemm(const uint8_t* panels, int64_t cols, int64_t rows, int64_t rt_begin, int64_t rt_end,
                    const uint16_t* xb, int64_t c_begin, int64_t c_end, uint8_t* work, float* y, int64_t y_stride);

// K-quant decode panels (amx_panel_decode_k.cpp), after the A panels in the
// repacked copy. A 16-row tile holds them superblock after superblock.
// Q4_K, 2304 bytes (the file's): the quants of sub-block s at 256·s, in 4 groups of
// 64 bytes (group i, byte 4·n + j: row n's quant 32s + 4i + j in the low nibble,
// 32s + 16 + 4i + j in the high), then per pair of sub-blocks 32 bytes of the rows'
// 6-bit scales (row n's two at 2n, 2n + 1, each with the top 2 bits of its min in
// bits 6-7), per pair 16 bytes of the mins' low 4 bits (row n's byte: the first
// sub-block's in the low nibble), 16 fp16 d, 16 fp16 dmin.
// Q6_K, 3392 bytes: the low 4 bits of elements 32p.. as Q4_K's quants, then their
// top 2 bits at 2048 + 128·p (64 bytes for the low-nibble groups, 64 for the high:
// byte 4·n + j, bits 2i and 2i + 1 for group i), the int8 scales (16 bytes per
// 16-element sub-block), 16 fp16 d, and 32 bytes of padding to whole lines.
size_t q4_k_decode_panel_bytes(int64_t cols);
size_t q6_k_decode_panel_bytes(int64_t cols);
// Write row tile `row_tile` of w (rows past w.rows: zero).
void q4_k_write_decode_panel(const amx_weight& w, int64_t row_tile, uint8_t* panel);
void q6_k_write_decode_panel(const amx_weight& w, int64_t row_tile, uint8_t* panel);
// amx_decode_fn for them.
void q4_k_decode_panels(const uint8_t* panels, int64_t cols, int64_t rows, int64_t rt_begin, int64_t rt_end,
                        const void* x_q, size_t x_stride, int64_t n_cols, float* y, int64_t y_stride);
void q6_k_decode_panels(const uint8_t* panels, int64_t cols, int64_t rows, int64_t rt_begin, int64_t rt_end,
                        const void* x_q, size_t x_stride, int64_t n_cols, float* y, int64_t y_stride);

// Quantizes n floats (a multiple of 256) to Q8_K, identical to quantize_row(Q8_K);
// AVX-512, so only for the amx path (the prompt's activations, once per matmul).
using amx_quantize_fn = void (*)(const float* x, void* dst, int64_t n);
extern const amx_quantize_fn amx_quantize_q8_k;

}  // namespace r1::kernels::detail
