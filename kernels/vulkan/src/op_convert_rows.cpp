#include "r1/kernels/op_checks.h"
#include "vk_stream.h"

namespace r1::kernels::vk {

status vk_stream::convert_rows(const convert_rows_args& a) {
  R1_RETURN_IF_ERROR(check_convert_rows(a));
  push_words pc;
  pc.u(a.width).u(a.n_rows).u(a.src_stride).u(a.src.offset / 4).u(a.dst.offset / 4).u(a.dst_stride_bytes / 4);
  pc.u(a.dst_type == tensor_type::f16 ? 1 : 0);
  return dispatch("convert_rows", {a.src, a.dst}, pc, groups_for(static_cast<uint64_t>(a.width / 2) * a.n_rows));
}

}  // namespace r1::kernels::vk
