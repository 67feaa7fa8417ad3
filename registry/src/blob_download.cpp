#include "blob_download.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "r1/base/log.h"
#include "r1/base/raii.h"
#include "r1/registry/digest.h"

namespace r1::registry::detail {

namespace {

using clock_type = std::chrono::steady_clock;

struct part {
  uint64_t start = 0;
  std::atomic<uint64_t> end{0};
  std::atomic<uint64_t> done{0};  // bytes written from start
  bool active = false;            // guarded by downloader::mu_
  std::mutex write_mu;            // orders a write against a split of this part

  uint64_t remaining() const { return end.load() - start - done.load(); }
};

// Parses "bytes a-b/total" (total may be "*").
bool parse_content_range(const std::string& v, uint64_t* first, uint64_t* last, uint64_t* total) {
  unsigned long long a = 0, b = 0, t = 0;
  char star = 0;
  if (std::sscanf(v.c_str(), "bytes %llu-%llu/%llu", &a, &b, &t) == 3) {
    *first = a, *last = b, *total = t;
    return a <= b;
  }
  if (std::sscanf(v.c_str(), "bytes %llu-%llu/%c", &a, &b, &star) == 3 && star == '*') {
    *first = a, *last = b, *total = UINT64_MAX;
    return a <= b;
  }
  return false;
}

// The running sha256 of the blob's contiguous prefix [0, hashed). A worker
// whose write starts exactly at `hashed` hashes its bytes right away, while
// they are still in cache; bytes written ahead by other parts are hashed from
// the file's mapping by the pulling thread once they become contiguous.
struct prefix_hash {
  std::mutex mu;
  std::atomic<uint64_t> hashed{0};
  sha256_hasher hasher;

  // Hashes [at, at + n) from `data` if it extends the prefix; else leaves it.
  void offer(uint64_t at, const char* data, size_t n) {
    if (hashed.load(std::memory_order_acquire) != at) return;
    std::lock_guard<std::mutex> lock(mu);
    if (hashed.load(std::memory_order_relaxed) != at) return;
    hasher.update(data, n);
    hashed.store(at + n, std::memory_order_release);
  }
};

class downloader {
 public:
  downloader(const client_options& o, blob_store& store, token_cache& tokens, rate_limiter* limiter,
             const download_target& target, const std::atomic<bool>* cancel)
      : o_(o), store_(store), target_(target), user_cancel_(cancel),
        session_(o, target.host, target.base_url, tokens, limiter, &abort_) {
    url_ = target.base_url + "/v2/" + target.repository + "/blobs/" + target.blob.digest;
    scope_ = "repository:" + target.repository + ":pull";
  }

  ~downloader() {
    if (map_) ::munmap(const_cast<uint8_t*>(map_), map_size_);
  }
  downloader(const downloader&) = delete;
  downloader& operator=(const downloader&) = delete;

  status run(const std::function<void(uint64_t)>& on_progress);

 private:
  status open_partial();
  bool load_state();
  void fresh_parts();
  status save_state();
  void worker();
  part* take_part(bool* retired);
  status fetch_part(part& p);
  status hash_and_wait(const std::function<void(uint64_t)>& on_progress);
  bool catch_up_hash(uint64_t prefix);
  void start_writeback(uint64_t prefix, bool all);
  void adapt_parallelism(uint64_t completed);
  void start_worker();
  uint64_t completed_bytes();
  uint64_t contiguous_prefix();
  void fail(status s);
  bool should_stop() const { return abort_.load(); }
  void sleep_interruptible(int64_t ms);

  const client_options& o_;
  blob_store& store_;
  download_target target_;
  const std::atomic<bool>* user_cancel_;
  std::atomic<bool> abort_{false};
  registry_session session_;
  std::string url_, scope_, partial_path_, state_path_;
  unique_fd fd_;
  const uint8_t* map_ = nullptr;  // the partial file, read-only, for hashing
  size_t map_size_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<part>> parts_;  // sorted by start; pointers stable
  status failure_;
  int running_workers_ = 0;
  int wanted_workers_ = 1;  // workers beyond this stop after their current part
  std::vector<std::thread> threads_;

