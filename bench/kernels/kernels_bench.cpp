// CPU kernel benchmark: memory read bandwidth (the decode roofline), matvec
// throughput in GB/s of weight bytes per type and kernel path, and batched
// matmul GFLOP/s. Plain timing loops; prints a Markdown table.
//
//   kernels_bench [--size-mb N] [--threads N] [--quick] [--skip-scalar] [--gemm-only] [--decode-only]
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "r1/kernels/cpu.h"

namespace {
using namespace r1;
using namespace r1::kernels;
using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

struct rng64 {
  uint64_t s = 0x9e3779b97f4a7c15ull;
  uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
};

// Offsets of the fp16 scale fields inside one block, so random bytes decode to
// finite, moderate values.
std::vector<int> scale_offsets(tensor_type t) {
  switch (t) {
    case tensor_type::q4_0: case tensor_type::q5_0: case tensor_type::q8_0: return {0};
    case tensor_type::q4_1: case tensor_type::q5_1: case tensor_type::q4_k: case tensor_type::q5_k: return {0, 2};
    case tensor_type::q2_k: return {80, 82};
    case tensor_type::q3_k: return {108};
    case tensor_type::q6_k: return {208};
    default: return {};
  }
}

void fill_weights(tensor_type t, uint8_t* p, size_t bytes, thread_pool& pool) {
  const auto& info = type_info(t);
  const size_t nb = bytes / info.block_bytes;
  const uint16_t small_half = fp32_to_fp16(0.01f);
  const auto offsets = scale_offsets(t);
  const int parts = pool.size() * 4;
  pool.run(parts, [&](int part, int) {
    rng64 r{0x1234567ull + static_cast<uint64_t>(part) * 7919};
    const size_t b0 = nb * static_cast<size_t>(part) / parts, b1 = nb * static_cast<size_t>(part + 1) / parts;
    uint8_t* q = p + b0 * info.block_bytes;
    if (t == tensor_type::f32) {
      auto* f = reinterpret_cast<float*>(q);
      for (size_t i = 0; i < b1 - b0; ++i) f[i] = static_cast<float>(static_cast<int>(r.next() % 2001) - 1000) * 1e-3f;
      return;
    }
    if (t == tensor_type::f16 || t == tensor_type::bf16) {
      auto* h = reinterpret_cast<uint16_t*>(q);
      for (size_t i = 0; i < b1 - b0; ++i) {
        const float v = static_cast<float>(static_cast<int>(r.next() % 2001) - 1000) * 1e-3f;
        h[i] = t == tensor_type::f16 ? fp32_to_fp16(v) : fp32_to_bf16(v);
      }
      return;
    }
    const size_t n = (b1 - b0) * info.block_bytes;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      const uint64_t v = r.next();
      std::memcpy(q + i, &v, 8);
    }
    for (; i < n; ++i) q[i] = static_cast<uint8_t>(r.next());
    for (size_t b = 0; b < b1 - b0; ++b)
      for (int off : offsets) std::memcpy(q + b * info.block_bytes + off, &small_half, 2);
  });
}

// The machine may be shared: a long pass measures our share of the CPU, not the
// kernel. So big buffers are timed in slices of 16 MiB (each still streams from
// DRAM, since the whole buffer is walked between visits) and the 90th-percentile
// slice rate is reported, i.e. the rate while actually running.
constexpr size_t k_slice = 16u << 20;

double p90(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[std::min(v.size() - 1, v.size() * 9 / 10)];
}

double bandwidth_gbs(const uint8_t* p, size_t bytes, thread_pool& pool) {
  return measure_read_bandwidth(p, bytes, 3, pool).p90_gbs;
}

// The roofline r1-runner bench --bandwidth reports: its own buffer, on huge pages.
double huge_bandwidth_gbs(thread_pool& pool) {
  auto r = measure_read_bandwidth(pool);
  return r.ok() ? r->p90_gbs : 0.0;
}

