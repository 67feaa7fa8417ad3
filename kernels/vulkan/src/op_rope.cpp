#include <cmath>

#include "r1/kernels/op_checks.h"
#include "r1/kernels/ops.h"
#include "vk_stream.h"

namespace r1::kernels::vk {

status vk_stream::rope(const rope_args& a) {
  R1_RETURN_IF_ERROR(check_rope(a));
  // Per-call constants computed on the host exactly as the CPU kernel does.
  float corr[2] = {0.0f, 0.0f};
  if (a.ext_factor != 0.0f)
    rope_yarn_corr_dims(a.n_rot, a.n_ctx_orig, a.freq_base, a.beta_fast, a.beta_slow, corr);
  const float theta_scale = std::pow(a.freq_base, -2.0f / static_cast<float>(a.n_rot));
  float mscale = a.attn_factor;
  if (a.ext_factor != 0.0f) mscale *= 1.0f + 0.1f * std::log(1.0f / a.freq_scale);
  push_words pc;
  pc.u(a.n_tokens).u(a.n_heads).u(a.head_dim).u(a.token_stride).u(a.n_rot).u(a.neox ? 1 : 0);
  pc.u(a.x.offset / 4).u(a.pos.offset / 4).u(a.freq_factors.empty() ? 0 : a.freq_factors.offset / 4);
  pc.u(a.freq_factors.empty() ? 0 : 1);
  pc.f(theta_scale).f(a.freq_scale).f(a.ext_factor).f(mscale).f(corr[0]).f(corr[1]);
  const uint64_t n = static_cast<uint64_t>(a.n_tokens) * a.n_heads * (a.n_rot / 2);
  return dispatch("rope", {a.x, a.pos, a.freq_factors}, pc, groups_for(n));
}

}  // namespace r1::kernels::vk
