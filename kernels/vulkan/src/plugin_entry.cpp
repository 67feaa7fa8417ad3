// libr1-backend-vulkan.so: the Vulkan backend as an r1-runner plugin (backend_plugin.h).
#include "r1/kernels/backend_plugin.h"
#include "r1/kernels/vulkan_backend.h"
#include "r1_backend_interface_key.h"

R1_BACKEND_PLUGIN("vulkan", 20, r1::kernels::make_vulkan_backend())
