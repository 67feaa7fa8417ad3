// Shared by the AMX engine tests: their tiny models (2 layers, n_embd 256 and n_ff
// 512, so that every matrix has an AMX kernel in the K-quant mixes and Q8_0), the
// logits a run keeps, and the kernel path restored after each test.
#pragma once

#include <string>
#include <vector>

#include "r1/kernels/cpu_features.h"

#include "r1/mkmodel/make_model.h"

namespace r1::engine::testing {

// Writes a qwen2-shaped model of `type` ("Q4_K_M", "Q8_0", ...) to path.
inline status write_amx_test_model(const std::string& path, const std::string& type, uint64_t seed) {
  R1_ASSIGN_OR_RETURN(mkmodel::model_spec s, mkmodel::preset("qwen2", "tiny"));
  s.n_layer = 2;
  s.n_embd = 256;
  s.n_head = 4;
  s.n_head_kv = 2;
  s.n_ff = 512;
  s.n_ctx = 128;
  s.type = type;
  s.seed = seed;
  return mkmodel::write_model(s, path).error();
}

struct logits_run {
  std::vector<float> prompt;  // every position of the prompt
  std::vector<float> next;    // one decoded token after it
};

// Restores the kernel path active at construction when it goes out of scope.
class path_restore {
 public:
  path_restore() : saved_(kernels::kernel_path_name()) {}
  ~path_restore() { (void)kernels::set_kernel_path(saved_); }
  path_restore(const path_restore&) = delete;
  path_restore& operator=(const path_restore&) = delete;

 private:
  std::string saved_;
};

}  // namespace r1::engine::testing
