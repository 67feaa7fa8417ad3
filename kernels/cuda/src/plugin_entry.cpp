// libr1-backend-cuda.so: the CUDA backend as an r1-runner plugin (backend_plugin.h). CUDA goes
// before Vulkan: where both see one NVIDIA GPU, CUDA is the faster path to it.
#include "r1/kernels/backend_plugin.h"
#include "r1/kernels/cuda_backend.h"
#include "r1_backend_interface_key.h"

// CUDA graphs only when the runner asks (--cuda-graphs): they are tested against eager launches
// bit for bit, but have not yet been measured on a GPU, so eager launching stays the default.
R1_BACKEND_PLUGIN("cuda", 10, r1::kernels::make_cuda_backend({.graphs = r1::kernels::plugin_cuda_graphs(a)}))
