// Renders Ollama-style NDJSON progress (pull, push, create): one bar per
// layer with percent, bytes, speed and ETA, spinners-as-lines for plain
// statuses. On a terminal bars are redrawn in place; otherwise each status is
// printed once. Not thread-safe (one stream at a time).
#pragma once

#include <chrono>
#include <cstdio>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace r1::cli {

class progress_view {
 public:
  progress_view(FILE* out, bool tty) : out_(out), tty_(tty) {}
  void update(const nlohmann::json& event);
  void finish();

 private:
  struct bar {
    std::string label;
    uint64_t total = 0, completed = 0;
    std::deque<std::pair<double, uint64_t>> samples;  // (seconds, completed) for the rate
  };
  void redraw();
  std::string render(bar& b) const;
  double now() const;

  FILE* out_;
  bool tty_;
  std::vector<std::string> order_;  // bar keys and plain statuses in arrival order
  std::map<std::string, bar> bars_;
  std::string last_status_;
  int lines_drawn_ = 0;
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
  double last_draw_ = -1;
};

}  // namespace r1::cli
