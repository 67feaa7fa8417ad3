// The repacked copy of a weight matrix: for the AMX prompt GEMM each row tile's
// panel written by the same unpacking code a task runs (amx_gemm.cpp), so the
// tile kernels cannot tell a repacked panel from a freshly unpacked one, followed
// for Q4_K and Q6_K by their decode panels (amx_panel_decode_k.cpp), or those alone;
// for Q8_0 the decode panels of amx_panel_decode.cpp alone.
#include "r1/kernels/amx_packed_matrix.h"

#include <sys/mman.h>

#include <string>

#include "amx_tiles.h"
#include "huge_mapping.h"
#include "r1/kernels/cpu_features.h"
#include "r1/kernels/quants.h"

namespace r1::kernels {
namespace {

const detail::amx_kernel* kernel_of(const matrix_view& w) {
  const int id = static_cast<int>(w.type);
  if (id < 0 || id >= detail::n_dot_slots || !detail::amx_kernels[id].run) return nullptr;
  return &detail::amx_kernels[id];
}

int64_t row_tiles(const matrix_view& w) { return (w.rows + detail::amx_tile - 1) / detail::amx_tile; }

// True when a `kind` copy of a matrix with kernel k holds only its decode panels.
bool decode_panels_alone(const detail::amx_kernel& k, amx_copy kind) { return kind == amx_copy::decode && k.decode; }

// Bytes of one row tile's leading panel in a full copy: the A panel, or Q8_0's decode panel.
size_t lead_panel_bytes(const detail::amx_kernel& k, int64_t cols) {
  return (k.repack_bytes ? k.repack_bytes : k.panel_bytes)(cols);
}

constexpr size_t k_min_huge_panels = size_t{1} << 20;

}  // namespace

void detail::amx_unmap_fn::operator()(uint8_t* p) const {
  if (p != nullptr) ::munmap(p - offset, map_bytes);
}

size_t amx_repacked_bytes(const matrix_view& w, amx_copy kind) {
  const detail::amx_kernel* k = kernel_of(w);
  if (k == nullptr || w.rows <= 0 || w.cols <= 0) return 0;
  if (kind == amx_copy::decode && !k->decode && !k->repack) return 0;  // no decode panels
  if (decode_panels_alone(*k, kind)) return k->decode_bytes(w.cols) * static_cast<size_t>(row_tiles(w));
  const size_t tile = lead_panel_bytes(*k, w.cols) + (k->decode_bytes ? k->decode_bytes(w.cols) : 0);
  return tile * static_cast<size_t>(row_tiles(w));
}

bool amx_copy_serves_every_matmul(const matrix_view& w) {
  const detail::amx_kernel* k = kernel_of(w);
  return k != nullptr && (k->repack != nullptr || k->write_decode != nullptr);
}

bool amx_repack_useful(const matrix_view& w) {
  return active_kernel_path() == kernel_path::amx && amx_repacked_bytes(w) > 0;
}

result<amx_packed_matrix> amx_repack(const matrix_view& w, thread_pool& pool, amx_copy kind, amx_pages pages) {
  if (!amx_repack_useful(w) || amx_repacked_bytes(w, kind) == 0) {
    std::string m = "amx_repack: ";
    m.append(type_info(w.type).name).append(" ").append(std::to_string(w.rows)).append("x");
    m.append(std::to_string(w.cols));
    if (amx_repack_useful(w)) m.append(" has no decode panels");
    else m.append(" has no AMX kernel on the ").append(kernel_path_name()).append(" kernel path");
    return invalid_argument(std::move(m));
  }
  const detail::amx_kernel& k = *kernel_of(w);
  const size_t bytes = amx_repacked_bytes(w, kind);
  const bool decode_only = decode_panels_alone(k, kind);
  // The A panels (none in a decode-only copy), then the decode panels (Q8_0's copy
  // is decode panels from the start).
  const size_t panel = decode_only ? 0 : lead_panel_bytes(k, w.cols);
  const int64_t tiles = row_tiles(w);
  const size_t decode_at = k.write_decode ? panel * static_cast<size_t>(tiles) : 0;
  const bool has_decode_panels = k.write_decode != nullptr || k.repack != nullptr;
  // The decode panels on huge pages from a 2 MiB boundary, when they take enough to pay.
  const bool huge = pages == amx_pages::huge && has_decode_panels && bytes - decode_at >= k_min_huge_panels;
  auto map = detail::map_anonymous(bytes, decode_at, huge);
  if (!map.ok()) return map.error().with_context("amx_repack");
  amx_packed_matrix out;
  out.data_ = std::unique_ptr<uint8_t, detail::amx_unmap_fn>(map->data, detail::amx_unmap_fn{bytes, map->offset, map->map_bytes});
  out.huge_bytes_ = map->huge_bytes;
  detail::amx_weight wt;
  wt.data = static_cast<const uint8_t*>(w.data);
  wt.stride = w.row_stride_bytes ? w.row_stride_bytes : row_size(w.type, w.cols);
  wt.rows = w.rows;
  wt.cols = w.cols;
  out.decode_only_ = decode_only;
  const detail::amx_unpack_fn write = k.repack ? k.repack : k.unpack;
  uint8_t* base = out.data_.get();
  pool.run(static_cast<int>(tiles), [&](int rt, int) {
    if (panel) write(wt, rt, base + panel * static_cast<size_t>(rt));
    if (k.write_decode) k.write_decode(wt, rt, base + decode_at + k.decode_bytes(w.cols) * static_cast<size_t>(rt));
  });
  return out;
}

}  // namespace r1::kernels
