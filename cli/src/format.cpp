#include "format.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace r1::cli {

std::string human_bytes(uint64_t n) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1000.0 && u < 4) {
    v /= 1000.0;
    ++u;
  }
  char buf[32];
  if (u == 0) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
  else std::snprintf(buf, sizeof buf, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

namespace {
std::string plural(int64_t n, const char* unit) {
  return std::to_string(n) + " " + unit + (n == 1 ? "" : "s");
}
std::string span(int64_t s) {
  if (s < 60) return plural(s, "second");
  if (s < 3600) return plural(s / 60, "minute");
  if (s < 86400) return plural(s / 3600, "hour");
  if (s < 86400 * 30) return plural(s / 86400, "day");
  if (s < 86400 * 365) return plural(s / (86400 * 30), "month");
  return plural(s / (86400 * 365), "year");
}
}  // namespace

std::string human_ago(int64_t seconds) {
  if (seconds < 1) return "Less than a second ago";
  return span(seconds) + " ago";
}

std::string human_until(int64_t seconds) {
  if (seconds > 100LL * 365 * 86400) return "Forever";
  if (seconds <= 0) return "Stopping...";
  return span(seconds) + " from now";
}

std::string human_duration(double s) {
  char buf[32];
  if (s < 0) s = 0;
  auto secs = static_cast<long long>(s + 0.5);
  if (secs < 60) std::snprintf(buf, sizeof buf, "%llds", secs);
  else if (secs < 3600) std::snprintf(buf, sizeof buf, "%lldm%02llds", secs / 60, secs % 60);
  else std::snprintf(buf, sizeof buf, "%lldh%02lldm", secs / 3600, (secs % 3600) / 60);
  return buf;
}

std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 3, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

int64_t parse_rfc3339(const std::string& t) {
  struct tm tm {};
  if (!strptime(t.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace r1::cli
