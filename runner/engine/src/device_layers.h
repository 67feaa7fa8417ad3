// GPU offload of the dense forward pass (private to the engine).
//
// A device_layers holds, for every GPU share of a context (context_params::gpus), the weights
// of its layers (one device buffer per tensor, uploaded from the mapping at creation), a
// device KV cache for those layers ([slot][position] rows of K and V in F16 or F32, the same
// positions as the host kv_cache, so prefix reuse and truncation need nothing here) and device
// scratch for n_batch rows. run() evaluates one share's layers on fs with backend ops only:
// the residual is uploaded when it crosses from the host and downloaded when it leaves, unless
// the share also holds the output head, in which case head() computes logits on the device.
//
// Architectures: qwen2, llama, qwen3 (dense blocks with optional q/k/v biases and per-head
// q/k norms); supported() says which. Weight and cache types must be ones the device
// supports (kernels::device::supports), else create() fails with unavailable.
//
// Ownership: borrows the model and the devices (both outlive it); owns buffers and streams.
// Thread safety: none; the context's thread drives it.
// Errors: create(): invalid_argument for an unusable layout (ranges, architecture, cache
// type), unavailable for a weight type the device lacks, resource_exhausted when the device
// is out of memory; run()/head(): whatever the device reports at synchronize.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "forward_state.h"
#include "r1/base/status.h"
#include "r1/engine/context.h"
#include "r1/engine/model.h"

namespace r1::engine {

class device_layers {
 public:
  // Whether layers of `architecture` can run on a device.
  static bool supported(std::string_view architecture);

  static result<std::unique_ptr<device_layers>> create(const model& m, const context_params& p);
  ~device_layers();

  // Shares in layer order (as given in context_params::gpus, sorted by first_layer).
  size_t size() const;
  uint32_t first_layer(size_t share) const;
  uint32_t n_layers(size_t share) const;
  // Whether the share holds the output norm and head.
  bool has_output(size_t share) const;

  // Runs the share's layers over fs.x (fs.n rows at fs.pos0 of slot fs.seq). With
  // keep_on_device (only for the output share) the residual stays on the device for head();
  // otherwise fs.x holds the result when run() returns.
  status run(size_t share, forward_state& fs, bool keep_on_device);
  // Logits of rows [first, first+count) of the residual left by run(..., true) into dst
  // (count rows of n_vocab floats).
  status head(size_t share, int32_t first, int32_t count, float* dst);

  // What each share placed on its device.
  std::vector<device_usage> usage() const;

 private:
  struct share;
  device_layers(const model& m, const context_params& p);
  // Queues layer `local` of share i for the batch of fs.
  status layer(size_t i, size_t local, const forward_state& fs);

  const model& m_;
  context_params p_;
  std::vector<std::unique_ptr<share>> shares_;
};

}  // namespace r1::engine