  prefix_hash hash_;
  uint64_t writeback_from_ = 0;
  // Parallelism probe: start with one stream, add one while throughput grows.
  int max_workers_ = 1;
  bool growing_ = true;
  bool warmed_up_ = false;
  double best_rate_ = 0;
  uint64_t probe_bytes_ = 0;
  clock_type::time_point probe_start_ = clock_type::now();
};

status downloader::open_partial() {
  R1_ASSIGN_OR_RETURN(partial_path_, store_.partial_path_for(target_.blob.digest));
  R1_ASSIGN_OR_RETURN(state_path_, store_.partial_state_path_for(target_.blob.digest));
  R1_ASSIGN_OR_RETURN(fd_, open_fd(partial_path_, O_RDWR | O_CREAT, 0644));
  if (::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0)
    return unavailable("blob " + target_.blob.digest + " is being downloaded by another process");
  struct stat st;
  if (::fstat(fd_.get(), &st) != 0) return errno_status("stat " + partial_path_, errno);
  if (static_cast<uint64_t>(st.st_size) == target_.blob.size && load_state()) {
    R1_LOG(info, "registry") << "resuming " << target_.blob.digest << " at " << completed_bytes() << " of "
                             << target_.blob.size << " bytes";
    return {};
  }
  struct statvfs fs_info;
  if (::fstatvfs(fd_.get(), &fs_info) == 0) {
    const uint64_t free_bytes = static_cast<uint64_t>(fs_info.f_bavail) * fs_info.f_frsize;
    if (free_bytes < target_.blob.size)
      return resource_exhausted("blob " + target_.blob.digest + " needs " + std::to_string(target_.blob.size) +
                                " bytes, only " + std::to_string(free_bytes) + " are free in " + store_.dir());
  }
  if (::ftruncate(fd_.get(), 0) != 0 || ::ftruncate(fd_.get(), static_cast<off_t>(target_.blob.size)) != 0)
    return errno_status("size " + partial_path_, errno);
  fresh_parts();
  return save_state();
}

bool downloader::load_state() {
  auto text = read_file(state_path_, size_t{4} << 20);
  if (!text.ok()) return false;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("digest", std::string()) != target_.blob.digest) return false;
  auto size = j.find("size");
  if (size == j.end() || !size->is_number_unsigned() || size->get<uint64_t>() != target_.blob.size) return false;
  auto ps = j.find("parts");
  if (ps == j.end() || !ps->is_array() || ps->empty() || ps->size() > 100000) return false;
  std::vector<std::unique_ptr<part>> parts;
  uint64_t expect = 0;
  for (const auto& e : *ps) {
    if (!e.is_array() || e.size() != 3 || !e[0].is_number_unsigned() || !e[1].is_number_unsigned() ||
        !e[2].is_number_unsigned())
      return false;
    uint64_t s = e[0].get<uint64_t>(), en = e[1].get<uint64_t>(), d = e[2].get<uint64_t>();
    if (s != expect || en <= s || en > target_.blob.size || d > en - s) return false;
    auto p = std::make_unique<part>();
    p->start = s;
    p->end = en;
    p->done = d;
    parts.push_back(std::move(p));
    expect = en;
  }
  if (expect != target_.blob.size) return false;
  parts_ = std::move(parts);
  return true;
}

void downloader::fresh_parts() {
  parts_.clear();
  const uint64_t size = target_.blob.size;
  const uint64_t par = static_cast<uint64_t>(std::max(1, o_.max_parallel_parts));
  uint64_t part_size = size;
  if (size >= 2 * o_.min_part_bytes) {
    part_size = std::clamp<uint64_t>((size + par - 1) / par, o_.min_part_bytes, std::max(o_.min_part_bytes, o_.max_part_bytes));
  }
  if (part_size == 0) part_size = 1;
  for (uint64_t s = 0; s < size || (size == 0 && parts_.empty()); s += part_size) {
    auto p = std::make_unique<part>();
    p->start = s;
    p->end = std::min(size, s + part_size);
    parts_.push_back(std::move(p));
    if (size == 0) break;
  }
}

status downloader::save_state() {
  nlohmann::json parts = nlohmann::json::array();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& p : parts_) parts.push_back({p->start, p->end.load(), p->done.load()});
  }
  nlohmann::json j = {{"digest", target_.blob.digest}, {"size", target_.blob.size}, {"parts", parts}};
  // Temp + rename, but no fsync: the state is a hint that is validated on load
  // and the digest check catches anything a power cut lost; an fsync per second
  // would force ext4 to flush the big partial file's data with it.
  const std::string text = j.dump();
  const std::string tmp = state_path_ + ".tmp";
  {
    R1_ASSIGN_OR_RETURN(unique_fd fd, open_fd(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644));
    R1_RETURN_IF_ERROR(write_all(fd.get(), text.data(), text.size(), tmp));
  }
  if (::rename(tmp.c_str(), state_path_.c_str()) != 0) return errno_status("rename " + tmp, errno);
  return {};
}