// Matvec over a large matrix, timed per slice of rows (see above). GB/s of weight bytes.
// With `repacked`, each slice reads its amx_repack copy (decode panels where the
// type has them), all in one huge-page arena as the engine places them; GB/s still
// count the original bytes, so the columns compare.
double matvec_gbs(const matrix_view& w, const float* x, float* y, thread_pool& pool, scratch& s,
                  bool repacked = false) {
  const size_t row = row_size(w.type, w.cols);
  const int64_t rows_per_slice = std::max<int64_t>(1, static_cast<int64_t>(k_slice / row));
  std::vector<matrix_view> parts;
  for (int64_t r0 = 0; r0 + rows_per_slice <= w.rows; r0 += rows_per_slice)
    parts.push_back({w.type, rows_per_slice, w.cols, static_cast<const uint8_t*>(w.data) + r0 * row, row});
  amx_arena arena;
  if (repacked) {
    size_t bytes = 0;
    for (const matrix_view& part : parts) bytes += amx_arena_bytes(part, amx_copy::full);
    auto a = amx_arena::map(bytes, amx_pages::huge);
    if (!a.ok()) return 0;
    arena = std::move(*a);
  }
  std::vector<amx_packed_matrix> copies;
  for (matrix_view& part : parts) {
    if (!repacked) continue;
    auto copy = amx_repack(part, pool, amx_copy::full, arena);
    if (!copy.ok()) return 0;
    part.amx_packed = copy->data();
    copies.push_back(std::move(*copy));
  }
  std::vector<double> rates;
  for (int rep = 0; rep < 2; ++rep) {
    for (size_t i = 0; i < parts.size(); ++i) {
      const matrix_view& part = parts[i];
      const int64_t r0 = static_cast<int64_t>(i) * rows_per_slice;
      const auto t0 = clock_type::now();
      matmul(part, x, 1, w.cols, y + r0, rows_per_slice, pool, s);
      rates.push_back(static_cast<double>(rows_per_slice) * static_cast<double>(row) / seconds_since(t0) / 1e9);
    }
  }
  return p90(rates);
}

// Median-free but robust enough: best of several timed repetitions.
template <typename F>
double best_seconds(F&& f, double min_total = 0.4, int min_reps = 3) {
  double best = 1e30, total = 0;
  for (int rep = 0; rep < min_reps || total < min_total; ++rep) {
    const auto t0 = clock_type::now();
    f();
    const double s = seconds_since(t0);
    best = std::min(best, s);
    total += s;
    if (rep > 50) break;
  }
  return best;
}

struct options {
  size_t size_mb = 1024;
  int threads = 0;
  bool quick = false;
  bool skip_scalar = false;
  bool gemm_only = false;
  bool decode_only = false;
  bool decode_in_cache = false;
};

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Best wall time and best CPU time (all threads of the process) of several runs.
struct timing {
  double wall = 1e30, cpu = 1e30;
};
template <typename F>
timing best_timing(F&& f, double min_total, int min_reps) {
  timing t;
  double total = 0;
  for (int rep = 0; rep < min_reps || total < min_total; ++rep) {
    const auto t0 = clock_type::now();
    const double c0 = process_cpu_seconds();
    f();
    const double wall = seconds_since(t0), cpu = process_cpu_seconds() - c0;
    t.wall = std::min(t.wall, wall);
    t.cpu = std::min(t.cpu, cpu);
    total += wall;
    if (rep > 50) break;
  }
  return t;
}

