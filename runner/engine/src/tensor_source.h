// Tensor lookup over the (possibly sharded) files of a model, with shape checks that produce
// errors naming the tensor (private to the engine).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "r1/base/status.h"
#include "r1/gguf/file.h"
#include "weights.h"

namespace r1::engine {

class tensor_source {
 public:
  explicit tensor_source(const std::vector<const gguf::file*>& files) : files_(files) {}

  const gguf::tensor_info* find(const std::string& name) const;

  // A matrix of shape {n_in, n_out} (ggml order) whose type the matmul supports.
  result<matrix> get_matrix(const std::string& name, uint64_t n_in, uint64_t n_out) const;
  // Same, nullopt-like empty matrix when absent.
  result<matrix> get_matrix_optional(const std::string& name, uint64_t n_in, uint64_t n_out) const;
  // A 3-D tensor {n_in, n_out, n_mat} read as n_mat stacked matrices (experts, heads).
  result<stacked_matrix> get_stacked(const std::string& name, uint64_t n_in, uint64_t n_out, uint64_t n_mat) const;
  // A 1-D tensor of n elements converted to F32.
  result<vec> get_vector(const std::string& name, uint64_t n) const;
  result<vec> get_vector_optional(const std::string& name, uint64_t n) const;

 private:
  std::vector<const gguf::file*> files_;
};

// "blk.3.attn_q.weight"
std::string layer_tensor(int layer, const char* what, const char* suffix = "weight");

}  // namespace r1::engine
