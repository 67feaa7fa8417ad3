#include "r1/api/modelfile.h"

#include <algorithm>
#include <cctype>

#include "r1/base/config.h"

namespace r1::api {

namespace {

constexpr size_t k_max_text = size_t{16} << 20;
constexpr size_t k_max_instructions = 10000;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

class scanner {
 public:
  explicit scanner(std::string_view t) : t_(t) {}
  bool at_end() const { return pos_ >= t_.size(); }
  int line() const { return line_; }

  void skip_blank() {
    while (!at_end() && (t_[pos_] == ' ' || t_[pos_] == '\t' || t_[pos_] == '\r')) ++pos_;
  }
  // Skips empty lines and comment lines.
  void skip_empty_lines() {
    for (;;) {
      skip_blank();
      if (at_end()) return;
      if (t_[pos_] == '\n') {
        advance();
        continue;
      }
      if (t_[pos_] == '#') {
        while (!at_end() && t_[pos_] != '\n') ++pos_;
        continue;
      }
      return;
    }
  }
  std::string_view word() {
    size_t start = pos_;
    while (!at_end() && !std::isspace(static_cast<unsigned char>(t_[pos_]))) ++pos_;
    return t_.substr(start, pos_ - start);
  }
  // The rest of the instruction: """...""" (may span lines), "..." or the rest of the line.
  result<std::string> value() {
    skip_blank();
    if (t_.substr(pos_, 3) == "\"\"\"") {
      int start_line = line_;
      pos_ += 3;
      size_t end = t_.find("\"\"\"", pos_);
      if (end == std::string_view::npos)
        return invalid_argument("Modelfile line " + std::to_string(start_line) + ": unterminated \"\"\"");
      std::string v(t_.substr(pos_, end - pos_));
      for (char c : v) line_ += c == '\n';
      pos_ = end + 3;
      rest_of_line();
      return v;
    }
    std::string v(trim(rest_of_line()));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
      std::string unq;
      for (size_t i = 1; i + 1 < v.size(); ++i) {
        if (v[i] == '\\' && i + 2 < v.size() && (v[i + 1] == '"' || v[i + 1] == '\\')) ++i;
        unq += v[i];
      }
      return unq;
    }
    return v;
  }
  std::string_view rest_of_line() {
    size_t start = pos_;
    while (!at_end() && t_[pos_] != '\n') ++pos_;
    std::string_view r = t_.substr(start, pos_ - start);
    if (!at_end()) advance();
    return r;
  }

 private:
  void advance() {
    if (t_[pos_] == '\n') ++line_;
    ++pos_;
  }
  std::string_view t_;
  size_t pos_ = 0;
  int line_ = 1;
};

status line_error(int line, const std::string& msg) {
  return invalid_argument("Modelfile line " + std::to_string(line) + ": " + msg);
}

}  // namespace

bool from_is_path(std::string_view from) {
  if (from.empty()) return false;
  if (from[0] == '.' || from[0] == '/' || from[0] == '~') return true;
  return from.size() > 5 && lower(from.substr(from.size() - 5)) == ".gguf";
}

result<modelfile> parse_modelfile(std::string_view text) {
  if (text.size() > k_max_text) return invalid_argument("Modelfile is larger than 16 MiB");
  modelfile mf;
  scanner s(text);
  size_t count = 0;
  for (;;) {
    s.skip_empty_lines();
    if (s.at_end()) break;
    if (++count > k_max_instructions) return invalid_argument("Modelfile has too many instructions");
    int line = s.line();
    std::string inst = lower(s.word());
    if (inst == "parameter") {
      s.skip_blank();
      std::string name = lower(s.word());
      if (name.empty()) return line_error(line, "PARAMETER needs a name and a value");
      R1_ASSIGN_OR_RETURN(std::string v, s.value());
      if (v.empty()) return line_error(line, "PARAMETER " + name + " needs a value");
      mf.parameters.emplace_back(name, v);
      continue;
    }
    if (inst == "message") {
      s.skip_blank();
      std::string role = lower(s.word());
      if (role != "system" && role != "user" && role != "assistant")
        return line_error(line, "MESSAGE role must be system, user or assistant, not '" + role + "'");
      R1_ASSIGN_OR_RETURN(std::string v, s.value());
      message m;
      m.role = role;
      m.content = v;
      mf.messages.push_back(std::move(m));
      continue;
    }
    R1_ASSIGN_OR_RETURN(std::string v, s.value());
    if (inst == "from") {
      if (v.empty()) return line_error(line, "FROM needs a model name or a file path");
      mf.from = v;
    } else if (inst == "template") {
      mf.template_text = v;
    } else if (inst == "system") {
      mf.system = v;
    } else if (inst == "license") {
      mf.license.push_back(v);
    } else if (inst == "adapter") {
      mf.adapters.push_back(v);
    } else if (inst == "requires") {
      mf.requires_version = v;
    } else if (inst == "renderer" || inst == "parser" || inst == "draft") {
      // Accepted for compatibility; r1 renders with the model's own chat template.
    } else {
      return line_error(line, "unknown instruction '" + inst + "'");
    }
  }
  if (mf.from.empty()) return invalid_argument("Modelfile has no FROM line");
  return mf;
}

namespace {
// Writes a value so that scanner::value() reads back exactly the same string.
// Multi-line values only come from """...""" (which cannot hold """ or end in a quote),
// so they go back into """; a single-line value stays bare when the bare form is
// unambiguous, else it is written as "..." with \" and \\ escapes.
std::string quote_value(const std::string& v) {
  if (v.find('\n') != std::string::npos) return "\"\"\"" + v + "\"\"\"";
  auto is_blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  bool bare = !v.empty() && !is_blank(v.front()) && !is_blank(v.back()) && v.front() != '"';
  if (bare) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}
}  // namespace

std::string format_modelfile(const modelfile& mf) {
  std::string out = "FROM " + quote_value(mf.from) + "\n";
  if (mf.template_text) out += "TEMPLATE " + quote_value(*mf.template_text) + "\n";
  if (mf.system) out += "SYSTEM " + quote_value(*mf.system) + "\n";
  for (const auto& [k, v] : mf.parameters) out += "PARAMETER " + k + " " + quote_value(v) + "\n";
  for (const auto& l : mf.license) out += "LICENSE " + quote_value(l) + "\n";
  for (const auto& m : mf.messages) out += "MESSAGE " + m.role + " " + quote_value(m.content) + "\n";
  return out;
}

}  // namespace r1::api