// Prompt GEMM on the 1.5B model's shapes (rows x cols = out x in), 512 columns:
// the amx path against the avx512 (VNNI 4-column) kernels, GFLOP/s of wall time
// and per CPU-second (the figure that survives a shared machine), 1 and n threads.
void gemm_section(const options& opt, int n_threads, const float* x, int64_t x_cols) {
  if (!kernel_path_supported(kernel_path::amx)) {
    std::printf("\n## Prompt GEMM: amx path not available on this CPU\n");
    return;
  }
  const int64_t n_cols = opt.quick ? 128 : 512;
  std::printf("\n## Prompt GEMM (%lld columns): GFLOP/s wall / per CPU-second, amx vs avx512\n\n",
              static_cast<long long>(n_cols));
  std::printf("| type | rows x cols | threads | avx512 | amx | amx / avx512 (CPU-s) | amx repacked | repacked / amx (CPU-s) | "
              "repacked, int8 from Q8_0 activations |\n"
              "|---|---|---|---|---|---|---|---|---|\n");
  const int64_t shapes[3][2] = {{1536, 1536}, {8960, 1536}, {1536, 8960}};
  for (tensor_type t : {tensor_type::q4_k, tensor_type::q6_k, tensor_type::q5_k, tensor_type::q8_0, tensor_type::q4_0}) {
    for (const auto& sh : shapes) {
      const int64_t rows = sh[0], cols = sh[1];
      if (cols > x_cols) continue;
      std::vector<uint8_t> wbuf(static_cast<size_t>(rows) * row_size(t, cols));
      thread_pool fill_pool(n_threads);
      fill_weights(t, wbuf.data(), wbuf.size(), fill_pool);
      const matrix_view w{t, rows, cols, wbuf.data(), 0};
      std::vector<float> y(static_cast<size_t>(rows * n_cols));
      for (int threads : {1, n_threads}) {
        thread_pool pool(threads);
        scratch s;
        timing tm[3];
        const char* paths[2] = {"avx512", "amx"};
        for (int k = 0; k < 2; ++k) {
          if (!set_kernel_path(paths[k]).ok()) return;
          tm[k] = best_timing([&] { matmul(w, x, n_cols, x_cols, y.data(), rows, pool, s); }, 0.5, 3);
        }
        // The same amx path reading a copy repacked once (amx_packed_matrix.h).
        auto packed = amx_repack(w, pool);
        if (!packed.ok()) return;
        matrix_view pw = w;
        pw.amx_packed = packed->data();
        tm[2] = best_timing([&] { matmul(pw, x, n_cols, x_cols, y.data(), rows, pool, s); }, 0.5, 3);
        const double gf = 2.0 * static_cast<double>(rows * cols * n_cols) / 1e9;
        // Where matmul takes Q8_0 prompts to AMX-BF16, the integer GEMM of the same
        // copy (activations quantized beforehand, as a caller sharing them does).
        std::string int8 = "-";
        if (matmul_takes_float(pw, n_cols)) {
          const tensor_type vt = vec_dot_type(t);
          std::vector<uint8_t> xq(row_size(vt, cols) * static_cast<size_t>(n_cols));
          quantize_columns(vt, x, n_cols, x_cols, cols, xq.data(), pool);
          const timing q = best_timing(
              [&] { matmul_quantized(pw, xq.data(), n_cols, row_size(vt, cols), y.data(), rows, pool); }, 0.5, 3);
          char buf[64];
          std::snprintf(buf, sizeof(buf), "%.0f / %.0f", gf / q.wall, gf / q.cpu);
          int8 = buf;
        }
        std::printf("| %s | %lld x %lld | %d | %.0f / %.0f | %.0f / %.0f | %.2f | %.0f / %.0f | %.2f | %s |\n",
                    std::string(type_info(t).name).c_str(), static_cast<long long>(rows), static_cast<long long>(cols),
                    threads, gf / tm[0].wall, gf / tm[0].cpu, gf / tm[1].wall, gf / tm[1].cpu, tm[0].cpu / tm[1].cpu,
                    gf / tm[2].wall, gf / tm[2].cpu, tm[1].cpu / tm[2].cpu, int8.c_str());
        std::fflush(stdout);
        if (n_threads == 1) break;
      }
    }
  }
}

