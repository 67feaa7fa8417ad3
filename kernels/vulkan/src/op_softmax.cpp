#include "r1/kernels/op_checks.h"
#include "vk_stream.h"

namespace r1::kernels::vk {

status vk_stream::softmax(const softmax_args& a) {
  R1_RETURN_IF_ERROR(check_softmax(a));
  push_words pc;
  pc.u(a.n).u(a.n_rows).u(a.stride).u(a.x.offset / 4).f(a.scale);
  return dispatch("softmax", {a.x}, pc, groups_for(a.n_rows, 1));
}

}  // namespace r1::kernels::vk
