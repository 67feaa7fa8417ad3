// Test helper: pulls one model into a store, so a test can kill it mid-pull.
//   registry_pull_helper <store-dir> <model-name> [bandwidth-bytes-per-second]
#include <cstdio>
#include <cstdlib>

#include "r1/registry/registry_client.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s <store-dir> <model-name> [bytes-per-second]\n", argv[0]);
    return 2;
  }
  auto store = r1::registry::model_store::open(argv[1]);
  auto name = r1::registry::model_name::parse(argv[2]);
  if (!store.ok() || !name.ok()) {
    std::fprintf(stderr, "bad arguments\n");
    return 2;
  }
  r1::registry::client_options o;
  o.min_part_bytes = 4 << 20;
  if (argc > 3) o.bandwidth_limit_bytes_per_s = std::strtoull(argv[3], nullptr, 10);
  r1::registry::registry_client client(**store, o);
  auto m = client.pull(*name, [](const r1::registry::progress_event& e) {
    std::printf("%s %llu/%llu\n", e.status.c_str(), static_cast<unsigned long long>(e.completed),
                static_cast<unsigned long long>(e.total));
    std::fflush(stdout);
  });
  if (!m.ok()) {
    std::fprintf(stderr, "%s\n", m.error().to_string().c_str());
    return 1;
  }
  return 0;
}
