#include "gpu_setup.h"

#include <string>

#include "r1/base/log.h"
#include "r1/gguf/file.h"
#include "r1/gguf/model_params.h"
#include "r1/kernels/plugin_loader.h"

namespace r1::runner {

namespace {

// The devices of the first GPU backend that has any, filtered by --main-gpu and, when the
// layer count is automatic, without software devices.
std::vector<kernels::device*> pick_devices(const kernels::backend_registry& r, const serve_options& o) {
  std::vector<kernels::device*> out;
  for (const auto& b : r.backends()) {
    if (b->name() == "cpu" || b->device_count() == 0) continue;
    for (size_t i = 0; i < b->device_count(); ++i) {
      kernels::device& d = b->device_at(i);
      if (o.main_gpu >= 0 && d.info().index != o.main_gpu) continue;
      if (o.n_gpu_layers < 0 && d.info().type == kernels::device_type::cpu) {
        R1_LOG(info, "runner") << "not offloading to " << d.info().name
                               << " automatically (a software device); ask for GPU layers to use it";
        continue;
      }
      out.push_back(&d);
    }
    break;
  }
  return out;
}

std::string why_no_gpu(const kernels::loaded_backends& b, const serve_options& o) {
  std::string why = o.main_gpu >= 0 ? "no GPU device with index " + std::to_string(o.main_gpu) : "no GPU device";
  for (const auto& u : b.registry.unavailable()) why += "; " + u.name + ": " + u.why.message();
  if (b.plugins.empty()) {
    why += " (no GPU backend plugin in " + (b.dir.empty() ? std::string("the backend directory") : b.dir) +
           ": install r1-backend-vulkan or r1-backend-cuda, or give --backend-dir)";
  }
  return why;
}

}  // namespace

kernels::loaded_backends load_backends(const serve_options& o, int cpu_threads) {
  return kernels::load_backends(
      {.dir = o.backend_dir, .cpu_threads = cpu_threads, .enable_gpu = !o.no_gpu, .cuda_graphs = o.cuda_graphs});
}

result<gpu_choice> plan_gpus(const engine::model& m, const serve_options& o, tensor_type kv_type, int32_t n_ctx) {
  gpu_choice c;
  const bool gpus_off = o.no_gpu || o.n_gpu_layers == 0;
  std::vector<kernels::device*> devices;
  if (!gpus_off) {
    kernels::loaded_backends b = load_backends(o, 1);
    devices = pick_devices(b.registry, o);
    if (devices.empty() && o.n_gpu_layers > 0) {
      return resource_exhausted(std::to_string(o.n_gpu_layers) + " GPU layers requested but " + why_no_gpu(b, o));
    }
    c.registry = std::make_unique<kernels::backend_registry>(std::move(b.registry));
  } else if (o.no_gpu && o.n_gpu_layers > 0) {
    return invalid_argument(std::to_string(o.n_gpu_layers) + " GPU layers requested but GPUs are disabled (R1_NO_GPU)");
  }
  std::vector<planner::device_budget> budgets;
  for (kernels::device* d : devices) {
    const kernels::device_info& info = d->info();
    planner::device_budget b{info.backend, info.index, info.name, info.free_memory};
    if (o.gpu_memory_limit > 0) {  // test / debug knob: the bytes the plan may use, no reserve on top
      b.free_memory = std::min<uint64_t>(b.free_memory, o.gpu_memory_limit);
      b.reserve = 0;
    }
    budgets.push_back(b);
  }
  R1_ASSIGN_OR_RETURN(gguf::model_params p, gguf::resolve_params(m.gguf_metadata()));
  p.n_vocab = m.hparams().n_vocab;
  const std::vector<const gguf::file*> files = m.gguf_files();
  const std::vector<planner::tensor_size> sizes = planner::tensor_sizes(files);
  planner::plan_request req;
  req.n_ctx = static_cast<uint32_t>(n_ctx);
  req.n_parallel = static_cast<uint32_t>(o.parallel);
  req.kv_type = kv_type;
  req.n_batch = static_cast<uint32_t>(o.batch);
  req.n_gpu_layers = gpus_off ? 0 : o.n_gpu_layers;
  R1_ASSIGN_OR_RETURN(c.plan, planner::make_plan(p, sizes, req, budgets));
  for (const planner::device_share& s : c.plan.gpus) {
    for (kernels::device* d : devices) {
      if (d->info().backend == s.backend && d->info().index == s.index) {
        c.offload.push_back({d, s.first_layer, s.n_layers, s.output});
      }
    }
  }
  if (!c.plan.note.empty()) {
    R1_LOG(info, "runner") << c.plan.note;
  }
  return c;
}

}  // namespace r1::runner
