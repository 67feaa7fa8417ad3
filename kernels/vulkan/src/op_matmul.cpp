#include "r1/kernels/op_checks.h"
#include "r1/kernels/quants.h"
#include "vk_stream.h"

namespace r1::kernels::vk {
namespace {
constexpr int64_t k_tiled_min_cols = 8;  // batches above this take matmul_tiled.comp
}  // namespace

status vk_stream::matmul(const matmul_args& a) {
  R1_RETURN_IF_ERROR(check_matmul(a));
  if (!dev_.supports(op_kind::matmul, a.type))
    return unavailable("vulkan: matmul does not support " + std::string(type_info(a.type).name));
  push_words pc;
  pc.u(a.rows).u(a.cols).u(a.n_cols).u(a.x_stride).u(a.y_stride);
  pc.u(a.w.offset).u(a.x.offset / 4).u(a.y.offset / 4).u(row_size(a.type, a.cols));
  // Up to 8 columns (decode, small batches): a workgroup per row and 4 columns. More: the
  // tiled shader, 64 rows × 64 columns per workgroup, each weight dequantized once per tile.
  if (a.n_cols > k_tiled_min_cols) {
    const uint64_t row_tiles = (static_cast<uint64_t>(a.rows) + 63) / 64, col_tiles = (static_cast<uint64_t>(a.n_cols) + 63) / 64;
    if (row_tiles > k_max_groups || col_tiles > k_max_groups)
      return invalid_argument("vulkan: matmul with too many rows or columns");
    return dispatch("matmul_tiled_" + type_suffix(a.type), {a.w, a.x, a.y}, pc, static_cast<uint32_t>(row_tiles),
                    static_cast<uint32_t>(col_tiles));
  }
  const uint32_t col_groups = static_cast<uint32_t>((a.n_cols + 3) / 4);
  if (col_groups > k_max_groups) return invalid_argument("vulkan: matmul with too many columns");
  return dispatch("matmul_" + type_suffix(a.type), {a.w, a.x, a.y}, pc, groups_for(a.rows, 1), col_groups);
}

}  // namespace r1::kernels::vk
