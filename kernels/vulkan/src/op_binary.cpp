#include "r1/kernels/op_checks.h"
#include "vk_stream.h"

namespace r1::kernels::vk {

status vk_stream::binary(const binary_args& a) {
  R1_RETURN_IF_ERROR(check_binary(a));
  push_words pc;
  pc.u(a.n).u(a.b_len == 0 ? a.n : a.b_len).u(a.a.offset / 4).u(a.b.offset / 4).u(a.dst.offset / 4);
  pc.u(a.op == binary_op::add ? 0 : 1);
  return dispatch("binary", {a.a, a.b, a.dst}, pc, groups_for(a.n));
}

status vk_stream::swiglu(const swiglu_args& a) {
  R1_RETURN_IF_ERROR(check_swiglu(a));
  push_words pc;
  pc.u(a.n).u(a.gate.offset / 4).u(a.up.offset / 4).u(a.dst.offset / 4);
  return dispatch("swiglu", {a.gate, a.up, a.dst}, pc, groups_for(a.n));
}

}  // namespace r1::kernels::vk
