#include "vk_stream.h"

#include <algorithm>
#include <cctype>

#include "r1/kernels/op_checks.h"

namespace r1::kernels::vk {

std::string type_suffix(tensor_type t) {
  std::string s(type_info(t).name);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

vk_stream::~vk_stream() {
  VkDevice d = dev_.handle();
  if (recording_) {
    vkEndCommandBuffer(cb_);
    (void)dev_.submit_and_wait(cb_, fence_);
  }
  if (dpool_) vkDestroyDescriptorPool(d, dpool_, nullptr);
  if (fence_) vkDestroyFence(d, fence_, nullptr);
  if (pool_) vkDestroyCommandPool(d, pool_, nullptr);
}

status vk_stream::init() {
  VkDevice d = dev_.handle();
  VkCommandPoolCreateInfo pi{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pi.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pi.queueFamilyIndex = dev_.queue_family();
  R1_RETURN_IF_ERROR(vk_status(vkCreateCommandPool(d, &pi, nullptr, &pool_), "vkCreateCommandPool"));
  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = pool_;
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  R1_RETURN_IF_ERROR(vk_status(vkAllocateCommandBuffers(d, &ai, &cb_), "vkAllocateCommandBuffers"));
  VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  R1_RETURN_IF_ERROR(vk_status(vkCreateFence(d, &fi, nullptr, &fence_), "vkCreateFence"));
  VkDescriptorPoolSize ps{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, k_max_sets * k_bindings};
  VkDescriptorPoolCreateInfo di{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  di.maxSets = k_max_sets;
  di.poolSizeCount = 1;
  di.pPoolSizes = &ps;
  return vk_status(vkCreateDescriptorPool(d, &di, nullptr, &dpool_), "vkCreateDescriptorPool");
}

status vk_stream::begin() {
  if (recording_) return ok_status();
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  R1_RETURN_IF_ERROR(vk_status(vkBeginCommandBuffer(cb_, &bi), "vkBeginCommandBuffer"));
  recording_ = true;
  return ok_status();
}

status vk_stream::synchronize() {
  if (!recording_) return ok_status();
  recording_ = false;
  // Make every device write visible to the host (downloads read mapped memory).
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
  vkCmdPipelineBarrier(cb_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                       VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, nullptr, 0, nullptr);
  R1_RETURN_IF_ERROR(vk_status(vkEndCommandBuffer(cb_), "vkEndCommandBuffer"));
  const status s = dev_.submit_and_wait(cb_, fence_);
  vkResetCommandBuffer(cb_, 0);
  vkResetDescriptorPool(dev_.handle(), dpool_, 0);
  sets_used_ = 0;
  return s;
}

status vk_stream::own(const tensor_arg& a) const {
  auto* b = dynamic_cast<vk_buffer*>(a.buf);
  if (!b || &b->owner() != &dev_) return invalid_argument("vulkan stream: a tensor is not in a buffer of this device");
  if (a.offset >= (uint64_t{1} << 32) || b->size() >= (uint64_t{1} << 32))
    return invalid_argument("vulkan stream: buffers are limited to 4 GiB (offsets are 32-bit in shaders)");
  return ok_status();
}

uint32_t vk_stream::groups_for(uint64_t n, uint64_t per_group) {
  return static_cast<uint32_t>(std::clamp<uint64_t>((n + per_group - 1) / per_group, 1, k_max_groups));
}

status vk_stream::dispatch(const std::string& name, std::initializer_list<tensor_arg> bufs, const push_words& pc,
                           uint32_t gx, uint32_t gy, uint32_t gz) {
  for (const auto& a : bufs)
    if (!a.empty()) R1_RETURN_IF_ERROR(own(a));
  R1_ASSIGN_OR_RETURN(VkPipeline pipe, dev_.pipeline(name));
  if (sets_used_ == k_max_sets) R1_RETURN_IF_ERROR(synchronize());
  R1_RETURN_IF_ERROR(begin());
  VkDescriptorSetLayout sl = dev_.set_layout();
  VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  ai.descriptorPool = dpool_;
  ai.descriptorSetCount = 1;
  ai.pSetLayouts = &sl;
  VkDescriptorSet set = VK_NULL_HANDLE;
  R1_RETURN_IF_ERROR(vk_status(vkAllocateDescriptorSets(dev_.handle(), &ai, &set), "vkAllocateDescriptorSets"));
  ++sets_used_;
  VkDescriptorBufferInfo infos[k_bindings];
  VkWriteDescriptorSet writes[k_bindings];
  auto it = bufs.begin();
  for (uint32_t i = 0; i < k_bindings; ++i) {
    const bool have = it != bufs.end() && !it->empty();
    infos[i] = {have ? static_cast<vk_buffer*>(it->buf)->handle() : dev_.dummy(), 0, VK_WHOLE_SIZE};
    if (it != bufs.end()) ++it;
    writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    writes[i].dstSet = set;
    writes[i].dstBinding = i;
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[i].pBufferInfo = &infos[i];
  }
  vkUpdateDescriptorSets(dev_.handle(), k_bindings, writes, 0, nullptr);
  vkCmdBindPipeline(cb_, VK_PIPELINE_BIND_POINT_COMPUTE, pipe);
  vkCmdBindDescriptorSets(cb_, VK_PIPELINE_BIND_POINT_COMPUTE, dev_.pipeline_layout(), 0, 1, &set, 0, nullptr);
  vkCmdPushConstants(cb_, dev_.pipeline_layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0, k_push_words * 4, pc.w.data());
  vkCmdDispatch(cb_, gx, gy, gz);
  // Every op may read what the previous one wrote: a full compute/transfer barrier.
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                     VK_ACCESS_TRANSFER_WRITE_BIT;
  vkCmdPipelineBarrier(cb_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                       VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, nullptr, 0,
                       nullptr);
  return ok_status();
}

status vk_stream::copy_raw(VkBuffer src, size_t src_off, VkBuffer dst, size_t dst_off, size_t n) {
  R1_RETURN_IF_ERROR(begin());
  VkBufferCopy c{src_off, dst_off, n};
  vkCmdCopyBuffer(cb_, src, dst, 1, &c);
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                     VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_HOST_READ_BIT;
  vkCmdPipelineBarrier(cb_, VK_PIPELINE_STAGE_TRANSFER_BIT,
                       VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                       0, 1, &mb, 0, nullptr, 0, nullptr);
  return ok_status();
}

status vk_stream::copy(tensor_arg src, tensor_arg dst, size_t n) {
  R1_RETURN_IF_ERROR(check_arg("copy", "src", src, n));
  R1_RETURN_IF_ERROR(check_arg("copy", "dst", dst, n));
  R1_RETURN_IF_ERROR(own(src));
  R1_RETURN_IF_ERROR(own(dst));
  if (n == 0) return ok_status();
  return copy_raw(static_cast<vk_buffer*>(src.buf)->handle(), src.offset, static_cast<vk_buffer*>(dst.buf)->handle(),
                  dst.offset, n);
}

}  // namespace r1::kernels::vk
