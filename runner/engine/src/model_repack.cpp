// model::repack_for_amx: which matrices get an AMX copy, within which budget.
#include <chrono>
#include <cstdio>
#include <cstring>

#include "r1/base/log.h"
#include "r1/engine/model.h"
#include "r1/gguf/file.h"
#include "r1/kernels/cpu_features.h"
#include "r1/kernels/quants.h"
#include "weights.h"

namespace r1::engine {
namespace {

struct candidate {
  matrix* m;
  kernels::amx_copy kind;
  bool release;  // drop the original rows from the resident set once the copy exists
};

// The matrices prompt batches multiply with kernels::matmul, layer by layer, then
// the output head's decode panels where its type has them (Q8_0, Q4_K, Q6_K): decode
// streams them (kernels/matmul.h), and the head is a sixth to a fifth of a 1.5B
// model's bytes per token, while a prompt multiplies it with one token only.
//
// Q4_K and Q6_K layers get their decode panels alone, as the head does: their
// prompts unpack the mapped rows into tiles at least as fast as they read the A
// panels of a full copy (2.1 bytes a weight from DRAM against 0.56-0.82), so the A
// panels cost 2.6 GiB and 0.5-3 s of load for the 1.5B Q4_K_M and bought nothing
// (bench/RESULTS.md, "K-quant copies without A panels").
kernels::amx_copy layer_copy(const kernels::matrix_view& v) {
  return v.type == tensor_type::q4_k || v.type == tensor_type::q6_k ? kernels::amx_copy::decode
                                                                     : kernels::amx_copy::full;
}

std::vector<candidate> repack_candidates(weights& w) {
  std::vector<candidate> out;
  for (layer_weights& l : w.layers) {
    for (matrix* m : {&l.wq, &l.wk, &l.wv, &l.wo, &l.ffn_gate, &l.ffn_up, &l.ffn_down, &l.wq_a, &l.wq_b,
                      &l.wkv_a_mqa, &l.wkv_b, &l.ffn_gate_shexp, &l.ffn_up_shexp, &l.ffn_down_shexp}) {
      if (!*m) continue;
      const kernels::amx_copy kind = layer_copy(m->view);
      // A layer's prompts read the original rows beside decode panels alone.
      if (kernels::amx_repacked_bytes(m->view, kind) > 0) out.push_back({m, kind, kind == kernels::amx_copy::full});
    }
  }
  // The head's rare prompt batch of all logits faults its pages back in from the file.
  if (w.output && kernels::amx_repacked_bytes(w.output.view, kernels::amx_copy::decode) > 0)
    out.push_back({&w.output, kernels::amx_copy::decode, true});
  return out;
}

// Copies with decode panels share one arena (kernels::amx_arena: all on huge pages,
// in reading order); A panels alone (Q4_0, Q5_K) keep mappings of their own on small
// pages, as prompts reuse each of their tiles many times.
bool in_arena(const candidate& c) { return kernels::amx_repacked_bytes(c.m->view, kernels::amx_copy::decode) > 0; }

uint64_t mem_available() {
  std::FILE* f = std::fopen("/proc/meminfo", "r");
  if (f == nullptr) return 0;
  char line[256];
  uint64_t kb = 0;
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, "MemAvailable:", 13) == 0) kb = std::strtoull(line + 13, nullptr, 10);
  }
  std::fclose(f);
  return kb * 1024;
}

// Half of what is available once the mapped weights are resident: the rest is left
// for the KV cache, scratch and everything else on the machine.
uint64_t auto_budget(uint64_t mapped_bytes) {
  const uint64_t avail = mem_available();
  return avail > mapped_bytes ? (avail - mapped_bytes) / 2 : 0;
}

// Bytes of w's rows in the file.
uint64_t matrix_bytes(const kernels::matrix_view& w) {
  const size_t stride = w.row_stride_bytes ? w.row_stride_bytes : kernels::row_size(w.type, w.cols);
  return static_cast<uint64_t>(stride) * static_cast<uint64_t>(w.rows);
}

// Drops the pages of w's original rows from the resident set (they stay readable,
// e.g. a tied output head's rows as embeddings); returns their bytes.
uint64_t release_original(const std::vector<const gguf::file*>& files, const kernels::matrix_view& w) {
  const auto* p = static_cast<const uint8_t*>(w.data);
  const uint64_t n = matrix_bytes(w);
  for (const gguf::file* f : files) {
    if (p >= f->bytes() && p + n <= f->bytes() + f->file_size()) {
      f->release_pages(p, n);
      return n;
    }
  }
  return 0;
}

}  // namespace