// Columns at which the amx path overtakes the avx512 kernels (Q4_K 1536 x 1536, 1 thread).
void crossover_section(const float* x, int64_t x_cols) {
  if (!kernel_path_supported(kernel_path::amx)) return;
  std::printf("\n## AMX crossover: Q4_K and Q6_K 1536 x 1536, 1 thread, CPU ms of the best run\n\n");
  std::printf("| type | columns | avx512 ms | amx ms |\n|---|---|---|---|\n");
  for (tensor_type t : {tensor_type::q4_k, tensor_type::q6_k}) {
    const int64_t rows = 1536, cols = 1536;
    std::vector<uint8_t> wbuf(static_cast<size_t>(rows) * row_size(t, cols));
    thread_pool pool(1);
    fill_weights(t, wbuf.data(), wbuf.size(), pool);
    const matrix_view w{t, rows, cols, wbuf.data(), 0};
    std::vector<float> y(static_cast<size_t>(rows * 64));
    scratch s;
    const int64_t saved = amx_min_cols();
    set_amx_min_cols(1);  // time the AMX kernels at every width
    for (int64_t nc : {4, 8, 12, 16, 24, 32, 64}) {
      if (cols > x_cols) break;
      double ms[2];
      const char* paths[2] = {"avx512", "amx"};
      for (int k = 0; k < 2; ++k) {
        if (!set_kernel_path(paths[k]).ok()) return;
        ms[k] = 1e3 * best_timing([&] { matmul(w, x, nc, x_cols, y.data(), rows, pool, s); }, 0.2, 3).cpu;
      }
      std::printf("| %s | %lld | %.3f | %.3f |\n", std::string(type_info(t).name).c_str(), static_cast<long long>(nc),
                  ms[0], ms[1]);
    }
    set_amx_min_cols(saved);
  }
}

// Decode matvec on the 1.5B model's row lengths (1536: attention and FFN up/gate;
// 8960: FFN down) for the formats of the Q8_0 and Q4_K_M models: GB/s of weight
// bytes as the p90 of 16 MiB row slices (wall) and as bytes per CPU-second of the
// whole walk (the figure that survives a shared machine), 1 and n threads.
void decode_section(const options& opt, int n_threads, uint8_t* base, size_t bytes, thread_pool& pool) {
  std::printf("## Decode matvec (path %s): GB/s of weight bytes, %zu MiB matrix, wall p90 / per CPU-second\n\n",
              kernel_path_name(), opt.size_mb);
  std::printf("| type | cols | 1 thread | %d threads | %d threads, decode panels |\n|---|---|---|---|---|\n", n_threads,
              n_threads);
  std::vector<float> x(8960);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 7919) % 2001) * 1e-3f - 1.0f;
  scratch s;
  for (tensor_type t : {tensor_type::q8_0, tensor_type::q4_0, tensor_type::q4_k, tensor_type::q6_k}) {
    for (int64_t cols : {int64_t{1536}, int64_t{8960}}) {
      const size_t row = row_size(t, cols);
      const int64_t rows = static_cast<int64_t>(bytes / row);
      fill_weights(t, base, static_cast<size_t>(rows) * row, pool);
      const matrix_view w{t, rows, cols, base, 0};
      std::vector<float> y(static_cast<size_t>(rows));
      double wall[2], per_cpu[2];
      for (int k = 0; k < 2; ++k) {
        thread_pool p(k == 0 ? 1 : n_threads);
        const double c0 = process_cpu_seconds();
        wall[k] = matvec_gbs(w, x.data(), y.data(), p, s);
        // matvec_gbs walks the whole matrix twice.
        per_cpu[k] = 2.0 * static_cast<double>(rows) * static_cast<double>(row) / (process_cpu_seconds() - c0) / 1e9;
      }
      std::string panels = "-";
      if (amx_repack_useful(w) && amx_copy_serves_every_matmul(w)) {
        thread_pool p(n_threads);
        panels = std::to_string(matvec_gbs(w, x.data(), y.data(), p, s, true)).substr(0, 5);
      }
      std::printf("| %s | %lld | %.1f / %.1f | %.1f / %.1f | %s |\n", std::string(type_info(t).name).c_str(),
                  static_cast<long long>(cols), wall[0], per_cpu[0], wall[1], per_cpu[1], panels.c_str());
      std::fflush(stdout);
    }
  }
}

