#include <cstring>
#include <vector>

#include "r1/kernels/vulkan_backend.h"
#include "vk_device.h"

namespace r1::kernels {

namespace vk {
namespace {

device_type map_type(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return device_type::discrete_gpu;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return device_type::integrated_gpu;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return device_type::virtual_gpu;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return device_type::cpu;
    default: return device_type::other;
  }
}

bool has_extension(VkPhysicalDevice p, const char* name) {
  uint32_t n = 0;
  vkEnumerateDeviceExtensionProperties(p, nullptr, &n, nullptr);
  std::vector<VkExtensionProperties> ext(n);
  vkEnumerateDeviceExtensionProperties(p, nullptr, &n, ext.data());
  for (const auto& e : ext)
    if (std::strcmp(e.extensionName, name) == 0) return true;
  return false;
}

// Total and free bytes of the device-local heaps (free from VK_EXT_memory_budget when present).
void memory_of(VkPhysicalDevice p, bool budget, device_info& info) {
  VkPhysicalDeviceMemoryBudgetPropertiesEXT b{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
  VkPhysicalDeviceMemoryProperties2 m{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2};
  if (budget) m.pNext = &b;
  vkGetPhysicalDeviceMemoryProperties2(p, &m);
  for (uint32_t h = 0; h < m.memoryProperties.memoryHeapCount; ++h) {
    if (!(m.memoryProperties.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)) continue;
    const uint64_t size = m.memoryProperties.memoryHeaps[h].size;
    info.total_memory += size;
    info.free_memory += budget && b.heapBudget[h] >= b.heapUsage[h] ? b.heapBudget[h] - b.heapUsage[h] : size;
  }
}

result<std::unique_ptr<vk_device>> open_device(VkPhysicalDevice p, int index, bool map_device_memory) {
  uint32_t nq = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(p, &nq, nullptr);
  std::vector<VkQueueFamilyProperties> qf(nq);
  vkGetPhysicalDeviceQueueFamilyProperties(p, &nq, qf.data());
  uint32_t family = UINT32_MAX;
  for (uint32_t i = 0; i < nq && family == UINT32_MAX; ++i)
    if (qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) family = i;
  if (family == UINT32_MAX) return unavailable("vulkan: device has no compute queue");

  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties(p, &props);
  const bool budget = has_extension(p, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
  device_info info;
  info.backend = "vulkan";
  info.index = index;
  info.name = props.deviceName;
  info.type = map_type(props.deviceType);
  info.driver = "Vulkan " + std::to_string(VK_API_VERSION_MAJOR(props.apiVersion)) + "." +
                std::to_string(VK_API_VERSION_MINOR(props.apiVersion)) + "." +
                std::to_string(VK_API_VERSION_PATCH(props.apiVersion));
  memory_of(p, budget, info);

  const float prio = 1.0f;
  VkDeviceQueueCreateInfo qi{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qi.queueFamilyIndex = family;
  qi.queueCount = 1;
  qi.pQueuePriorities = &prio;
  const char* exts[] = {VK_EXT_MEMORY_BUDGET_EXTENSION_NAME};
  VkDeviceCreateInfo di{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  di.queueCreateInfoCount = 1;
  di.pQueueCreateInfos = &qi;
  di.enabledExtensionCount = budget ? 1 : 0;
  di.ppEnabledExtensionNames = exts;
  VkDevice dev = VK_NULL_HANDLE;
  R1_RETURN_IF_ERROR(vk_status(vkCreateDevice(p, &di, nullptr, &dev), "vkCreateDevice"));
  auto d = std::make_unique<vk_device>(p, dev, family, std::move(info), map_device_memory);
  R1_RETURN_IF_ERROR(d->init());
  return d;
}

class vk_backend final : public backend {
 public:
  explicit vk_backend(VkInstance inst) : instance_(inst) {}
  ~vk_backend() override {
    devices_.clear();  // devices before the instance
    vkDestroyInstance(instance_, nullptr);
  }
  std::string_view name() const override { return "vulkan"; }
  size_t device_count() const override { return devices_.size(); }
  device& device_at(size_t i) override { return *devices_.at(i); }
  std::vector<std::unique_ptr<vk_device>> devices_;

 private:
  VkInstance instance_;
};

}  // namespace
}  // namespace vk

result<std::unique_ptr<backend>> make_vulkan_backend(const vulkan_options& o) {
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "r1";
  app.apiVersion = VK_API_VERSION_1_2;
  VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ci.pApplicationInfo = &app;
  VkInstance inst = VK_NULL_HANDLE;
  if (VkResult r = vkCreateInstance(&ci, nullptr, &inst); r != VK_SUCCESS)
    return unavailable("vulkan: no usable loader or driver (vkCreateInstance: " + std::to_string(static_cast<int>(r)) +
                       ")");
  auto b = std::make_unique<vk::vk_backend>(inst);
  uint32_t n = 0;
  vkEnumeratePhysicalDevices(inst, &n, nullptr);
  std::vector<VkPhysicalDevice> phys(n);
  vkEnumeratePhysicalDevices(inst, &n, phys.data());
  status last = ok_status();
  for (VkPhysicalDevice p : phys) {
    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(p, &props);
    if (props.apiVersion < VK_API_VERSION_1_2) continue;
    auto d = vk::open_device(p, static_cast<int>(b->devices_.size()), o.map_device_memory);
    if (d.ok()) b->devices_.push_back(std::move(d).value());
    else last = d.error();
  }
  if (b->devices_.empty() && !last.ok()) return last;
  return std::unique_ptr<backend>(std::move(b));
}

}  // namespace r1::kernels