result<repack_mode> parse_repack_mode(std::string_view name) {
  if (name == "off") return repack_mode::off;
  if (name == "on") return repack_mode::on;
  if (name == "auto") return repack_mode::automatic;
  return invalid_argument("repack mode '" + std::string(name) + "' is not one of auto, on, off");
}

const char* repack_mode_name(repack_mode m) {
  switch (m) {
    case repack_mode::off: return "off";
    case repack_mode::on: return "on";
    case repack_mode::automatic: return "auto";
  }
  return "?";
}

result<repack_report> model::repack_for_amx(const repack_options& o) {
  if (!w_->amx_copies.empty()) return invalid_argument("the weights of this model are already repacked");
  const auto t0 = std::chrono::steady_clock::now();
  repack_report r;
  r.mode = o.mode;
  r.amx = kernels::active_kernel_path() == kernels::kernel_path::amx;
  std::vector<candidate> ms = r.amx ? repack_candidates(*w_) : std::vector<candidate>{};
  r.eligible = static_cast<uint32_t>(ms.size());
  for (const candidate& c : ms) r.eligible_bytes += kernels::amx_repacked_bytes(c.m->view, c.kind);
  if (o.mode == repack_mode::automatic) r.budget_bytes = o.budget_bytes ? o.budget_bytes : auto_budget(info_.weights_bytes);
  if (o.mode != repack_mode::off && !ms.empty()) {
    // In order, each matrix that fits the budget.
    std::vector<candidate> chosen;
    uint64_t planned = 0;
    size_t arena_bytes = 0;
    for (const candidate& c : ms) {
      const uint64_t need = kernels::amx_repacked_bytes(c.m->view, c.kind);
      if (o.mode == repack_mode::automatic && planned + need > r.budget_bytes) continue;
      planned += need;
      chosen.push_back(c);
      if (in_arena(c)) arena_bytes += kernels::amx_arena_bytes(c.m->view, c.kind);
    }
    const kernels::amx_pages pages = o.huge_pages ? kernels::amx_pages::huge : kernels::amx_pages::small;
    if (arena_bytes > 0) {
      auto arena = kernels::amx_arena::map(arena_bytes, pages);
      if (arena.ok()) w_->amx_arena = std::move(*arena);
      else R1_LOG(warn, "engine") << arena.error().message() << "; each copy gets a mapping of its own";
    }
    kernels::thread_pool pool(o.n_threads);
    for (const candidate& c : chosen) {
      const auto& [m, kind, release] = c;
      auto copy = w_->amx_arena && in_arena(c) ? kernels::amx_repack(m->view, pool, kind, w_->amx_arena)
                                               : kernels::amx_repack(m->view, pool, kind, pages);
      if (!copy.ok()) {
        if (o.mode == repack_mode::on) return copy.error().with_context("repacking " + m->name);
        continue;
      }
      m->view.amx_packed = copy->data();
      m->view.amx_decode_only = copy->decode_only();
      // Nothing on the amx path reads the original rows any more.
      if (release && kernels::amx_copy_serves_every_matmul(m->view))
        r.released_bytes += release_original(gguf_files(), m->view);
      r.bytes += copy->bytes();
      r.huge_bytes += copy->huge_bytes();
      ++r.repacked;
      w_->amx_copies.push_back(std::move(*copy));
    }
    link_decode_streams(*w_);
  }
  r.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (r.amx) {
    R1_LOG(info, "engine") << "amx repack (" << repack_mode_name(o.mode) << "): " << r.repacked << " of " << r.eligible
                           << " matrices, " << (r.bytes >> 20) << " of " << (r.eligible_bytes >> 20) << " MiB"
                           << (o.mode == repack_mode::automatic ? ", budget " + std::to_string(r.budget_bytes >> 20) + " MiB" : "")
                           << (r.released_bytes ? ", " + std::to_string(r.released_bytes >> 20) + " MiB of originals released" : "")
                           << (r.huge_bytes ? ", " + std::to_string(r.huge_bytes >> 20) + " MiB of decode panels on huge pages" : "")
                           << ", " << r.ms << " ms";
  }
  repack_ = r;
  return r;
}

}  // namespace r1::engine
