#include "r1/kernels/op_checks.h"
#include "r1/kernels/quants.h"
#include "vk_stream.h"

namespace r1::kernels::vk {

status vk_stream::get_rows(const get_rows_args& a) {
  R1_RETURN_IF_ERROR(check_get_rows(a));
  if (!dev_.supports(op_kind::get_rows, a.type) || a.n_embd % 32 != 0)
    return unavailable("vulkan: get_rows does not support " + std::string(type_info(a.type).name) +
                       " rows of " + std::to_string(a.n_embd));
  push_words pc;
  pc.u(a.n_rows).u(a.n_embd).u(a.n_ids).u(a.data.offset).u(a.ids.offset / 4).u(a.dst.offset / 4);
  pc.u(row_size(a.type, a.n_embd));
  return dispatch("get_rows_" + type_suffix(a.type), {a.data, a.ids, a.dst}, pc, groups_for(a.n_ids, 1));
}

}  // namespace r1::kernels::vk
