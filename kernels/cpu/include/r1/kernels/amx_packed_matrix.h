// A weight matrix's AMX-INT8 tiles, unpacked once instead of at every prompt matmul.
//
//   R1_ASSIGN_OR_RETURN(kernels::amx_packed_matrix p, kernels::amx_repack(view, pool));
//   view.amx_packed = p.data();   // keep p alive as long as the view is used
//
// On the amx kernel path a prompt matmul (kernels/matmul.h) unpacks each task's 16
// weight rows into the layout the tile kernels read (K-quants: int16 scale·quant
// split into byte planes, ~2.1 bytes per weight; Q8_0 / Q4_0: int8 quants and a
// float scale per 32, ~1.1 bytes per weight). amx_repack does that once for every
// row tile, and a view whose amx_packed points at the copy skips the unpacking;
// the tile products and float steps are the same, so results are bit for bit
// those of the unpacking path. Q8_0 is the exception: its copy is decode panels (4
// quants of 16 rows per 64 bytes, fp16 scales, as many bytes as the original), read
// by decode, small batches and prompts alike (see matrix_view::amx_packed). Q4_K's
// copy is its A panels followed by decode panels (0.58 bytes per weight) that
// decode and small batches read; the decodes of the other types keep reading `data`.
//
// Ownership: amx_packed_matrix owns its buffer (an anonymous mapping, page aligned). Thread safety: immutable once built; any number
// of matmuls may read it at once. amx_repack itself uses `pool` (not concurrently
// with another run on the same pool).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "r1/base/status.h"
#include "r1/kernels/matmul.h"
#include "r1/kernels/thread_pool.h"

namespace r1::kernels {

namespace detail {
struct amx_unmap_fn {  // munmap of the anonymous mapping the copy starts `offset` bytes into
  size_t bytes = 0;    // of the copy
  size_t offset = 0;
  size_t map_bytes = 0;  // 0: the copy lives in an amx_arena, which unmaps it
  void operator()(uint8_t* p) const;
};
}  // namespace detail

class amx_arena;

// What a copy holds: everything the amx path reads of the matrix (full), or only
// its decode panels (decode: prompts then unpack the original rows; what the engine
// makes for Q4_K and Q6_K). For Q8_0 the two are the same (its decode panels serve
// prompts too).
enum class amx_copy { full, decode };

// Pages of a copy's decode panels: `huge` places them on 2 MiB boundaries and asks
// for transparent huge pages (MADV_HUGEPAGE), where the system offers them, when
// they take at least 1 MiB. A decode streams those panels at once per token, and a
// TLB miss per 4 KiB costs a page walk (two levels in a VM): measured +6-8 % on
// the 1.5B decodes. The price is at load: faulting a huge page zeroes 2 MiB, and
// on a VM that returns free memory to its host (free page reporting) those pages
// come back from the host one by one (~1 s per GiB measured there; on bare metal
// huge pages fault faster than small ones). Up to 2 MiB per copy of padding past
// the panels may become resident with them (one per amx_arena instead). The A panels
// keep small pages (prompts reuse each tile many times; their TLB misses do not show).
enum class amx_pages { small, huge };

class amx_packed_matrix {
 public:
  amx_packed_matrix() = default;
  const void* data() const { return data_.get(); }
  size_t bytes() const { return data_.get_deleter().bytes; }
  // Bytes advised as huge pages (0 unless amx_pages::huge applied).
  size_t huge_bytes() const { return huge_bytes_; }
  explicit operator bool() const { return data_ != nullptr; }
  // True when the copy holds only decode panels: set matrix_view::amx_decode_only.
  bool decode_only() const { return decode_only_; }

 private:
  friend result<amx_packed_matrix> amx_repack(const matrix_view& w, thread_pool& pool, amx_copy kind,
                                              amx_pages pages);
  friend result<amx_packed_matrix> amx_repack(const matrix_view& w, thread_pool& pool, amx_copy kind,
                                              amx_arena& arena);
  std::unique_ptr<uint8_t, detail::amx_unmap_fn> data_;
  bool decode_only_ = false;
  size_t huge_bytes_ = 0;
};

// One mapping that many copies are written into, one after the other, 4 KiB apart
// (what the engine makes for a model's decode panels). With amx_pages::huge all of
// it is advised as huge pages: copies of their own round each up to 2 MiB, and
// below 1 MiB stay on small pages, where a 1.5B model's 256-row K and V projections
// (a quarter MiB each) took 4-5x their bytes' streaming time to decode, each 4 KiB
// a page walk (bench/RESULTS.md, "Decode panels in one arena"). Placing the copies
// in the order the forward pass reads them also keeps a layer's panels together.
// Thread safety: as amx_packed_matrix once filled; filling is not thread safe.
class amx_arena {
 public:
  amx_arena() = default;
  // Maps `bytes` (the sum of amx_arena_bytes of the copies to come).
  // Errors: resource_exhausted when the memory cannot be mapped.
  static result<amx_arena> map(size_t bytes, amx_pages pages);
  explicit operator bool() const { return data_ != nullptr; }
  const uint8_t* data() const { return data_.get(); }
  size_t bytes() const { return data_.get_deleter().bytes; }
  size_t used() const { return used_; }  // bytes the copies placed so far take
  size_t huge_bytes() const { return huge_bytes_; }

 private:
  friend result<amx_packed_matrix> amx_repack(const matrix_view& w, thread_pool& pool, amx_copy kind,
                                              amx_arena& arena);
  std::unique_ptr<uint8_t, detail::amx_unmap_fn> data_;
  size_t used_ = 0;
  size_t huge_bytes_ = 0;
};

// Bytes amx_repack(w, kind) would allocate; 0 when w's type has no AMX kernel (Q4_0,
// Q8_0, Q4_K, Q5_K and Q6_K have one; for `decode`, Q8_0, Q4_K and Q6_K, which
// have decode panels) or w is empty. Any kernel path.
size_t amx_repacked_bytes(const matrix_view& w, amx_copy kind = amx_copy::full);

// True when a repacked copy of w would be used: the amx kernel path is active
// (kernels/cpu_features.h) and amx_repacked_bytes(w) > 0.
bool amx_repack_useful(const matrix_view& w);

// True when w's repacked copy serves every matmul of w on the amx path (Q8_0's decode
// panels; Q4_K's A and decode panels), so its original rows are no longer read
// there; false for AMX A panels alone (decode keeps reading the original). Any
// kernel path.
bool amx_copy_serves_every_matmul(const matrix_view& w);

// Unpacks every 16-row tile of w (rows past the last zeroed), spread over `pool`.
// Errors: invalid_argument when !amx_repack_useful(w) or amx_repacked_bytes(w, kind) is 0; resource_exhausted when the
// memory cannot be mapped.
result<amx_packed_matrix> amx_repack(const matrix_view& w, thread_pool& pool, amx_copy kind = amx_copy::full,
                                     amx_pages pages = amx_pages::small);

// Bytes of an amx_arena a copy of w takes: amx_repacked_bytes(w, kind) rounded up to 4 KiB.
size_t amx_arena_bytes(const matrix_view& w, amx_copy kind);

// As above, but the copy is written into the next amx_arena_bytes(w, kind) of `arena`,
// which must outlive it; huge_bytes() of the copy is its bytes when the arena's are huge.
// Errors: as above; resource_exhausted when the arena has no room left for it.
result<amx_packed_matrix> amx_repack(const matrix_view& w, thread_pool& pool, amx_copy kind, amx_arena& arena);

}  // namespace r1::kernels
