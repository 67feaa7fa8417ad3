// A dense-transformer forward pass (qwen2, llama, qwen3) written only with
// backend ops, all layers on one device: the test harness that proves the op
// list is complete before the engine offloads layers. Weights are read from
// the GGUF by name and uploaded once; the KV cache (F16) lives on the device.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "r1/engine/model.h"
#include "r1/gguf/model_files.h"
#include "r1/kernels/backend.h"

namespace r1::kernels::testing {

class device_forward {
 public:
  static result<std::unique_ptr<device_forward>> create(device& d, const gguf::model_files& f,
                                                        const engine::model_hparams& hp, int32_t n_ctx);
  // Runs tokens at positions pos.. and returns the logits of the last one.
  result<std::vector<float>> decode(const std::vector<int32_t>& tokens, int32_t pos);

 private:
  struct weight {
    tensor_type type;
    int64_t rows, cols;
    std::unique_ptr<buffer> buf;
  };
  device_forward(device& d, const engine::model_hparams& hp) : d_(d), hp_(hp) {}
  const weight* w(const std::string& name) const;
  status linear(const std::string& name, const tensor_arg& x, int64_t n, const tensor_arg& y);
  status layer(int il, int64_t n, int32_t pos);

  device& d_;
  engine::model_hparams hp_;
  int32_t n_ctx_ = 0;
  std::map<std::string, weight> w_;
  std::unique_ptr<stream> s_;
  std::vector<std::unique_ptr<buffer>> k_cache_, v_cache_;
  std::unique_ptr<buffer> x_, xn_, q_, k_, v_, att_, gate_, up_, tmp_, ids_, pos_, logits_, freq_factors_;
  int64_t n_max_ = 0;
};

}  // namespace r1::kernels::testing