uint64_t downloader::completed_bytes() {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t n = 0;
  for (const auto& p : parts_) n += p->done.load();
  return n;
}

uint64_t downloader::contiguous_prefix() {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& p : parts_) {
    uint64_t d = p->done.load(std::memory_order_acquire);
    if (p->start + d < p->end.load()) return p->start + d;
  }
  return target_.blob.size;
}

void downloader::fail(status s) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (failure_.ok()) failure_ = std::move(s);
  }
  abort_ = true;
  cv_.notify_all();
}

// Next idle unfinished part, else a split of the busiest one (work stealing).
// Sets *retired (and counts the worker out) when there are more workers than wanted.
part* downloader::take_part(bool* retired) {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_workers_ > wanted_workers_) {  // a probe that did not pay off
    --running_workers_;
    *retired = true;
    return nullptr;
  }
  for (auto& p : parts_) {
    if (!p->active && p->remaining() > 0) {
      p->active = true;
      return p.get();
    }
  }
  const uint64_t min_split = std::max<uint64_t>(uint64_t{1} << 20, o_.min_part_bytes / 4);
  part* victim = nullptr;
  for (auto& p : parts_)
    if (p->active && p->remaining() >= 2 * min_split && (!victim || p->remaining() > victim->remaining())) victim = p.get();
  if (!victim) return nullptr;
  auto fresh = std::make_unique<part>();
  {
    std::lock_guard<std::mutex> wl(victim->write_mu);
    uint64_t pos = victim->start + victim->done.load();
    uint64_t end = victim->end.load();
    if (end - pos < 2 * min_split) return nullptr;
    uint64_t mid = pos + (end - pos) / 2;
    victim->end = mid;
    fresh->start = mid;
    fresh->end = end;
  }
  fresh->active = true;
  part* out = fresh.get();
  auto at = std::upper_bound(parts_.begin(), parts_.end(), out->start,
                             [](uint64_t s, const std::unique_ptr<part>& p) { return s < p->start; });
  parts_.insert(at, std::move(fresh));
  return out;
}

void downloader::worker() {
  while (!should_stop()) {
    bool retired = false;
    part* p = take_part(&retired);
    if (retired) {
      cv_.notify_all();
      return;
    }
    if (!p) break;
    status s = fetch_part(*p);
    {
      std::lock_guard<std::mutex> lock(mu_);
      p->active = false;
    }
    if (!s.ok()) fail(std::move(s));
    cv_.notify_all();
  }
  std::lock_guard<std::mutex> lock(mu_);
  --running_workers_;
  cv_.notify_all();
}

void downloader::sleep_interruptible(int64_t ms) {
  auto until = clock_type::now() + std::chrono::milliseconds(ms);
  while (!should_stop() && clock_type::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}
// The receiving end of one ranged GET into a part.
struct part_sink {
  part& p;
  prefix_hash& hash;
  int fd;
  const std::string& path;
  const std::string& layer;
  uint64_t blob_size;
  uint64_t pos, end;
  uint64_t skip = 0, written = 0;
  bool reached_end = false;
  status local;

  bool on_headers(long code, const header_map& h) {
    if (code == 206) {
      auto it = h.find("content-range");
      uint64_t a = 0, b = 0, total = 0;
      if (it == h.end() || !parse_content_range(it->second, &a, &b, &total) || a != pos ||
          (total != UINT64_MAX && total != blob_size)) {
        local = corrupt("layer " + layer + ": bad Content-Range '" + (it == h.end() ? "" : it->second.substr(0, 100)) +
                        "' for bytes " + std::to_string(pos) + "-" + std::to_string(end - 1));
        return false;
      }
      return true;
    }
    if (code == 200) {
      skip = pos;  // the server ignored Range: drop what this part already has
      return true;
    }
    local = corrupt("layer " + layer + ": unexpected HTTP " + std::to_string(code) + " for a ranged GET");
    return false;
  }

  bool on_data(const char* data, size_t len) {
    if (skip > 0) {
      size_t drop = static_cast<size_t>(std::min<uint64_t>(skip, len));
      skip -= drop, data += drop, len -= drop;
      if (len == 0) return true;
    }
    std::lock_guard<std::mutex> wl(p.write_mu);
    const uint64_t at = p.start + p.done.load();
    const uint64_t limit = p.end.load();
    const size_t n = static_cast<size_t>(std::min<uint64_t>(len, limit - at));
    for (size_t off = 0; off < n;) {
      ssize_t w = ::pwrite(fd, data + off, n - off, static_cast<off_t>(at + off));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        local = errno_status("write " + path, w < 0 ? errno : EIO);
        return false;
      }
      off += static_cast<size_t>(w);
    }
    hash.offer(at, data, n);  // before `done` moves, so the pulling thread never hashes these bytes too
    p.done.fetch_add(n, std::memory_order_release);
    written += n;
    if (at + n >= limit) {
      reached_end = true;
      return false;  // this part is complete (it may have been split meanwhile)
    }
    return true;
  }
};

