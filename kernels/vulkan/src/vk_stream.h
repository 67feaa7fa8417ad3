// Private: a Vulkan stream records dispatches into one command buffer and
// submits it at synchronize() (or when its descriptor pool runs out).
// Each op lives in its own op_<name>.cpp.
#pragma once

#include <array>
#include <cstring>
#include <initializer_list>
#include <string>

#include "vk_device.h"

namespace r1::kernels::vk {

// Push constants: up to 32 words, floats stored bit for bit.
struct push_words {
  std::array<uint32_t, k_push_words> w{};
  uint32_t n = 0;
  push_words& u(uint64_t v) {
    w[n++] = static_cast<uint32_t>(v);
    return *this;
  }
  push_words& f(float v) {
    std::memcpy(&w[n++], &v, 4);
    return *this;
  }
};

class vk_stream final : public stream {
 public:
  explicit vk_stream(vk_device& dev) : dev_(dev) {}
  ~vk_stream() override;
  status init();

  status matmul(const matmul_args& a) override;
  status rms_norm(const rms_norm_args& a) override;
  status binary(const binary_args& a) override;
  status swiglu(const swiglu_args& a) override;
  status softmax(const softmax_args& a) override;
  status rope(const rope_args& a) override;
  status get_rows(const get_rows_args& a) override;
  status convert_rows(const convert_rows_args& a) override;
  status attention(const attention_op_args& a) override;
  status copy(tensor_arg src, tensor_arg dst, size_t n) override;
  status synchronize() override;

  // Records a copy between raw buffers.
  status copy_raw(VkBuffer src, size_t src_off, VkBuffer dst, size_t dst_off, size_t n);

 private:
  // Records shader `name` over `groups` workgroups with bindings 0.. = bufs
  // (empty tensor_args bind a dummy buffer) and push constants pc.
  status dispatch(const std::string& name, std::initializer_list<tensor_arg> bufs, const push_words& pc,
                  uint32_t gx, uint32_t gy = 1, uint32_t gz = 1);
  status begin();
  // The buffer behind a tensor_arg, checking it belongs to this device and that
  // the byte offsets a shader computes fit in 32 bits.
  status own(const tensor_arg& a) const;
  static uint32_t groups_for(uint64_t n, uint64_t per_group = 64);

  vk_device& dev_;
  VkCommandPool pool_ = VK_NULL_HANDLE;
  VkCommandBuffer cb_ = VK_NULL_HANDLE;
  VkFence fence_ = VK_NULL_HANDLE;
  VkDescriptorPool dpool_ = VK_NULL_HANDLE;
  uint32_t sets_used_ = 0;
  bool recording_ = false;
};

inline constexpr uint32_t k_max_sets = 512;
inline constexpr uint32_t k_max_groups = 65535;

// Shader name suffix of a weight type ("q4_k").
std::string type_suffix(tensor_type t);

}  // namespace r1::kernels::vk
