// Persistent workers: a generation counter starts a run, an atomic task counter
// hands out tasks, a busy counter is the barrier. Waiters spin a little (runs
// come back to back during a forward pass) and then sleep on the atomic.
#include "r1/kernels/thread_pool.h"

#include <immintrin.h>

#include "r1/kernels/cpu_features.h"

namespace r1::kernels {
namespace {
constexpr int k_spin_rounds = 4000;

inline void cpu_relax() { _mm_pause(); }
}  // namespace

thread_pool::thread_pool(int n_threads) {
  n_threads_ = n_threads > 0 ? n_threads : detect_cpu_features().physical_cores;
  if (n_threads_ < 1) n_threads_ = 1;
  workers_.reserve(static_cast<size_t>(n_threads_ - 1));
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_main(i); });
}

thread_pool::~thread_pool() {
  stop_.store(true, std::memory_order_seq_cst);
  generation_.fetch_add(1, std::memory_order_seq_cst);
  generation_.notify_all();
  for (auto& t : workers_) t.join();
}

void thread_pool::work(int thread_index) {
  for (;;) {
    const int t = next_task_.fetch_add(1, std::memory_order_relaxed);
    if (t >= n_tasks_) return;
    (*fn_)(t, thread_index);
  }
}

void thread_pool::worker_main(int index) {
  uint32_t seen = 0;
  for (;;) {
    uint32_t g = generation_.load(std::memory_order_acquire);
    for (int spin = 0; g == seen && spin < k_spin_rounds; ++spin) {
      cpu_relax();
      g = generation_.load(std::memory_order_acquire);
    }
    while (g == seen) {
      generation_.wait(seen, std::memory_order_acquire);
      g = generation_.load(std::memory_order_acquire);
    }
    seen = g;
    if (stop_.load(std::memory_order_acquire)) return;
    work(index);
    if (busy_workers_.fetch_sub(1, std::memory_order_acq_rel) == 1) busy_workers_.notify_one();
  }
}

void thread_pool::run(int n_tasks, const std::function<void(int, int)>& fn) {
  if (n_tasks <= 0) return;
  if (n_threads_ == 1 || n_tasks == 1) {
    for (int t = 0; t < n_tasks; ++t) fn(t, 0);
    return;
  }
  fn_ = &fn;
  n_tasks_ = n_tasks;
  next_task_.store(0, std::memory_order_relaxed);
  busy_workers_.store(n_threads_ - 1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  work(0);
  int busy = busy_workers_.load(std::memory_order_acquire);
  for (int spin = 0; busy != 0 && spin < k_spin_rounds; ++spin) {
    cpu_relax();
    busy = busy_workers_.load(std::memory_order_acquire);
  }
  while (busy != 0) {
    busy_workers_.wait(busy, std::memory_order_acquire);
    busy = busy_workers_.load(std::memory_order_acquire);
  }
  fn_ = nullptr;
}

}  // namespace r1::kernels
