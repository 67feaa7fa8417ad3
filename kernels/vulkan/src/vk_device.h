// Private: the Vulkan device, its buffers and the shared pipeline layout.
#pragma once

#include <vulkan/vulkan.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "r1/kernels/backend.h"

namespace r1::kernels::vk {

// Descriptor layout shared by every shader: bindings 0..4 are storage buffers.
inline constexpr uint32_t k_bindings = 5;
inline constexpr uint32_t k_push_words = 32;

status vk_status(VkResult r, const char* what);

class vk_device;

class vk_buffer final : public buffer {
 public:
  vk_buffer(vk_device& dev, VkBuffer b, VkDeviceMemory m, size_t size, void* mapped)
      : dev_(dev), buf_(b), mem_(m), size_(size), mapped_(static_cast<uint8_t*>(mapped)) {}
  ~vk_buffer() override;
  size_t size() const override { return size_; }
  status upload(size_t offset, const void* src, size_t n) override;
  status download(size_t offset, void* dst, size_t n) const override;
  VkBuffer handle() const { return buf_; }
  vk_device& owner() const { return dev_; }

 private:
  vk_device& dev_;
  VkBuffer buf_;
  VkDeviceMemory mem_;
  size_t size_;
  uint8_t* mapped_;  // non-null when the memory is host visible
};

class vk_device final : public device {
 public:
  // Takes ownership of `dev`.
  vk_device(VkPhysicalDevice phys, VkDevice dev, uint32_t queue_family, device_info info, bool map_device_memory);
  ~vk_device() override;
  status init();

  const device_info& info() const override { return info_; }
  bool supports(op_kind op, tensor_type t) const override;
  result<std::unique_ptr<buffer>> alloc(size_t bytes) override;
  result<std::unique_ptr<stream>> create_stream() override;

  VkDevice handle() const { return dev_; }
  uint32_t queue_family() const { return queue_family_; }
  VkPipelineLayout pipeline_layout() const { return layout_; }
  VkDescriptorSetLayout set_layout() const { return set_layout_; }
  VkBuffer dummy() const { return static_cast<vk_buffer*>(dummy_.get())->handle(); }
  // The compute pipeline of a named shader, created on first use.
  result<VkPipeline> pipeline(const std::string& name);
  // Submits one command buffer and waits for it (queue access is serialised).
  status submit_and_wait(VkCommandBuffer cb, VkFence fence);
  // Raw buffer creation; host_visible forces mappable memory (staging).
  result<std::unique_ptr<vk_buffer>> create_buffer(size_t bytes, bool host_visible);
  // Copies between a buffer and host memory through a staging buffer (non-mappable memory).
  status staged_copy(const vk_buffer& dev_buf, size_t offset, void* host, size_t n, bool to_device);

 private:
  VkPhysicalDevice phys_;
  VkDevice dev_;
  uint32_t queue_family_;
  VkQueue queue_ = VK_NULL_HANDLE;
  device_info info_;
  VkPhysicalDeviceMemoryProperties mem_props_{};
  VkDescriptorSetLayout set_layout_ = VK_NULL_HANDLE;
  VkPipelineLayout layout_ = VK_NULL_HANDLE;
  std::mutex queue_mu_;
  std::mutex pipe_mu_;
  std::map<std::string, VkPipeline> pipelines_;
  std::unique_ptr<buffer> dummy_;
  bool map_device_memory_ = true;
};

}  // namespace r1::kernels::vk
