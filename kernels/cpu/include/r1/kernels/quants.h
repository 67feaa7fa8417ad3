// Quantized tensor formats: conversion rows, quantizers, dequantizers and dot
// products for the ggml block formats (see docs/dev/kernels.md).
//
// Supported weight types: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K,
// Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS. Activation formats: Q8_0, Q8_1, Q8_K (plus F16/BF16/F32).
// All functions are pure (no global state besides the kernel path), thread safe
// and never allocate. n counts elements and must be a multiple of the type's
// block size; rows are packed blocks exactly as GGUF stores them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "r1/base/status.h"
#include "r1/base/tensor_type.h"
#include "r1/kernels/cpu_features.h"

namespace r1::kernels {

// ---- scalar float conversions (IEEE, round to nearest even, as ggml) ----
float fp16_to_fp32(uint16_t h);
uint16_t fp32_to_fp16(float f);
float bf16_to_fp32(uint16_t h);
uint16_t fp32_to_bf16(float f);  // NaN becomes a quiet NaN

// Row conversions (vectorised on the active path; results identical on all paths).
void convert_f16_to_f32(const uint16_t* src, float* dst, int64_t n);
void convert_f32_to_f16(const float* src, uint16_t* dst, int64_t n);
void convert_bf16_to_f32(const uint16_t* src, float* dst, int64_t n);
void convert_f32_to_bf16(const float* src, uint16_t* dst, int64_t n);

// ---- type queries ----
// True if dequantize_row() handles t.
bool can_dequantize(tensor_type t);
// True if quantize_row() can produce t (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1,
// Q8_0, Q8_1, Q8_K, Q2_K..Q6_K, IQ4_NL, IQ4_XS).
bool can_quantize(tensor_type t);
// True if vec_dot()/matmul() accept t as the weight type.
bool can_vec_dot(tensor_type weight);
// The format activations are converted to before dotting with weight type w:
// Q8_0 for Q4_0/Q5_0/Q8_0/IQ4_NL, Q8_1 for Q4_1/Q5_1, Q8_K for K-quants and IQ4_XS, F16 for F16,
// BF16 for BF16, F32 for F32. Asserts can_vec_dot(w).
tensor_type vec_dot_type(tensor_type weight);
// Bytes of a row of n elements of type t (n a multiple of the block size).
size_t row_size(tensor_type t, int64_t n);

// ---- rows ----
// dst[0..n) = values of the n elements at src. invalid_argument for an
// unsupported type or n not a multiple of the block size.
status dequantize_row(tensor_type t, const void* src, float* dst, int64_t n);

// Quantizes n floats into row_size(t, n) bytes at dst.
// Activation formats (Q8_0, Q8_1, Q8_K) round exactly as ggml's x86 build does
// for activations: Q8_0/Q8_1 use id = 127/amax and round half to even; Q8_K
// uses iscale = -127/max, round half to even, clamp at 127.
// Weight formats (Q4_0..Q5_1, Q2_K..Q6_K, IQ4_NL, IQ4_XS) use this library's own
// quantizers (legacy types: the ggml reference rule; K-quants: a scale/min search;
// IQ4: a scale search over the fixed codebook).
status quantize_row(tensor_type t, const float* src, void* dst, int64_t n);

// ggml's plain-C reference rule where it differs from quantize_row:
// Q8_0/Q8_1 use id = 1/d and roundf (half away from zero). Same as
// quantize_row for every other type.
status quantize_row_reference(tensor_type t, const float* src, void* dst, int64_t n);

// Dot product of one weight row (type weight) with one activation row already in
// vec_dot_type(weight), n elements. Uses the active kernel path. Asserts on an
// unsupported type or a bad n (the caller validated shapes when loading).
float vec_dot(tensor_type weight, int64_t n, const void* w_row, const void* act_row);

// Same, always on the given path (tests compare paths). Asserts the path is supported.
float vec_dot_on(kernel_path p, tensor_type weight, int64_t n, const void* w_row, const void* act_row);

}  // namespace r1::kernels