// What to do after an attempt that did not finish its part.
enum class next_step { done, fail, restart, retry };

next_step judge_attempt(const http_response& resp, const part_sink& sink, const part& p, const std::string& digest,
                        status* why) {
  const std::string& layer = sink.layer;
  if (!sink.local.ok() && (sink.local.code() == error_code::resource_exhausted || sink.local.code() == error_code::io_error)) {
    *why = sink.local;  // our own disk failed
    return next_step::fail;
  }
  if (!sink.local.ok()) {  // a bad answer from the server counts as a failed attempt
    *why = sink.local;
    return next_step::retry;
  }
  if (!resp.transport.ok()) {
    *why = resp.transport;
    if (resp.transport.code() == error_code::cancelled) return next_step::fail;
    return resp.stalled ? next_step::restart : next_step::retry;
  }
  const long code = resp.status;
  if (code >= 200 && code < 300) {
    if (p.start + p.done.load() >= p.end.load()) return next_step::done;
    *why = unavailable("layer " + layer + ": connection closed after " + std::to_string(sink.written) + " bytes");
    return next_step::retry;
  }
  if (code == 404) {
    *why = not_found("layer " + layer + ": blob " + digest + " is not in the registry");
    return next_step::fail;
  }
  const std::string msg = registry_error_message(resp.body);
  const std::string text = "layer " + layer + ": HTTP " + std::to_string(code) + (msg.empty() ? "" : " (" + msg + ")");
  // 403 may be an expired signed CDN URL: asking the registry again gets a fresh one.
  if (code == 408 || code == 429 || code == 403 || code >= 500) {
    *why = unavailable(text);
    return next_step::retry;
  }
  *why = code == 401 ? permission_denied(text) : corrupt(text);
  return next_step::fail;
}

status downloader::fetch_part(part& p) {
  int retries = 0, stalls = 0;
  const std::string layer = target_.blob.digest.substr(7, 12);
  for (;;) {
    if (should_stop()) return cancelled("download of " + target_.blob.digest + " stopped");
    part_sink sink{p, hash_, fd_.get(), partial_path_, layer, target_.blob.size, p.start + p.done.load(), p.end.load()};
    if (sink.pos >= sink.end) return {};
    http_request req;
    req.url = url_;
    req.max_body = 64 << 10;
    req.headers.push_back("Range: bytes=" + std::to_string(sink.pos) + "-" + std::to_string(sink.end - 1));
    req.on_headers = [&sink](long code, const header_map& h) { return sink.on_headers(code, h); };
    req.on_data = [&sink](const char* data, size_t len) { return sink.on_data(data, len); };
    http_response resp = session_.send(std::move(req), scope_);
    cv_.notify_all();
    if (sink.reached_end) return {};
    status why;
    switch (judge_attempt(resp, sink, p, target_.blob.digest, &why)) {
      case next_step::done:
        return {};
      case next_step::fail:
        return why.code() == error_code::cancelled ? cancelled("download of " + target_.blob.digest + " stopped") : why;
      case next_step::restart:  // a stall restarts the part without using a retry
        if (sink.written > 0 || ++stalls <= 3 * std::max(1, o_.max_retries)) {
          R1_LOG(warn, "registry") << "layer " << layer << " part at " << sink.pos << " stalled; restarting it";
          continue;
        }
        break;
      case next_step::retry:
        break;
    }
    if (sink.written > 0) retries = 0;  // progress was made: the budget is per stuck position
    if (++retries > o_.max_retries) return why.with_context("giving up after " + std::to_string(o_.max_retries) + " retries");
    const int64_t backoff = std::min<int64_t>(o_.retry_base_ms << std::min(retries - 1, 20), 30000);
    R1_LOG(warn, "registry") << why.message() << "; retry " << retries << " in " << backoff << " ms";
    sleep_interruptible(backoff);
  }
}

