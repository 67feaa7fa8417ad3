#include "rate_limit.h"

#include <algorithm>
#include <cmath>

namespace r1::daemon {

namespace {
constexpr size_t k_prune_above = 4096;

double refill(double tokens, int per_minute, rate_limiter::clock::duration elapsed) {
  double secs = std::chrono::duration<double>(elapsed).count();
  if (secs < 0) secs = 0;
  return std::min<double>(per_minute, tokens + secs * per_minute / 60.0);
}
}  // namespace

rate_limiter::decision rate_limiter::take(const std::string& key, int per_minute, clock::time_point now) {
  decision d;
  if (per_minute <= 0) return d;
  std::lock_guard<std::mutex> lk(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= k_prune_above) prune(now);
    it = buckets_.emplace(key, bucket{static_cast<double>(per_minute), per_minute, now}).first;
  }
  bucket& b = it->second;
  if (b.per_minute != per_minute) {  // the limit changed: keep the tokens, within the new size
    b.tokens = std::min<double>(b.tokens, per_minute);
    b.per_minute = per_minute;
  }
  b.tokens = refill(b.tokens, per_minute, now - b.updated);
  b.updated = now;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return d;
  }
  d.allowed = false;
  double wait_s = (1.0 - b.tokens) * 60.0 / per_minute;
  d.retry_after_s = std::max(1, static_cast<int>(std::ceil(wait_s - 1e-9)));
  return d;
}

size_t rate_limiter::tracked() const {
  std::lock_guard<std::mutex> lk(mu_);
  return buckets_.size();
}

// Drops buckets that would be full by now: forgetting them changes nothing.
void rate_limiter::prune(clock::time_point now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const bucket& b = it->second;
    if (refill(b.tokens, b.per_minute, now - b.updated) >= b.per_minute) it = buckets_.erase(it);
    else ++it;
  }
}

}  // namespace r1::daemon
