// Persistent workers: a generation counter starts a run, an atomic task counter
// (or, for run_contiguous, one packed range per thread) hands out tasks, a busy
// counter is the barrier. Waiters spin a little (runs come back to back during a
// forward pass), prefetching the idle range if one is set, and then sleep on the
// atomic.
#include "r1/kernels/thread_pool.h"

#include <immintrin.h>

#include "r1/kernels/cpu_features.h"

namespace r1::kernels {
namespace {
constexpr int k_spin_rounds = 4000;
constexpr uintptr_t k_idle_chunk = 1024;  // prefetched between two looks at the run state

inline void cpu_relax() { _mm_pause(); }
}  // namespace

thread_pool::thread_pool(int n_threads) {
  n_threads_ = n_threads > 0 ? n_threads : detect_cpu_features().physical_cores;
  if (n_threads_ < 1) n_threads_ = 1;
  shares_ = std::vector<share>(static_cast<size_t>(n_threads_));
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

// A share's range packs (next << 32 | end) in one atomic, so its owner taking the
// front and a thief taking the back can never both take the last task.
bool thread_pool::take(int share_index, bool from_back, int* task) {
  std::atomic<uint64_t>& r = shares_[static_cast<size_t>(share_index)].range;
  uint64_t v = r.load(std::memory_order_relaxed);
  for (;;) {
    const uint64_t next = v >> 32, end = v & 0xffffffffu;
    if (next >= end) return false;
    const uint64_t taken = from_back ? next << 32 | (end - 1) : (next + 1) << 32 | end;
    if (r.compare_exchange_weak(v, taken, std::memory_order_relaxed)) {
      *task = static_cast<int>(from_back ? end - 1 : next);
      return true;
    }
  }
}

void thread_pool::work_contiguous(int thread_index) {
  int task = 0;
  while (take(thread_index, false, &task)) (*fn_)(task, thread_index);
  for (;;) {
    int victim = -1;
    uint64_t most = 0;
    for (int i = 0; i < n_threads_; ++i) {
      const uint64_t v = shares_[static_cast<size_t>(i)].range.load(std::memory_order_relaxed);
      const uint64_t next = v >> 32, end = v & 0xffffffffu;
      if (end > next && end - next > most) most = end - next, victim = i;
    }
    if (victim < 0) return;
    if (take(victim, true, &task)) (*fn_)(task, thread_index);
  }
}

void thread_pool::set_idle_prefetch(const void* p, size_t n) {
  const auto begin = reinterpret_cast<uintptr_t>(p);
  idle_end_.store(0, std::memory_order_relaxed);  // no thread starts on a half-set range
  idle_next_.store(begin, std::memory_order_relaxed);
  idle_end_.store(p ? begin + n : 0, std::memory_order_release);
}

size_t thread_pool::idle_prefetch_left() const {
  const uintptr_t end = idle_end_.load(std::memory_order_acquire);
  const uintptr_t next = idle_next_.load(std::memory_order_relaxed);
  return next < end ? end - next : 0;
}

// Prefetches (into L2) the next 1 KiB of the idle range; false when it is all taken.
bool thread_pool::prefetch_idle_chunk() {
  const uintptr_t end = idle_end_.load(std::memory_order_acquire);
  if (idle_next_.load(std::memory_order_relaxed) >= end) return false;
  const uintptr_t at = idle_next_.fetch_add(k_idle_chunk, std::memory_order_relaxed);
  if (at >= end) return false;
  const uintptr_t stop = end - at < k_idle_chunk ? end : at + k_idle_chunk;
  for (uintptr_t a = at; a < stop; a += 64) _mm_prefetch(reinterpret_cast<const char*>(a), _MM_HINT_T1);
  return true;
}

void thread_pool::worker_main(int index) {
  uint32_t seen = 0;
  for (;;) {
    uint32_t g = generation_.load(std::memory_order_acquire);
    for (int spin = 0; g == seen && spin < k_spin_rounds; ++spin) {
      if (!prefetch_idle_chunk()) cpu_relax();
      g = generation_.load(std::memory_order_acquire);
    }
    while (g == seen) {
      generation_.wait(seen, std::memory_order_acquire);
      g = generation_.load(std::memory_order_acquire);
    }
    seen = g;
    if (stop_.load(std::memory_order_acquire)) return;
    if (contiguous_) work_contiguous(index);
    else work(index);
    if (busy_workers_.fetch_sub(1, std::memory_order_acq_rel) == 1) busy_workers_.notify_one();
  }
}

void thread_pool::run(int n_tasks, const std::function<void(int, int)>& fn) { start(n_tasks, fn, false); }

void thread_pool::run_contiguous(int n_tasks, const std::function<void(int, int)>& fn) { start(n_tasks, fn, true); }

void thread_pool::start(int n_tasks, const std::function<void(int, int)>& fn, bool contiguous) {
  if (n_tasks <= 0) return;
  if (n_threads_ == 1 || n_tasks == 1) {
    for (int t = 0; t < n_tasks; ++t) fn(t, 0);
    return;
  }
  fn_ = &fn;
  n_tasks_ = n_tasks;
  contiguous_ = contiguous;
  if (contiguous) {
    for (int i = 0; i < n_threads_; ++i) {
      const auto begin = static_cast<uint64_t>(static_cast<int64_t>(n_tasks) * i / n_threads_);
      const auto end = static_cast<uint64_t>(static_cast<int64_t>(n_tasks) * (i + 1) / n_threads_);
      shares_[static_cast<size_t>(i)].range.store(begin << 32 | end, std::memory_order_relaxed);
    }
  }
  next_task_.store(0, std::memory_order_relaxed);
  busy_workers_.store(n_threads_ - 1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  if (contiguous) work_contiguous(0);
  else work(0);
  int busy = busy_workers_.load(std::memory_order_acquire);
  for (int spin = 0; busy != 0 && spin < k_spin_rounds; ++spin) {
    if (!prefetch_idle_chunk()) cpu_relax();
    busy = busy_workers_.load(std::memory_order_acquire);
  }
  while (busy != 0) {
    busy_workers_.wait(busy, std::memory_order_acquire);
    busy = busy_workers_.load(std::memory_order_acquire);
  }
  fn_ = nullptr;
}

}  // namespace r1::kernels