// The decode kernels' compute ceiling: one thread walks a decode-panel copy of about
// 1 MiB, which stays in its L2, again and again. Set beside the walk of a large matrix,
// it says whether decode waits on memory or on the kernel's own arithmetic.
void decode_in_cache_section() {
  std::printf("## Decode matvec in L2 (1 thread, decode panels): GB/s of weight bytes\n\n");
  std::printf("| type | cols | rows | GB/s |\n|---|---|---|---|\n");
  thread_pool one(1);
  scratch s;
  std::vector<float> x(8960);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 7919) % 2001) * 1e-3f - 1.0f;
  for (tensor_type t : {tensor_type::q8_0, tensor_type::q4_k, tensor_type::q6_k}) {
    for (int64_t cols : {int64_t{1536}, int64_t{8960}}) {
      const size_t row = row_size(t, cols);
      const int64_t rows = std::max<int64_t>(128, static_cast<int64_t>((size_t{1} << 20) / row) / 64 * 64);
      std::vector<uint8_t> wbuf(static_cast<size_t>(rows) * row);
      fill_weights(t, wbuf.data(), wbuf.size(), one);
      matrix_view w{t, rows, cols, wbuf.data(), 0};
      if (!amx_repack_useful(w) || !amx_copy_serves_every_matmul(w)) continue;
      auto copy = amx_repack(w, one);
      if (!copy.ok()) continue;
      w.amx_packed = copy->data();
      std::vector<float> y(static_cast<size_t>(rows));
      const int reps = 64;
      const double sec = best_seconds([&] {
        for (int r = 0; r < reps; ++r) matmul(w, x.data(), 1, cols, y.data(), rows, one, s);
      }, 0.3, 3);
      std::printf("| %s | %lld | %lld | %.1f |\n", std::string(type_info(t).name).c_str(), static_cast<long long>(cols),
                  static_cast<long long>(rows), reps * static_cast<double>(wbuf.size()) / sec / 1e9);
      std::fflush(stdout);
    }
  }
  std::printf("\n");
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--size-mb" && i + 1 < argc) o.size_mb = std::strtoul(argv[++i], nullptr, 10);
    else if (a == "--threads" && i + 1 < argc) o.threads = std::atoi(argv[++i]);
    else if (a == "--quick") o.quick = true;
    else if (a == "--skip-scalar") o.skip_scalar = true;
    else if (a == "--gemm-only") o.gemm_only = true;
    else if (a == "--decode-only") o.decode_only = true;
    else if (a == "--decode-in-cache") o.decode_in_cache = true;
    else {
      std::fprintf(stderr, "usage: kernels_bench [--size-mb N] [--threads N] [--quick] [--skip-scalar] [--gemm-only] [--decode-only] [--decode-in-cache]\n");
      std::exit(2);
    }
  }
  if (o.quick) o.size_mb = std::min<size_t>(o.size_mb, 64);
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const options opt = parse(argc, argv);
  const auto& f = detect_cpu_features();
  const int n_threads = opt.threads > 0 ? opt.threads : f.physical_cores;
  std::printf("# CPU kernels benchmark\n\ncpus: %d logical, %d physical; avx2 %d, avx512f %d, avx512vnni %d, "
              "avx512bf16 %d; threads %d; weight buffer %zu MiB\n\n",
              f.logical_cpus, f.physical_cores, f.avx2, f.avx512f, f.avx512vnni, f.avx512bf16, n_threads,
              opt.size_mb);
  if (opt.decode_in_cache) {
    decode_in_cache_section();
    return 0;
  }
  if (opt.gemm_only) {
    const int64_t x_cols = 8960;
    std::vector<float> xg(static_cast<size_t>(x_cols) * 512);
    for (size_t i = 0; i < xg.size(); ++i) xg[i] = static_cast<float>((i * 7919) % 2001) * 1e-3f - 1.0f;
    gemm_section(opt, n_threads, xg.data(), x_cols);
    crossover_section(xg.data(), x_cols);
    (void)set_kernel_path("auto");
    return 0;
  }
  thread_pool pool(n_threads), single(1);
  const size_t bytes = opt.size_mb << 20;
  std::vector<uint8_t> buf(bytes + 64);
  uint8_t* base = buf.data();
  fill_weights(tensor_type::q8_0, base, bytes, pool);
  if (opt.decode_only) {
    std::printf("read bandwidth p90: 1 thread %.1f GB/s, %d threads %.1f GB/s; on huge pages (as the decode panels "
                "are read) %.1f GB/s\n\n",
                bandwidth_gbs(base, bytes, single), n_threads, bandwidth_gbs(base, bytes, pool), huge_bandwidth_gbs(pool));
    decode_section(opt, n_threads, base, bytes, pool);
    return 0;
  }

  std::printf("## Memory read bandwidth (p90 of 16 MiB slices)\n\n| threads | GB/s |\n|---|---|\n");
  std::printf("| 1 | %.1f |\n", bandwidth_gbs(base, bytes, single));
  if (n_threads > 1) std::printf("| %d | %.1f |\n", n_threads, bandwidth_gbs(base, bytes, pool));

  std::printf("\n## Matvec (decode): GB/s of weight bytes, %zu MiB matrix, cols 4096, p90 of 16 MiB row slices\n\n", opt.size_mb);
  std::printf("| type | path | 1 thread | %d threads |\n|---|---|---|---|\n", n_threads);
  const tensor_type types[] = {tensor_type::f32,  tensor_type::f16,  tensor_type::bf16, tensor_type::q8_0,
                               tensor_type::q4_0, tensor_type::q4_1, tensor_type::q5_0, tensor_type::q5_1,
                               tensor_type::q2_k, tensor_type::q3_k, tensor_type::q4_k, tensor_type::q5_k,
                               tensor_type::q6_k};
  const int64_t cols = 4096;
  std::vector<float> x(static_cast<size_t>(cols) * 512);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 7919) % 2001) * 1e-3f - 1.0f;
  scratch s;
  for (tensor_type t : types) {
    const size_t row = row_size(t, cols);
    const int64_t rows = static_cast<int64_t>(bytes / row);
    fill_weights(t, base, static_cast<size_t>(rows) * row, pool);
    const matrix_view w{t, rows, cols, base, 0};
    std::vector<float> y(static_cast<size_t>(rows));
    for (kernel_path p : {kernel_path::scalar, kernel_path::avx2, kernel_path::avx512}) {
      if (!kernel_path_supported(p) || (opt.skip_scalar && p == kernel_path::scalar)) continue;
      if (!set_kernel_path(kernel_path_name(p)).ok()) continue;
      const double g1 = matvec_gbs(w, x.data(), y.data(), single, s);
      const double gn = matvec_gbs(w, x.data(), y.data(), pool, s);
      std::printf("| %s | %s | %.1f | %.1f |\n", std::string(type_info(t).name).c_str(), kernel_path_name(p), g1, gn);
      std::fflush(stdout);
    }
  }

  std::printf("\n## Batched matmul (prompt): GFLOP/s, 4096 x 4096 weights, %d threads\n\n", n_threads);
  std::printf("| type | path | 16 cols | 128 cols |\n|---|---|---|---|\n");
  for (tensor_type t : {tensor_type::f16, tensor_type::q8_0, tensor_type::q4_0, tensor_type::q4_k, tensor_type::q5_k,
                        tensor_type::q6_k}) {
    const int64_t rows = 4096;
    std::vector<uint8_t> wbuf(static_cast<size_t>(rows) * row_size(t, cols));
    fill_weights(t, wbuf.data(), wbuf.size(), pool);
    const matrix_view w{t, rows, cols, wbuf.data(), 0};
    std::vector<float> y(static_cast<size_t>(rows) * 128);
    for (kernel_path p : {kernel_path::scalar, kernel_path::avx2, kernel_path::avx512}) {
      if (!kernel_path_supported(p) || !set_kernel_path(kernel_path_name(p)).ok()) continue;
      double g[2];
      const int64_t ncs[2] = {16, opt.quick ? 32 : 128};
      for (int k = 0; k < 2; ++k) {
        const int64_t nc = p == kernel_path::scalar ? 16 : ncs[k];
        const double sec = best_seconds([&] { matmul(w, x.data(), nc, cols, y.data(), rows, pool, s); }, 0.3, 2);
        g[k] = 2.0 * rows * cols * nc / sec / 1e9;
      }
      std::printf("| %s | %s | %.1f | %.1f%s |\n", std::string(type_info(t).name).c_str(), kernel_path_name(p), g[0],
                  g[1], p == kernel_path::scalar ? " (16)" : "");
      std::fflush(stdout);
    }
  }
  (void)set_kernel_path("auto");
  return 0;
}
