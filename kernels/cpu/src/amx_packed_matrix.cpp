// The repacked copy of a weight matrix: for the AMX prompt GEMM each row tile's
// panel written by the same unpacking code a task runs (amx_gemm.cpp), so the
// tile kernels cannot tell a repacked panel from a freshly unpacked one, followed
// for Q4_K and Q6_K by their decode panels (amx_panel_decode_k.cpp), or those alone;
// for Q8_0 the decode panels of amx_panel_decode.cpp alone; in a mapping of its own
// or in an amx_arena shared with other copies.
#include "r1/kernels/amx_packed_matrix.h"

#include <sys/mman.h>

#include <algorithm>
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
constexpr size_t k_arena_align = 4096;

// "Q4_K 256x1536", for errors.
std::string describe(const matrix_view& w) {
  return std::string(type_info(w.type).name) + " " + std::to_string(w.rows) + "x" + std::to_string(w.cols);
}

// The error of a matrix that has no copy of `kind` on this path.
status no_copy(const matrix_view& w) {
  std::string m = "amx_repack: " + describe(w);
  if (amx_repack_useful(w)) m.append(" has no decode panels");
  else m.append(" has no AMX kernel on the ").append(kernel_path_name()).append(" kernel path");
  return invalid_argument(std::move(m));
}

// Where a copy's decode panels start: after its A panels (none in a decode-only copy;
// Q8_0's copy is decode panels from the start).
size_t decode_offset(const matrix_view& w, const detail::amx_kernel& k, bool decode_only) {
  return k.write_decode && !decode_only ? lead_panel_bytes(k, w.cols) * static_cast<size_t>(row_tiles(w)) : 0;
}

// Writes every row tile of w's copy at base (amx_repacked_bytes(w, kind) bytes):
// A panels (none when decode_only) then decode panels.
void write_copy(const matrix_view& w, const detail::amx_kernel& k, bool decode_only, uint8_t* base,
                thread_pool& pool) {
  const size_t panel = decode_only ? 0 : lead_panel_bytes(k, w.cols);
  const size_t decode_at = decode_offset(w, k, decode_only);
  detail::amx_weight wt;
  wt.data = static_cast<const uint8_t*>(w.data);
  wt.stride = w.row_stride_bytes ? w.row_stride_bytes : row_size(w.type, w.cols);
  wt.rows = w.rows;
  wt.cols = w.cols;
  const detail::amx_unpack_fn write = k.repack ? k.repack : k.unpack;
  pool.run(static_cast<int>(row_tiles(w)), [&](int rt, int) {
    if (panel) write(wt, rt, base + panel * static_cast<size_t>(rt));
    if (k.write_decode) k.write_decode(wt, rt, base + decode_at + k.decode_bytes(w.cols) * static_cast<size_t>(rt));
  });
}

}  // namespace

void detail::amx_unmap_fn::operator()(uint8_t* p) const {
  if (p != nullptr && map_bytes != 0) ::munmap(p - offset, map_bytes);
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
  if (!amx_repack_useful(w) || amx_repacked_bytes(w, kind) == 0) return no_copy(w);
  const detail::amx_kernel& k = *kernel_of(w);
  const size_t bytes = amx_repacked_bytes(w, kind);
  const bool decode_only = decode_panels_alone(k, kind);
  const size_t decode_at = decode_offset(w, k, decode_only);
  const bool has_decode_panels = k.write_decode != nullptr || k.repack != nullptr;
  // The decode panels on huge pages from a 2 MiB boundary, when they take enough to pay.
  const bool huge = pages == amx_pages::huge && has_decode_panels && bytes - decode_at >= k_min_huge_panels;
  auto map = detail::map_anonymous(bytes, decode_at, huge);
  if (!map.ok()) return map.error().with_context("amx_repack");
  amx_packed_matrix out;
  out.data_ = std::unique_ptr<uint8_t, detail::amx_unmap_fn>(map->data, detail::amx_unmap_fn{bytes, map->offset, map->map_bytes});
  out.huge_bytes_ = map->huge_bytes;
  out.decode_only_ = decode_only;
  write_copy(w, k, decode_only, out.data_.get(), pool);
  return out;
}

result<amx_arena> amx_arena::map(size_t bytes, amx_pages pages) {
  bytes = std::max(bytes, k_arena_align);
  auto map = detail::map_anonymous(bytes, 0, pages == amx_pages::huge && bytes >= k_min_huge_panels);
  if (!map.ok()) return map.error().with_context("amx_arena");
  amx_arena a;
  a.data_ = std::unique_ptr<uint8_t, detail::amx_unmap_fn>(map->data, detail::amx_unmap_fn{bytes, map->offset, map->map_bytes});
  a.huge_bytes_ = map->huge_bytes;
  return a;
}

size_t amx_arena_bytes(const matrix_view& w, amx_copy kind) {
  return (amx_repacked_bytes(w, kind) + k_arena_align - 1) / k_arena_align * k_arena_align;
}

result<amx_packed_matrix> amx_repack(const matrix_view& w, thread_pool& pool, amx_copy kind, amx_arena& arena) {
  if (!amx_repack_useful(w) || amx_repacked_bytes(w, kind) == 0) return no_copy(w);
  const size_t take = amx_arena_bytes(w, kind);
  if (!arena || arena.bytes() - arena.used_ < take) {
    return resource_exhausted("amx_repack: the arena has " + std::to_string(arena ? arena.bytes() - arena.used_ : 0) +
                              " bytes left, a copy of " + describe(w) + " needs " + std::to_string(take));
  }
  const detail::amx_kernel& k = *kernel_of(w);
  const size_t bytes = amx_repacked_bytes(w, kind);
  amx_packed_matrix out;
  uint8_t* at = arena.data_.get() + arena.used_;
  arena.used_ += take;
  out.data_ = std::unique_ptr<uint8_t, detail::amx_unmap_fn>(at, detail::amx_unmap_fn{bytes, 0, 0});
  out.huge_bytes_ = arena.huge_bytes_ ? bytes : 0;
  out.decode_only_ = decode_panels_alone(k, kind);
  write_copy(w, k, out.decode_only_, at, pool);
  return out;
}

}  // namespace r1::kernels
