#include "backend_test_util.h"

#include <cmath>
#include <cstring>

namespace r1::kernels::testing {

backend_registry& registry() {
  static backend_registry r = make_backend_registry({.cpu_threads = 2});
  return r;
}

device& cpu_device() { return registry().find("cpu")->device_at(0); }

std::vector<device*> gpu_devices() {
  std::vector<device*> out;
  for (device* d : registry().all_devices())
    if (d->info().backend != "cpu") out.push_back(d);
  return out;
}

std::string device_label(const device& d) { return d.info().backend + std::to_string(d.info().index); }

std::vector<float> random_floats(size_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

dev_tensor upload(device& d, const void* data, size_t bytes) {
  auto b = d.alloc(bytes);
  EXPECT_TRUE(b.ok()) << b.error().message();
  dev_tensor t{std::move(b).value()};
  const status s = t.buf->upload(0, data, bytes);
  EXPECT_TRUE(s.ok()) << s.message();
  return t;
}

dev_tensor zeros(device& d, size_t bytes) {
  std::vector<uint8_t> z(bytes, 0);
  return upload(d, z.data(), bytes);
}

std::vector<float> download_floats(const dev_tensor& t, size_t n) {
  std::vector<float> v(n);
  const status s = t.buf->download(0, v.data(), n * 4);
  EXPECT_TRUE(s.ok()) << s.message();
  return v;
}

double nmse(const std::vector<float>& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  return den > 0 ? num / den : num;
}

double nmse(const std::vector<float>& a, const std::vector<float>& b) {
  return nmse(a, std::vector<double>(b.begin(), b.end()));
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(static_cast<double>(a[i]) - b[i]);
    if (std::isnan(d)) return INFINITY;
    m = std::max(m, d);
  }
  return m;
}

}  // namespace r1::kernels::testing
