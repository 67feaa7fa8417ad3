// Configuration: one table of options, filled once at start from defaults,
// then a config file, then R1_* environment variables, then flags, and then
// passed explicitly. No code reads the environment after start-up.
//
// The config file is a TOML subset: `key = value` lines, `[section]` headers
// (keys inside become "section.key"), `#` comments, values as "strings",
// integers, floats or true/false.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "r1/base/status.h"

namespace r1 {

struct option_spec {
  std::string name;           // "host", "models", "tls.cert"
  std::string env;            // "R1_HOST" ("" = no environment variable)
  std::string default_value;  // as text
  std::string help;           // one line for --help and the docs
};

// Where an option's value came from, lowest precedence first.
enum class config_source { defaults, file, env, flag };

class config {
 public:
  explicit config(std::vector<option_spec> specs);

  // Each returns invalid_argument naming the file/line/variable for an unknown
  // key or a malformed line. Later calls override earlier ones.
  status load_file(const std::string& path);
  status load_text(std::string_view text, std::string_view origin);
  // Reads the R1_* variables of the specs from `envp` (environ-style, NULL-terminated).
  status load_env(char** envp);
  status set(std::string_view name, std::string value, config_source source);

  bool has(std::string_view name) const;
  const std::string& get(std::string_view name) const;  // R1_ASSERTs a known name
  result<int64_t> get_int(std::string_view name) const;
  result<double> get_double(std::string_view name) const;
  result<bool> get_bool(std::string_view name) const;
  config_source source(std::string_view name) const;

  const std::vector<option_spec>& specs() const { return specs_; }
  // "name = value  # source" lines in table order, for --print-config.
  std::string describe() const;

 private:
  struct entry {
    std::string value;
    config_source source = config_source::defaults;
  };
  const option_spec* find(std::string_view name) const;
  std::vector<option_spec> specs_;
  std::map<std::string, entry, std::less<>> values_;
};

// Parses "5m", "1h30m", "300ms", "10s", "2.5h", "30d", a bare number of seconds ("300"),
// and negative values ("-1", "-1m"). Result in milliseconds.
result<int64_t> parse_duration_ms(std::string_view text);
// Parses "512", "4KiB", "1.5GB", "8GiB" into bytes.
result<uint64_t> parse_byte_size(std::string_view text);

// Trims ASCII whitespace at both ends.
std::string_view trim(std::string_view s);

}  // namespace r1
