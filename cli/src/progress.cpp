#include "progress.h"

#include "format.h"

namespace r1::cli {

double progress_view::now() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
}

std::string progress_view::render(bar& b) const {
  if (b.total == 0) return b.label;
  double pct = static_cast<double>(b.completed) / static_cast<double>(b.total);
  if (pct > 1) pct = 1;
  const int width = 25;
  int filled = static_cast<int>(pct * width);
  std::string barstr;
  for (int i = 0; i < width; ++i) barstr += i < filled ? "█" : " ";
  double rate = 0;
  if (b.samples.size() >= 2) {
    double dt = b.samples.back().first - b.samples.front().first;
    if (dt > 0) rate = static_cast<double>(b.samples.back().second - b.samples.front().second) / dt;
  }
  char buf[256];
  std::string tail;
  if (b.completed >= b.total) {
    tail = "";
  } else if (rate > 0) {
    tail = "  " + human_bytes(static_cast<uint64_t>(rate)) + "/s  " +
           human_duration(static_cast<double>(b.total - b.completed) / rate);
  }
  std::snprintf(buf, sizeof buf, "%s: %3d%% ▕%s▏ %s/%s%s", b.label.c_str(), static_cast<int>(pct * 100),
                barstr.c_str(), human_bytes(b.completed).c_str(), human_bytes(b.total).c_str(), tail.c_str());
  return buf;
}

void progress_view::redraw() {
  if (!tty_) return;
  for (int i = 0; i < lines_drawn_; ++i) std::fputs("\x1b[1A\x1b[2K", out_);
  lines_drawn_ = 0;
  for (const auto& key : order_) {
    auto it = bars_.find(key);
    std::string line = it != bars_.end() ? render(it->second) : key;
    std::fprintf(out_, "%s\n", line.c_str());
    ++lines_drawn_;
  }
  std::fflush(out_);
}

void progress_view::update(const nlohmann::json& e) {
  if (!e.is_object()) return;
  std::string status = e.value("status", "");
  std::string digest = e.value("digest", "");
  if (!digest.empty() && e.contains("total")) {
    uint64_t total = e.value("total", uint64_t{0});
    uint64_t completed = e.value("completed", uint64_t{0});
    if (completed == 0 && bars_.find(digest) == bars_.end() && total > 0) {
      // A bar appears once bytes move; before that it shows as a plain status.
    }
    auto [it, fresh] = bars_.try_emplace(digest);
    if (fresh) order_.push_back(digest);
    bar& b = it->second;
    b.label = status;
    b.total = total;
    b.completed = completed;
    double t = now();
    b.samples.emplace_back(t, completed);
    while (b.samples.size() > 10) b.samples.pop_front();
    if (!tty_) {
      if (fresh) std::fprintf(out_, "%s (%s)\n", status.c_str(), human_bytes(total).c_str());
      return;
    }
    if (t - last_draw_ >= 0.1 || completed >= total) {
      last_draw_ = t;
      redraw();
    }
    return;
  }
  if (status.empty() || status == last_status_) return;
  last_status_ = status;
  order_.push_back(status);
  if (tty_) redraw();
  else std::fprintf(out_, "%s\n", status.c_str());
}

void progress_view::finish() {
  if (tty_) redraw();
  std::fflush(out_);
}

}  // namespace r1::cli
