#include "r1/kernels/op_checks.h"
#include "vk_stream.h"

namespace r1::kernels::vk {

status vk_stream::rms_norm(const rms_norm_args& a) {
  R1_RETURN_IF_ERROR(check_rms_norm(a));
  push_words pc;
  pc.u(a.n).u(a.n_rows).u(a.stride).u(a.x.offset / 4).u(a.w.empty() ? 0 : a.w.offset / 4).u(a.y.offset / 4);
  pc.u(a.w.empty() ? 0 : 1).f(a.eps);
  return dispatch("rms_norm", {a.x, a.w, a.y}, pc, groups_for(a.n_rows, 1));
}

}  // namespace r1::kernels::vk
