#include "vk_device.h"

#include <cstring>

#include "spirv_shaders.h"
#include "vk_stream.h"

namespace r1::kernels::vk {

status vk_status(VkResult r, const char* what) {
  if (r == VK_SUCCESS) return ok_status();
  const std::string m = std::string("vulkan: ") + what + " failed (VkResult " + std::to_string(static_cast<int>(r)) + ")";
  if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY) return resource_exhausted(m);
  if (r == VK_ERROR_DEVICE_LOST) return unavailable(m);
  return internal_error(m);
}

// ---- buffers ----

vk_buffer::~vk_buffer() {
  if (mapped_) vkUnmapMemory(dev_.handle(), mem_);
  vkDestroyBuffer(dev_.handle(), buf_, nullptr);
  vkFreeMemory(dev_.handle(), mem_, nullptr);
}

status vk_buffer::upload(size_t offset, const void* src, size_t n) {
  if (offset > size_ || n > size_ - offset) return invalid_argument("vulkan buffer: upload out of range");
  if (n == 0) return ok_status();
  if (mapped_) {
    std::memcpy(mapped_ + offset, src, n);
    return ok_status();
  }
  return dev_.staged_copy(*this, offset, const_cast<void*>(src), n, true);
}

status vk_buffer::download(size_t offset, void* dst, size_t n) const {
  if (offset > size_ || n > size_ - offset) return invalid_argument("vulkan buffer: download out of range");
  if (n == 0) return ok_status();
  if (mapped_) {
    std::memcpy(dst, mapped_ + offset, n);
    return ok_status();
  }
  return dev_.staged_copy(*this, offset, dst, n, false);
}

// ---- device ----

vk_device::vk_device(VkPhysicalDevice phys, VkDevice dev, uint32_t queue_family, device_info info,
                     bool map_device_memory)
    : phys_(phys), dev_(dev), queue_family_(queue_family), info_(std::move(info)), map_device_memory_(map_device_memory) {}

vk_device::~vk_device() {
  if (dev_ == VK_NULL_HANDLE) return;
  vkDeviceWaitIdle(dev_);
  dummy_.reset();
  for (auto& [name, p] : pipelines_) vkDestroyPipeline(dev_, p, nullptr);
  if (layout_) vkDestroyPipelineLayout(dev_, layout_, nullptr);
  if (set_layout_) vkDestroyDescriptorSetLayout(dev_, set_layout_, nullptr);
  vkDestroyDevice(dev_, nullptr);
}

