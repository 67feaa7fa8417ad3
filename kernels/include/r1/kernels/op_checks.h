// Argument checks shared by every backend: each function returns invalid_argument
// naming the operation and the tensor when a shape is malformed or a tensor_arg
// reaches outside its buffer, so all backends refuse the same inputs.
// Pure functions; thread safe.
#pragma once

#include "r1/kernels/backend.h"

namespace r1::kernels {

// [a.offset, a.offset + bytes) lies inside a.buf and a.offset % 4 == 0.
status check_arg(const char* op, const char* name, const tensor_arg& a, uint64_t bytes);

status check_matmul(const matmul_args& a);
status check_rms_norm(const rms_norm_args& a);
status check_binary(const binary_args& a);
status check_swiglu(const swiglu_args& a);
status check_softmax(const softmax_args& a);
status check_rope(const rope_args& a);
status check_get_rows(const get_rows_args& a);
status check_convert_rows(const convert_rows_args& a);
status check_attention(const attention_op_args& a);

}  // namespace r1::kernels