// Hashes bytes that became contiguous but were not hashed as they arrived
// (written ahead by another part, or before a resume) from the mapping, in
// small steps so a worker reaching the prefix waits little. True if it hashed.
bool downloader::catch_up_hash(uint64_t prefix) {
  constexpr uint64_t step = uint64_t{1} << 20;
  bool any = false;
  for (uint64_t from = hash_.hashed.load(); from < prefix && !should_stop(); from = hash_.hashed.load()) {
    std::lock_guard<std::mutex> lock(hash_.mu);
    from = hash_.hashed.load();
    if (from >= prefix) break;
    const uint64_t to = std::min(prefix, from + step);
    hash_.hasher.update(map_ + from, static_cast<size_t>(to - from));
    hash_.hashed.store(to, std::memory_order_release);
    any = true;
  }
  return any;
}

// Asks the kernel to start writing the prefix back in large batches, so the
// final fsync is short without a system call per few megabytes.
void downloader::start_writeback(uint64_t prefix, bool all) {
  constexpr uint64_t batch = uint64_t{64} << 20;
  if (prefix <= writeback_from_ || (!all && prefix - writeback_from_ < batch)) return;
  ::sync_file_range(fd_.get(), static_cast<off_t>(writeback_from_), static_cast<off_t>(prefix - writeback_from_),
                    SYNC_FILE_RANGE_WRITE);
  writeback_from_ = prefix;
}

void downloader::start_worker() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++running_workers_;
  }
  threads_.emplace_back([this] { worker(); });
}

// One stream first; every interval, if throughput grew by a fifth since the
// last worker was added, add another (up to max_parallel_parts). When an added
// worker did not help (loopback, a saturated link or CPU) it retires after its
// current part, and no more are tried, except as help: when throughput falls
// below half the best seen, one more worker comes and splits the largest part.
void downloader::adapt_parallelism(uint64_t completed) {
  constexpr auto interval = std::chrono::milliseconds(400);
  const auto now = clock_type::now();
  if (now - probe_start_ < interval) return;
  const double rate = static_cast<double>(completed - probe_bytes_) / std::chrono::duration<double>(now - probe_start_).count();
  probe_start_ = now;
  probe_bytes_ = completed;
  if (!warmed_up_) {  // the first interval holds connection setup: not a fair baseline
    warmed_up_ = true;
    return;
  }
  int running = 0;
  uint64_t left = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    running = running_workers_;
    for (const auto& p : parts_) left += p->remaining();
  }
  const uint64_t min_split = std::max<uint64_t>(uint64_t{1} << 20, o_.min_part_bytes / 4);
  const bool room = running < max_workers_ && left >= 2 * min_split;
  const std::string blob = target_.blob.digest.substr(7, 12);
  if (!growing_) {
    if (!room || rate >= best_rate_ / 2) return;
    R1_LOG(debug, "registry") << "blob " << blob << ": " << static_cast<uint64_t>(rate) / (1 << 20)
                              << " MiB/s is below half the best; adding a stream to split the slow part";
  } else if (best_rate_ > 0 && rate < best_rate_ * 1.2) {  // the last worker added did not pay off
    R1_LOG(debug, "registry") << "blob " << blob << ": " << running << " streams give "
                              << static_cast<uint64_t>(rate) / (1 << 20) << " MiB/s, not more than "
                              << static_cast<uint64_t>(best_rate_) / (1 << 20) << " MiB/s; one retires";
    growing_ = false;
    std::lock_guard<std::mutex> lock(mu_);
    if (wanted_workers_ > 1) --wanted_workers_;
    return;
  } else {
    best_rate_ = std::max(best_rate_, rate);
    if (!room) {  // nothing more to gain
      growing_ = false;
      return;
    }
    R1_LOG(debug, "registry") << "blob " << blob << ": " << running << " streams at "
                              << static_cast<uint64_t>(rate) / (1 << 20) << " MiB/s; adding one";
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    wanted_workers_ = running + 1;
  }
  start_worker();
}

