#include "r1/base/config.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "r1/base/assert.h"
#include "r1/base/raii.h"

namespace r1 {

std::string_view trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '\n')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '\n')) --e;
  return s.substr(b, e - b);
}

config::config(std::vector<option_spec> specs) : specs_(std::move(specs)) {
  for (const auto& s : specs_) values_[s.name] = entry{s.default_value, config_source::defaults};
}

const option_spec* config::find(std::string_view name) const {
  for (const auto& s : specs_)
    if (s.name == name) return &s;
  return nullptr;
}

status config::set(std::string_view name, std::string value, config_source source) {
  if (!find(name)) return invalid_argument("unknown option '" + std::string(name) + "'");
  values_[std::string(name)] = entry{std::move(value), source};
  return {};
}

bool config::has(std::string_view name) const { return find(name) != nullptr; }

const std::string& config::get(std::string_view name) const {
  auto it = values_.find(name);
  R1_ASSERT_MSG(it != values_.end(), "config::get of an option not in the table");
  return it->second.value;
}

config_source config::source(std::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? config_source::defaults : it->second.source;
}

result<int64_t> config::get_int(std::string_view name) const {
  const std::string& v = get(name);
  errno = 0;
  char* end = nullptr;
  long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || errno != 0 || *end != '\0')
    return invalid_argument("option " + std::string(name) + ": '" + v + "' is not an integer");
  return static_cast<int64_t>(x);
}

result<double> config::get_double(std::string_view name) const {
  const std::string& v = get(name);
  char* end = nullptr;
  double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !std::isfinite(x))
    return invalid_argument("option " + std::string(name) + ": '" + v + "' is not a number");
  return x;
}

result<bool> config::get_bool(std::string_view name) const {
  const std::string& v = get(name);
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off" || v.empty()) return false;
  return invalid_argument("option " + std::string(name) + ": '" + v + "' is not a boolean");
}

status config::load_file(const std::string& path) {
  R1_ASSIGN_OR_RETURN(std::string text, read_file(path, 1 << 20));
  return load_text(text, path);
}

status config::load_text(std::string_view text, std::string_view origin) {
  std::string section;
  int line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    auto where = [&] { return std::string(origin) + ":" + std::to_string(line_no) + ": "; };
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    if (line.front() == '[') {
      if (line.back() != ']') return invalid_argument(where() + "unterminated section header");
      section = std::string(trim(line.substr(1, line.size() - 2)));
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) return invalid_argument(where() + "expected key = value");
    std::string key(trim(line.substr(0, eq)));
    std::string_view raw = trim(line.substr(eq + 1));
    std::string value;
    if (!raw.empty() && raw.front() == '"') {
      size_t close = raw.find('"', 1);
      if (close == std::string_view::npos) return invalid_argument(where() + "unterminated string");
      value = std::string(raw.substr(1, close - 1));
      std::string_view rest = trim(raw.substr(close + 1));
      if (!rest.empty() && rest.front() != '#') return invalid_argument(where() + "text after the value");
    } else {
      size_t hash = raw.find('#');
      value = std::string(trim(raw.substr(0, hash)));
    }
    std::string name = section.empty() ? key : section + "." + key;
    status s = set(name, std::move(value), config_source::file);
    if (!s.ok()) return invalid_argument(where() + s.message());
  }
  return {};
}

status config::load_env(char** envp) {
  if (!envp) return {};
  for (char** e = envp; *e; ++e) {
    std::string_view kv(*e);
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view k = kv.substr(0, eq);
    for (const auto& s : specs_) {
      if (!s.env.empty() && s.env == k) values_[s.name] = entry{std::string(kv.substr(eq + 1)), config_source::env};
    }
  }
  return {};
}

std::string config::describe() const {
  std::string out;
  for (const auto& s : specs_) {
    const auto& e = values_.at(s.name);
    static const char* names[] = {"default", "file", "env", "flag"};
    out += s.name + " = \"" + e.value + "\"  # " + names[static_cast<int>(e.source)];
    if (!s.env.empty()) out += " (" + s.env + ")";
    out += '\n';
  }
  return out;
}

result<int64_t> parse_duration_ms(std::string_view text) {
  std::string_view t = trim(text);
  if (t.empty()) return invalid_argument("empty duration");
  bool neg = false;
  if (t.front() == '-') {
    neg = true;
    t.remove_prefix(1);
  }
  double total_ms = 0;
  bool any = false;
  while (!t.empty()) {
    size_t i = 0;
    while (i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) || t[i] == '.')) ++i;
    if (i == 0) return invalid_argument("bad duration '" + std::string(text) + "'");
    std::string num(t.substr(0, i));
    char* end = nullptr;
    double v = std::strtod(num.c_str(), &end);
    if (*end != '\0' || !std::isfinite(v)) return invalid_argument("bad duration '" + std::string(text) + "'");
    t.remove_prefix(i);
    size_t u = 0;
    while (u < t.size() && std::isalpha(static_cast<unsigned char>(t[u]))) ++u;
    std::string_view unit = t.substr(0, u);
    t.remove_prefix(u);
    double mult;
    if (unit.empty() || unit == "s") mult = 1000;
    else if (unit == "ms") mult = 1;
    else if (unit == "m") mult = 60e3;
    else if (unit == "h") mult = 3600e3;
    else if (unit == "d") mult = 86400e3;
    else if (unit == "us" || unit == "µs") mult = 1e-3;
    else if (unit == "ns") mult = 1e-6;
    else return invalid_argument("bad duration unit '" + std::string(unit) + "' in '" + std::string(text) + "'");
    if (unit.empty() && !t.empty()) return invalid_argument("bad duration '" + std::string(text) + "'");
    total_ms += v * mult;
    any = true;
  }
  if (!any) return invalid_argument("bad duration '" + std::string(text) + "'");
  if (total_ms > 9.2e15) return invalid_argument("duration too large '" + std::string(text) + "'");
  auto ms = static_cast<int64_t>(std::llround(total_ms));
  return neg ? -ms : ms;
}

result<uint64_t> parse_byte_size(std::string_view text) {
  std::string t(trim(text));
  char* end = nullptr;
  double v = std::strtod(t.c_str(), &end);
  if (t.empty() || end == t.c_str() || !std::isfinite(v) || v < 0)
    return invalid_argument("bad size '" + t + "'");
  std::string unit(trim(std::string_view(end)));
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  double mult;
  if (unit.empty() || unit == "b") mult = 1;
  else if (unit == "kb") mult = 1e3;
  else if (unit == "mb") mult = 1e6;
  else if (unit == "gb") mult = 1e9;
  else if (unit == "tb") mult = 1e12;
  else if (unit == "kib" || unit == "k") mult = 1024.0;
  else if (unit == "mib" || unit == "m") mult = 1048576.0;
  else if (unit == "gib" || unit == "g") mult = 1073741824.0;
  else if (unit == "tib" || unit == "t") mult = 1099511627776.0;
  else return invalid_argument("bad size unit '" + unit + "'");
  double bytes = v * mult;
  if (bytes > 1.8e19) return invalid_argument("size too large '" + t + "'");
  return static_cast<uint64_t>(std::llround(bytes));
}

}  // namespace r1
