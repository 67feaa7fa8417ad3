#include "r1/kernels/op_checks.h"
#include "vk_stream.h"

namespace r1::kernels::vk {

status vk_stream::attention(const attention_op_args& a) {
  R1_RETURN_IF_ERROR(check_attention(a));
  if (a.head_dim_k > 576 || a.head_dim_v > 512)
    return unavailable("vulkan: attention supports head dims up to 576 (K) and 512 (V)");
  if (a.n_head > static_cast<int>(k_max_groups)) return invalid_argument("vulkan: attention with too many heads");
  const tensor_arg k = a.n_kv > 0 ? a.k.data : tensor_arg{};
  const tensor_arg v = a.n_kv > 0 ? a.v.data : tensor_arg{};
  push_words pc;
  pc.u(a.q.offset / 4).u(a.out.offset / 4).u(a.q_stride).u(a.out_stride).u(a.n_q).u(a.n_head).u(a.n_head_kv);
  pc.u(a.head_dim_k).u(a.head_dim_v).u(a.n_kv).u(a.q_pos0).u(a.causal ? 1 : 0).f(a.scale);
  pc.u(k.offset).u(a.k.pos_stride_bytes).u(a.k.head_stride_bytes);
  pc.u(v.offset).u(a.v.pos_stride_bytes).u(a.v.head_stride_bytes);
  const std::string name = std::string("attention_k") + (a.k.type == tensor_type::f16 ? "f16" : "f32") + "_v" +
                           (a.v.type == tensor_type::f16 ? "f16" : "f32");
  return dispatch(name, {a.q, k, v, a.out}, pc, static_cast<uint32_t>(a.n_head),
                  static_cast<uint32_t>(std::min<int64_t>(a.n_q, k_max_groups)));
}

}  // namespace r1::kernels::vk