status downloader::hash_and_wait(const std::function<void(uint64_t)>& on_progress) {
  auto last_save = clock_type::now(), last_progress = clock_type::now();
  for (;;) {
    if (user_cancel_ && user_cancel_->load()) fail(cancelled("pull of " + target_.blob.digest + " cancelled"));
    const uint64_t prefix = contiguous_prefix();
    start_writeback(prefix, false);
    if (!catch_up_hash(prefix) || should_stop()) {
      std::unique_lock<std::mutex> lock(mu_);
      if (running_workers_ == 0) break;
      cv_.wait_for(lock, std::chrono::milliseconds(50));
    }
    auto now = clock_type::now();
    if (now - last_progress >= std::chrono::milliseconds(100)) {
      last_progress = now;
      const uint64_t done = completed_bytes();
      if (on_progress) on_progress(done);
      if (!should_stop()) adapt_parallelism(done);
    }
    if (now - last_save >= std::chrono::seconds(1)) {
      last_save = now;
      status s = save_state();
      if (!s.ok()) {
        R1_LOG(warn, "registry") << "saving download state: " << s.to_string();
      }
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failure_.ok()) return failure_;
  }
  if (contiguous_prefix() != target_.blob.size) return internal_error("download ended before the blob was complete");
  catch_up_hash(target_.blob.size);  // the tail
  start_writeback(target_.blob.size, true);
  if (on_progress) on_progress(target_.blob.size);
  const std::string actual = hash_.hasher.finish();
  if (actual != target_.blob.digest) {
    ::unlink(partial_path_.c_str());
    ::unlink(state_path_.c_str());
    return corrupt("layer " + target_.blob.digest.substr(7, 12) + ": digest mismatch: expected " + target_.blob.digest +
                   ", got " + actual + "; the downloaded data was discarded");
  }
  return {};
}

status downloader::run(const std::function<void(uint64_t)>& on_progress) {
  if (store_.has(target_.blob.digest)) return {};
  R1_RETURN_IF_ERROR(open_partial());
  if (target_.blob.size > 0) {
    void* p = ::mmap(nullptr, static_cast<size_t>(target_.blob.size), PROT_READ, MAP_SHARED, fd_.get(), 0);
    if (p == MAP_FAILED) return errno_status("mmap " + partial_path_, errno);
    map_ = static_cast<const uint8_t*>(p);
    map_size_ = static_cast<size_t>(target_.blob.size);
    ::madvise(p, map_size_, MADV_SEQUENTIAL);
  }
  if (on_progress) on_progress(completed_bytes());  // where a resumed download starts
  uint64_t todo = 0;
  for (const auto& p : parts_) todo += p->remaining();
  const uint64_t per = std::max<uint64_t>(1, o_.min_part_bytes);
  max_workers_ = static_cast<int>(std::clamp<uint64_t>(todo / per, 1, static_cast<uint64_t>(std::max(1, o_.max_parallel_parts))));
  probe_bytes_ = completed_bytes();
  probe_start_ = clock_type::now();
  start_worker();
  status s = hash_and_wait(on_progress);
  abort_ = true;
  for (auto& t : threads_) t.join();
  if (!s.ok()) {
    if (s.code() != error_code::corrupt) {
      status saved = save_state();
      if (!saved.ok()) {
        R1_LOG(warn, "registry") << "saving download state: " << saved.to_string();
      }
    }
    return s;
  }
  const auto synced_from = clock_type::now();
  if (::fsync(fd_.get()) != 0) return errno_status("fsync " + partial_path_, errno);
  R1_LOG(debug, "registry") << "blob " << target_.blob.digest.substr(7, 12) << ": fsync took "
                            << std::chrono::duration<double>(clock_type::now() - synced_from).count() << " s";
  R1_ASSIGN_OR_RETURN(std::string final_path, store_.path_for(target_.blob.digest));
  if (::rename(partial_path_.c_str(), final_path.c_str()) != 0) return errno_status("rename " + partial_path_, errno);
  ::unlink(state_path_.c_str());
  return fsync_dir(store_.dir());
}

}  // namespace

status download_blob(const client_options& options, blob_store& store, token_cache& tokens, rate_limiter* limiter,
                     const download_target& target, const std::atomic<bool>* cancel,
                     const std::function<void(uint64_t)>& on_progress) {
  downloader d(options, store, tokens, limiter, target, cancel);
  return d.run(on_progress);
}

}  // namespace r1::registry::detail
