#include "r1/kernels/backend.h"

namespace r1::kernels {

std::string_view device_type_name(device_type t) {
  switch (t) {
    case device_type::cpu: return "cpu";
    case device_type::discrete_gpu: return "discrete_gpu";
    case device_type::integrated_gpu: return "integrated_gpu";
    case device_type::virtual_gpu: return "virtual_gpu";
    case device_type::other: break;
  }
  return "other";
}

backend* backend_registry::find(std::string_view name) const {
  for (const auto& b : backends_)
    if (b->name() == name) return b.get();
  return nullptr;
}

std::vector<device*> backend_registry::all_devices() const {
  std::vector<device*> out;
  for (const auto& b : backends_)
    for (size_t i = 0; i < b->device_count(); ++i) out.push_back(&b->device_at(i));
  return out;
}

}  // namespace r1::kernels