status vk_device::init() {
  vkGetDeviceQueue(dev_, queue_family_, 0, &queue_);
  vkGetPhysicalDeviceMemoryProperties(phys_, &mem_props_);
  VkDescriptorSetLayoutBinding b[k_bindings]{};
  for (uint32_t i = 0; i < k_bindings; ++i) {
    b[i].binding = i;
    b[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    b[i].descriptorCount = 1;
    b[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  VkDescriptorSetLayoutCreateInfo dl{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  dl.bindingCount = k_bindings;
  dl.pBindings = b;
  R1_RETURN_IF_ERROR(vk_status(vkCreateDescriptorSetLayout(dev_, &dl, nullptr, &set_layout_), "descriptor layout"));
  VkPushConstantRange pr{VK_SHADER_STAGE_COMPUTE_BIT, 0, k_push_words * 4};
  VkPipelineLayoutCreateInfo pl{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  pl.setLayoutCount = 1;
  pl.pSetLayouts = &set_layout_;
  pl.pushConstantRangeCount = 1;
  pl.pPushConstantRanges = &pr;
  R1_RETURN_IF_ERROR(vk_status(vkCreatePipelineLayout(dev_, &pl, nullptr, &layout_), "pipeline layout"));
  R1_ASSIGN_OR_RETURN(dummy_, alloc(256));
  return ok_status();
}

bool vk_device::supports(op_kind op, tensor_type t) const {
  switch (op) {
    case op_kind::matmul:
    case op_kind::get_rows:
      switch (t) {
        case tensor_type::f32: case tensor_type::f16: case tensor_type::bf16: case tensor_type::q8_0:
        case tensor_type::q4_0: case tensor_type::q4_k: case tensor_type::q5_k: case tensor_type::q6_k:
          return true;
        default: return false;
      }
    case op_kind::convert_rows:
    case op_kind::attention: return t == tensor_type::f32 || t == tensor_type::f16;
    default: return true;
  }
}

result<std::unique_ptr<vk_buffer>> vk_device::create_buffer(size_t bytes, bool host_visible) {
  VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bi.size = bytes == 0 ? 4 : (bytes + 3) / 4 * 4;
  bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  VkBuffer b = VK_NULL_HANDLE;
  R1_RETURN_IF_ERROR(vk_status(vkCreateBuffer(dev_, &bi, nullptr, &b), "vkCreateBuffer"));
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(dev_, b, &req);
  // Device-local first; its memory is mapped directly when it is also host visible
  // (lavapipe, integrated GPUs, resizable BAR), otherwise transfers are staged.
  const VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  const VkMemoryPropertyFlags want = host_visible ? host : VkMemoryPropertyFlags{VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT};
  uint32_t type = UINT32_MAX;
  for (uint32_t i = 0; i < mem_props_.memoryTypeCount && type == UINT32_MAX; ++i)
    if ((req.memoryTypeBits & (1u << i)) && (mem_props_.memoryTypes[i].propertyFlags & want) == want) type = i;
  if (type == UINT32_MAX) {
    vkDestroyBuffer(dev_, b, nullptr);
    return internal_error("vulkan: no suitable memory type");
  }
  VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  ai.allocationSize = req.size;
  ai.memoryTypeIndex = type;
  VkDeviceMemory mem = VK_NULL_HANDLE;
  if (VkResult r = vkAllocateMemory(dev_, &ai, nullptr, &mem); r != VK_SUCCESS) {
    vkDestroyBuffer(dev_, b, nullptr);
    return resource_exhausted("vulkan: cannot allocate " + std::to_string(bytes) + " bytes on " + info_.name +
                              " (VkResult " + std::to_string(static_cast<int>(r)) + ")");
  }
  vkBindBufferMemory(dev_, b, mem, 0);
  void* mapped = nullptr;
  if ((host_visible || map_device_memory_) && (mem_props_.memoryTypes[type].propertyFlags & host) == host &&
      vkMapMemory(dev_, mem, 0, VK_WHOLE_SIZE, 0, &mapped) != VK_SUCCESS)
    mapped = nullptr;
  return std::make_unique<vk_buffer>(*this, b, mem, bytes, mapped);
}

result<std::unique_ptr<buffer>> vk_device::alloc(size_t bytes) {
  R1_ASSIGN_OR_RETURN(auto b, create_buffer(bytes, false));
  return std::unique_ptr<buffer>(std::move(b));
}

result<std::unique_ptr<stream>> vk_device::create_stream() {
  auto s = std::make_unique<vk_stream>(*this);
  R1_RETURN_IF_ERROR(s->init());
  return std::unique_ptr<stream>(std::move(s));
}

result<VkPipeline> vk_device::pipeline(const std::string& name) {
  std::lock_guard lock(pipe_mu_);
  if (auto it = pipelines_.find(name); it != pipelines_.end()) return it->second;
  const spirv_blob* blob = find_spirv(name);
  if (!blob) return internal_error("vulkan: no shader named " + name);
  VkShaderModuleCreateInfo mi{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  mi.codeSize = blob->words * 4;
  mi.pCode = blob->code;
  VkShaderModule mod = VK_NULL_HANDLE;
  R1_RETURN_IF_ERROR(vk_status(vkCreateShaderModule(dev_, &mi, nullptr, &mod), "vkCreateShaderModule"));
  VkComputePipelineCreateInfo ci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  ci.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
  ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  ci.stage.module = mod;
  ci.stage.pName = "main";
  ci.layout = layout_;
  VkPipeline p = VK_NULL_HANDLE;
  const VkResult r = vkCreateComputePipelines(dev_, VK_NULL_HANDLE, 1, &ci, nullptr, &p);
  vkDestroyShaderModule(dev_, mod, nullptr);
  R1_RETURN_IF_ERROR(vk_status(r, ("pipeline " + name).c_str()));
  pipelines_[name] = p;
  return p;
}

status vk_device::submit_and_wait(VkCommandBuffer cb, VkFence fence) {
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cb;
  {
    std::lock_guard lock(queue_mu_);
    R1_RETURN_IF_ERROR(vk_status(vkQueueSubmit(queue_, 1, &si, fence), "vkQueueSubmit"));
  }
  R1_RETURN_IF_ERROR(vk_status(vkWaitForFences(dev_, 1, &fence, VK_TRUE, UINT64_MAX), "vkWaitForFences"));
  return vk_status(vkResetFences(dev_, 1, &fence), "vkResetFences");
}

status vk_device::staged_copy(const vk_buffer& dev_buf, size_t offset, void* host, size_t n, bool to_device) {
  R1_ASSIGN_OR_RETURN(auto staging, create_buffer(n, true));
  if (to_device) R1_RETURN_IF_ERROR(staging->upload(0, host, n));
  vk_stream s(*this);
  R1_RETURN_IF_ERROR(s.init());
  if (to_device) R1_RETURN_IF_ERROR(s.copy_raw(staging->handle(), 0, dev_buf.handle(), offset, n));
  else R1_RETURN_IF_ERROR(s.copy_raw(dev_buf.handle(), offset, staging->handle(), 0, n));
  R1_RETURN_IF_ERROR(s.synchronize());
  if (!to_device) R1_RETURN_IF_ERROR(staging->download(0, host, n));
  return ok_status();
}

}  // namespace r1::kernels::vk
