// Per-key request rate limits: a token bucket per key, holding up to `per_minute`
// requests and refilled at per_minute / 60 each second (a full minute's worth
// may come in a burst, then requests are spread out).
//
// Thread safety: take() may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>

namespace r1::daemon {

class rate_limiter {
 public:
  using clock = std::chrono::steady_clock;

  struct decision {
    bool allowed = true;
    int retry_after_s = 0;  // whole seconds until a token is back (>= 1 when refused)
  };

  // Takes one token from `key`'s bucket. per_minute <= 0: unlimited.
  decision take(const std::string& key, int per_minute, clock::time_point now);

  // Buckets currently tracked (full buckets are dropped when the map grows).
  size_t tracked() const;

 private:
  struct bucket {
    double tokens = 0;
    int per_minute = 0;
    clock::time_point updated;
  };
  void prune(clock::time_point now);
  mutable std::mutex mu_;
  std::map<std::string, bucket> buckets_;
};

}  // namespace r1::daemon
