// Pull throughput against a loopback docker-registry, compared with curl
// fetching the same blob URL in the same run.
//
//   bench_pull [size-MiB=1024] [rounds=3] [parallel-parts=8] [-v]
//
// Each round: `curl -o file <blob URL>` (one stream, no verification), then
// r1's pull of the whole model into an empty store (parallel ranges, sha256
// verified before commit, fsync, rename). Prints one line per run and the ratio
// of best throughputs (r1 / curl).
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "r1/base/log.h"
#include "r1/base/raii.h"
#include "r1/registry/registry_client.h"
#include "r1/test_support/registry_fixture.h"

using namespace r1::registry;
namespace fs = std::filesystem;

namespace {

double cpu_s(int who) {
  rusage u{};
  ::getrusage(who, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void die(const std::string& what) {
  std::fprintf(stderr, "bench_pull: %s\n", what.c_str());
  std::exit(1);
}

// Writes `bytes` of pseudo-random data (incompressible) starting with "GGUF".
void write_random_file(const std::string& path, uint64_t bytes) {
  auto fd = r1::open_fd(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (!fd.ok()) die(fd.error().to_string());
  std::vector<uint64_t> buf(1 << 17);
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (uint64_t done = 0; done < bytes;) {
    for (auto& w : buf) x ^= x << 13, x ^= x >> 7, x ^= x << 17, w = x;
    std::memcpy(buf.data(), "GGUF", done == 0 ? 4 : 0);
    size_t n = static_cast<size_t>(std::min<uint64_t>(bytes - done, buf.size() * 8));
    if (!r1::write_all(fd->get(), buf.data(), n, path).ok()) die("write " + path);
    done += n;
  }
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t mib = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1024;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
  const int parallel = argc > 3 ? std::atoi(argv[3]) : 8;
  const uint64_t size = mib << 20;
  if (argc > 4 && std::string(argv[4]) == "-v") r1::set_log_level(r1::log_level::debug);
  auto reg = r1::test_support::registry_fixture::start();
  if (!reg.ok()) die(reg.error().to_string());
  r1::test_support::temp_dir dir("bench-pull");
  auto src = model_store::open(dir / "src");
  if (!src.ok()) die(src.error().to_string());
  write_random_file(dir / "w.gguf", size);
  auto layer = (*src)->import_local_gguf(dir / "w.gguf");
  if (!layer.ok()) die(layer.error().to_string());
  const model_name name = model_name::parse((*reg)->host() + "/bench/model:v1").value();
  if (!(*src)->create_model(name, {{std::string(media_type::model), "", layer->digest}}).ok()) die("create model");
  registry_client pusher(**src, {});
  if (auto s = pusher.push(name, nullptr); !s.ok()) die(s.to_string());
  const std::string url = (*reg)->url() + "/v2/bench/model/blobs/" + layer->digest;
  std::printf("blob %s, %llu MiB, registry %s\n", layer->digest.c_str(), static_cast<unsigned long long>(mib),
              (*reg)->url().c_str());

  double best_curl = 1e9, best_r1 = 1e9;
  for (int r = 0; r < rounds; ++r) {
    const std::string out = dir / "curl.out";
    const std::string cmd = "curl -sS --fail -o " + out + " " + url;
    double c0 = cpu_s(RUSAGE_CHILDREN);
    double t0 = now_s();
    if (std::system(cmd.c_str()) != 0) die("curl failed: " + cmd);
    double tc = now_s() - t0;
    double curl_cpu = cpu_s(RUSAGE_CHILDREN) - c0;
    fs::remove(out);
    best_curl = std::min(best_curl, tc);

    const std::string dst_dir = dir / ("dst" + std::to_string(r));
    auto dst = model_store::open(dst_dir);
    if (!dst.ok()) die(dst.error().to_string());
    client_options o;
    o.max_parallel_parts = parallel;
    registry_client puller(**dst, o);
    c0 = cpu_s(RUSAGE_SELF);
    t0 = now_s();
    auto m = puller.pull(name, nullptr);
    double tr = now_s() - t0;
    double r1_cpu = cpu_s(RUSAGE_SELF) - c0;
    if (!m.ok()) die(m.error().to_string());
    best_r1 = std::min(best_r1, tr);
    std::printf("round %d: curl %.3f s (%.0f MiB/s, cpu %.2f s)   r1 pull %.3f s (%.0f MiB/s, verified, cpu %.2f s)\n", r,
                tc, mib / tc, curl_cpu, tr, mib / tr, r1_cpu);
    dst->reset();
    fs::remove_all(dst_dir);
  }
  std::printf("best: curl %.0f MiB/s, r1 %.0f MiB/s, ratio r1/curl = %.2f\n", mib / best_curl, mib / best_r1,
              best_curl / best_r1);
  return 0;
}
