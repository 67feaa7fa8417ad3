// A persistent pool of worker threads for the CPU kernels.
//
// run(n_tasks, fn) calls fn(task, thread) once for each task in [0, n_tasks),
// spread over the workers and the calling thread (thread 0) through a shared
// atomic counter, and returns when all tasks are done. Workers spin briefly
// between runs and then sleep, so back-to-back kernels are cheap and an idle
// pool costs nothing. Threads are created in the constructor, joined in the
// destructor. run() must not be called concurrently or recursively from fn.
//
// run_contiguous(n_tasks, fn) gives each thread a contiguous share of the tasks
// and runs its own share in ascending order, so a kernel streaming consecutive
// tasks' bytes reads one sequential stream per thread; a thread done with its
// share takes tasks from the end of the share with the most left, so a thread
// held up (a busy machine) does not hold up the run.
//
// set_idle_prefetch(p, n) names bytes a coming run will read (the next weight
// matrix of a decode): a thread waiting for work or at a run's end prefetches them,
// 1 KiB at a time, so that the memory keeps streaming through the serial steps and
// the last task of each run. Only a hint: nothing is read architecturally, and a
// prefetch of memory that is gone by then never faults.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

namespace r1::kernels {

class thread_pool {
 public:
  // n_threads <= 0: detect_cpu_features().physical_cores. Total threads including the caller.
  explicit thread_pool(int n_threads = 0);
  ~thread_pool();
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;

  // Number of threads that execute tasks (workers + the caller).
  int size() const { return n_threads_; }

  // Runs fn(task, thread_index) for every task; thread_index < size().
  void run(int n_tasks, const std::function<void(int task, int thread)>& fn);

  // As run(), the tasks split into contiguous per-thread shares (see above).
  void run_contiguous(int n_tasks, const std::function<void(int task, int thread)>& fn);

  // Replaces the bytes waiting threads prefetch (see above); (nullptr, 0) clears them.
  void set_idle_prefetch(const void* p, size_t n);
  // Bytes of the last set_idle_prefetch that no thread has prefetched yet.
  size_t idle_prefetch_left() const;

 private:
  // One thread's share: the next task to run (high half) and the end (low half).
  struct alignas(64) share {
    std::atomic<uint64_t> range{0};
  };

  void start(int n_tasks, const std::function<void(int, int)>& fn, bool contiguous);
  void worker_main(int index);
  void work(int thread_index);
  void work_contiguous(int thread_index);
  bool take(int share_index, bool from_back, int* task);
  bool prefetch_idle_chunk();

  int n_threads_ = 1;
  std::vector<std::thread> workers_;
  const std::function<void(int, int)>* fn_ = nullptr;
  int n_tasks_ = 0;
  std::atomic<int> next_task_{0};
  bool contiguous_ = false;
  std::vector<share> shares_;
  std::atomic<int> busy_workers_{0};
  std::atomic<uint32_t> generation_{0};
  std::atomic<bool> stop_{false};
  // The idle prefetch: the next 1 KiB to prefetch and the end.
  std::atomic<uintptr_t> idle_next_{0};
  std::atomic<uintptr_t> idle_end_{0};
};

}  // namespace r1::kernels
