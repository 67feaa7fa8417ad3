#include "r1/kernels/op_checks.h"

#include <string>

#include "r1/kernels/quants.h"

namespace r1::kernels {

namespace {

std::string where(const char* op, const char* name) { return std::string(op) + ": " + name; }

uint64_t floats(int64_t n) { return static_cast<uint64_t>(n) * 4u; }

// Bytes spanned by n_rows rows of `width` floats `stride` apart.
uint64_t rows_bytes(int64_t n_rows, int64_t width, int64_t stride) {
  if (n_rows <= 0) return 0;
  return floats((n_rows - 1) * stride + width);
}

bool is_float_cache(tensor_type t) { return t == tensor_type::f32 || t == tensor_type::f16; }

}  // namespace

status check_arg(const char* op, const char* name, const tensor_arg& a, uint64_t bytes) {
  if (a.buf == nullptr) return invalid_argument(where(op, name) + " has no buffer");
  if (a.offset % 4 != 0) return invalid_argument(where(op, name) + " offset is not a multiple of 4");
  if (a.offset > a.buf->size() || bytes > a.buf->size() - a.offset)
    return invalid_argument(where(op, name) + " needs " + std::to_string(bytes) + " bytes at offset " +
                            std::to_string(a.offset) + " of a " + std::to_string(a.buf->size()) + "-byte buffer");
  return ok_status();
}

status check_matmul(const matmul_args& a) {
  if (a.rows <= 0 || a.cols <= 0 || a.n_cols <= 0) return invalid_argument("matmul: empty shape");
  if (!can_vec_dot(a.type)) return invalid_argument("matmul: unsupported weight type");
  const auto& ti = type_info(a.type);
  if (a.cols % 32 != 0 || a.cols % ti.block_elems != 0)
    return invalid_argument("matmul: cols " + std::to_string(a.cols) + " is not a multiple of 32 and of the " +
                            std::string(ti.name) + " block");
  if (a.n_cols > 1 && (a.x_stride < a.cols || a.y_stride < a.rows))
    return invalid_argument("matmul: column strides smaller than the shape");
  R1_RETURN_IF_ERROR(check_arg("matmul", "w", a.w, row_size(a.type, a.cols) * static_cast<uint64_t>(a.rows)));
  R1_RETURN_IF_ERROR(check_arg("matmul", "x", a.x, rows_bytes(a.n_cols, a.cols, a.x_stride)));
  return check_arg("matmul", "y", a.y, rows_bytes(a.n_cols, a.rows, a.y_stride));
}

status check_rms_norm(const rms_norm_args& a) {
  if (a.n <= 0 || a.n_rows <= 0 || (a.n_rows > 1 && a.stride < a.n))
    return invalid_argument("rms_norm: bad shape");
  R1_RETURN_IF_ERROR(check_arg("rms_norm", "x", a.x, rows_bytes(a.n_rows, a.n, a.stride)));
  R1_RETURN_IF_ERROR(check_arg("rms_norm", "y", a.y, rows_bytes(a.n_rows, a.n, a.stride)));
  if (!a.w.empty()) return check_arg("rms_norm", "w", a.w, floats(a.n));
  return ok_status();
}

status check_binary(const binary_args& a) {
  const int64_t bl = a.b_len == 0 ? a.n : a.b_len;
  if (a.n <= 0 || bl <= 0 || a.n % bl != 0) return invalid_argument("binary: bad shape (b_len must divide n)");
  R1_RETURN_IF_ERROR(check_arg("binary", "a", a.a, floats(a.n)));
  R1_RETURN_IF_ERROR(check_arg("binary", "b", a.b, floats(bl)));
  return check_arg("binary", "dst", a.dst, floats(a.n));
}

status check_swiglu(const swiglu_args& a) {
  if (a.n <= 0) return invalid_argument("swiglu: empty");
  R1_RETURN_IF_ERROR(check_arg("swiglu", "gate", a.gate, floats(a.n)));
  R1_RETURN_IF_ERROR(check_arg("swiglu", "up", a.up, floats(a.n)));
  return check_arg("swiglu", "dst", a.dst, floats(a.n));
}

status check_softmax(const softmax_args& a) {
  if (a.n <= 0 || a.n_rows <= 0 || (a.n_rows > 1 && a.stride < a.n)) return invalid_argument("softmax: bad shape");
  return check_arg("softmax", "x", a.x, rows_bytes(a.n_rows, a.n, a.stride));
}

status check_rope(const rope_args& a) {
  if (a.n_rot <= 0 || a.n_rot % 2 != 0 || a.n_rot > a.head_dim || a.n_rot > 1024)
    return invalid_argument("rope: n_rot must be even, positive and at most head_dim");
  if (a.n_tokens <= 0 || a.n_heads <= 0 || (a.n_tokens > 1 && a.token_stride < a.n_heads * a.head_dim))
    return invalid_argument("rope: bad shape");
  R1_RETURN_IF_ERROR(check_arg("rope", "x", a.x, rows_bytes(a.n_tokens, a.n_heads * a.head_dim, a.token_stride)));
  R1_RETURN_IF_ERROR(check_arg("rope", "pos", a.pos, floats(a.n_tokens)));
  if (!a.freq_factors.empty()) return check_arg("rope", "freq_factors", a.freq_factors, floats(a.n_rot / 2));
  return ok_status();
}

status check_get_rows(const get_rows_args& a) {
  if (!can_dequantize(a.type)) return invalid_argument("get_rows: unsupported type");
  if (a.n_rows <= 0 || a.n_embd <= 0 || a.n_ids <= 0 || a.n_embd % type_info(a.type).block_elems != 0)
    return invalid_argument("get_rows: bad shape");
  R1_RETURN_IF_ERROR(check_arg("get_rows", "data", a.data, row_size(a.type, a.n_embd) * static_cast<uint64_t>(a.n_rows)));
  R1_RETURN_IF_ERROR(check_arg("get_rows", "ids", a.ids, floats(a.n_ids)));
  return check_arg("get_rows", "dst", a.dst, floats(a.n_ids * a.n_embd));
}

status check_convert_rows(const convert_rows_args& a) {
  if (!is_float_cache(a.dst_type)) return invalid_argument("convert_rows: destination must be F32 or F16");
  if (a.width <= 0 || a.n_rows <= 0 || a.width % 2 != 0 || (a.n_rows > 1 && a.src_stride < a.width))
    return invalid_argument("convert_rows: bad shape (width must be even)");
  const uint64_t row = row_size(a.dst_type, a.width);
  if (a.n_rows > 1 && a.dst_stride_bytes < row) return invalid_argument("convert_rows: dst stride too small");
  if (a.dst_stride_bytes % 4 != 0) return invalid_argument("convert_rows: dst stride not a multiple of 4");
  R1_RETURN_IF_ERROR(check_arg("convert_rows", "src", a.src, rows_bytes(a.n_rows, a.width, a.src_stride)));
  return check_arg("convert_rows", "dst", a.dst, (a.n_rows - 1) * a.dst_stride_bytes + row);
}

status check_attention(const attention_op_args& a) {
  if (a.n_q <= 0 || a.n_head <= 0 || a.n_head_kv <= 0 || a.n_head % a.n_head_kv != 0)
    return invalid_argument("attention: bad head counts");
  if (a.head_dim_k <= 0 || a.head_dim_v <= 0 || a.head_dim_k % 2 != 0 || a.head_dim_v > 512 || a.n_kv < 0)
    return invalid_argument("attention: bad head dims");
  if (!is_float_cache(a.k.type) || !is_float_cache(a.v.type))
    return invalid_argument("attention: K/V cache must be F32 or F16 on this path");
  if (a.k.pos_stride_bytes % 4 || a.k.head_stride_bytes % 4 || a.v.pos_stride_bytes % 4 || a.v.head_stride_bytes % 4)
    return invalid_argument("attention: cache strides must be multiples of 4");
  R1_RETURN_IF_ERROR(check_arg("attention", "q", a.q,
                               rows_bytes(a.n_q, static_cast<int64_t>(a.n_head) * a.head_dim_k, a.q_stride)));
  R1_RETURN_IF_ERROR(check_arg("attention", "out", a.out,
                               rows_bytes(a.n_q, static_cast<int64_t>(a.n_head) * a.head_dim_v, a.out_stride)));
  if (a.n_kv == 0) return ok_status();
  const auto span = [&](const kv_arg& kv, int dim) {
    return (a.n_kv - 1) * kv.pos_stride_bytes + (a.n_head_kv - 1) * kv.head_stride_bytes + row_size(kv.type, dim);
  };
  R1_RETURN_IF_ERROR(check_arg("attention", "k", a.k.data, span(a.k, a.head_dim_k)));
  return check_arg("attention", "v", a.v.data, span(a.v, a.head_dim_v));
}

}  // namespace r1::kernels
