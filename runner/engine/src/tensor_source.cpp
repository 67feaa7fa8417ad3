#include "tensor_source.h"

#include "r1/kernels/quants.h"

namespace r1::engine {
namespace {

// Appended piece by piece: GCC 12 reports a false -Wrestrict at -O3 for "[" + std::to_string(..).
std::string shape(uint64_t a, uint64_t b) {
  return std::string(1, '[').append(std::to_string(a)).append(", ").append(std::to_string(b)).append(1, ']');
}

}  // namespace

std::string layer_tensor(int layer, const char* what, const char* suffix) {
  return "blk." + std::to_string(layer) + "." + what + "." + suffix;
}

const gguf::tensor_info* tensor_source::find(const std::string& name) const {
  for (const gguf::file* f : files_) {
    if (const gguf::tensor_info* t = f->find_tensor(name)) return t;
  }
  return nullptr;
}

result<matrix> tensor_source::get_matrix_optional(const std::string& name, uint64_t n_in, uint64_t n_out) const {
  const gguf::tensor_info* t = find(name);
  if (t == nullptr) return matrix{};
  if (t->n_dims > 2 || t->ne[0] != n_in || t->ne[1] != n_out) {
    return corrupt("tensor " + name + " has shape " + t->shape_string() + ", expected " + shape(n_in, n_out));
  }
  if (!kernels::can_vec_dot(t->type)) {
    return invalid_argument("tensor " + name + " has type " + std::string(type_info(t->type).name) +
                            ", which the CPU kernels cannot multiply");
  }
  const size_t row = kernels::row_size(t->type, static_cast<int64_t>(n_in));
  if (static_cast<uint64_t>(row) * n_out != t->size) {
    return corrupt("tensor " + name + " holds " + std::to_string(t->size) + " bytes, expected " +
                   std::to_string(static_cast<uint64_t>(row) * n_out));
  }
  matrix m;
  m.name = name;
  m.view.type = t->type;
  m.view.rows = static_cast<int64_t>(n_out);
  m.view.cols = static_cast<int64_t>(n_in);
  m.view.data = t->data;
  m.view.row_stride_bytes = row;
  return m;
}

result<matrix> tensor_source::get_matrix(const std::string& name, uint64_t n_in, uint64_t n_out) const {
  R1_ASSIGN_OR_RETURN(matrix m, get_matrix_optional(name, n_in, n_out));
  if (!m) return corrupt("tensor " + name + " is missing");
  return m;
}

result<stacked_matrix> tensor_source::get_stacked(const std::string& name, uint64_t n_in, uint64_t n_out,
                                                 uint64_t n_mat) const {
  const gguf::tensor_info* t = find(name);
  const std::string want = std::string(1, '[')
                               .append(std::to_string(n_in))
                               .append(", ")
                               .append(std::to_string(n_out))
                               .append(", ")
                               .append(std::to_string(n_mat))
                               .append(1, ']');
  if (t == nullptr) return corrupt("tensor " + name + " is missing");
  if (t->n_dims != 3 || t->ne[0] != n_in || t->ne[1] != n_out || t->ne[2] != n_mat) {
    return corrupt("tensor " + name + " has shape " + t->shape_string() + ", expected " + want);
  }
  if (!kernels::can_vec_dot(t->type)) {
    return invalid_argument("tensor " + name + " has type " + std::string(type_info(t->type).name) +
                            ", which the CPU kernels cannot multiply");
  }
  const size_t row = kernels::row_size(t->type, static_cast<int64_t>(n_in));
  if (static_cast<uint64_t>(row) * n_out * n_mat != t->size) {
    return corrupt("tensor " + name + " holds " + std::to_string(t->size) + " bytes, expected " +
                   std::to_string(static_cast<uint64_t>(row) * n_out * n_mat));
  }
  stacked_matrix m;
  m.name = name;
  m.first.type = t->type;
  m.first.rows = static_cast<int64_t>(n_out);
  m.first.cols = static_cast<int64_t>(n_in);
  m.first.data = t->data;
  m.first.row_stride_bytes = row;
  m.n_mat = static_cast<int64_t>(n_mat);
  m.mat_stride_bytes = row * n_out;
  return m;
}

result<vec> tensor_source::get_vector_optional(const std::string& name, uint64_t n) const {
  const gguf::tensor_info* t = find(name);
  if (t == nullptr) return vec{};
  if (t->n_elements() != n || t->ne[0] != n) {
    return corrupt("tensor " + name + " has shape " + t->shape_string() + ", expected [" + std::to_string(n) + "]");
  }
  if (!kernels::can_dequantize(t->type) || kernels::row_size(t->type, static_cast<int64_t>(n)) != t->size) {
    return corrupt("tensor " + name + " has type " + std::string(type_info(t->type).name) +
                   " that cannot be read as a vector of " + std::to_string(n));
  }
  vec v(n);
  R1_RETURN_IF_ERROR(kernels::dequantize_row(t->type, t->data, v.data(), static_cast<int64_t>(n)));
  return v;
}

result<vec> tensor_source::get_vector(const std::string& name, uint64_t n) const {
  R1_ASSIGN_OR_RETURN(vec v, get_vector_optional(name, n));
  if (v.empty()) return corrupt("tensor " + name + " is missing");
  return v;
}

}  // namespace r1::engine
