// Template and expression lexing with Jinja2's whitespace rules.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "jinja_ast.h"
#include "r1/engine/utf8.h"

namespace r1::engine::jinja::detail {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || (c >= 0x1C && c <= 0x1F);
}

std::string normalize_newlines(std::string_view src) {
  std::string out;
  out.reserve(src.size());
  for (std::size_t i = 0; i < src.size(); ++i) {
    if (src[i] == '\r') {
      out += '\n';
      if (i + 1 < src.size() && src[i + 1] == '\n') ++i;
    } else {
      out += src[i];
    }
  }
  return out;
}

int line_at(const std::string& s, std::size_t pos) {
  return 1 + static_cast<int>(std::count(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(pos), '\n'));
}

status syntax_error(int line, const std::string& msg) {
  return invalid_argument("template line " + std::to_string(line) + ": " + msg);
}

// Position of the closing delimiter of a tag starting at `from`, skipping
// string literals and balanced brackets (as Jinja2's lexer does, so
// "{{ {'a': {}} }}" closes at the last "}}"); npos if missing.
std::size_t find_close(const std::string& s, std::size_t from, std::string_view close) {
  char quote = 0;
  std::size_t depth = 0;
  for (std::size_t i = from; i < s.size(); ++i) {
    const char c = s[i];
    if (quote) {
      if (c == '\\') ++i;
      else if (c == quote) quote = 0;
      continue;
    }
    if (depth == 0 && s.compare(i, close.size(), close) == 0) return i;
    if (c == '\'' || c == '"') quote = c;
    else if (c == '(' || c == '[' || c == '{') ++depth;
    else if ((c == ')' || c == ']' || c == '}') && depth > 0) --depth;
  }
  return std::string::npos;
}

struct tag {
  segment_kind kind;
  std::size_t start, content_begin, content_end, end;  // end: one past the closer
  char left = 0, right = 0;                             // '-', '+' or 0
};

result<tag> read_tag(const std::string& s, std::size_t start) {
  tag t{};
  t.start = start;
  const char second = s[start + 1];
  t.kind = second == '{' ? segment_kind::variable : second == '%' ? segment_kind::block : segment_kind::comment;
  const std::string_view close = t.kind == segment_kind::variable ? "}}" : t.kind == segment_kind::block ? "%}" : "#}";
  std::size_t p = start + 2;
  if (p < s.size() && (s[p] == '-' || s[p] == '+')) t.left = s[p++];
  t.content_begin = p;
  const std::size_t close_at = t.kind == segment_kind::comment ? s.find(close, p) : find_close(s, p, close);
  if (close_at == std::string::npos) {
    return syntax_error(line_at(s, start), std::string("tag is never closed (missing '") + std::string(close) + "')");
  }
  t.content_end = close_at;
  if (close_at > p && (s[close_at - 1] == '-' || s[close_at - 1] == '+')) {
    t.right = s[close_at - 1];
    t.content_end = close_at - 1;
  }
  t.end = close_at + 2;
  return t;
}

std::string trim_copy(std::string_view v) {
  std::size_t a = 0, b = v.size();
  while (a < b && is_space(v[a])) ++a;
  while (b > a && is_space(v[b - 1])) --b;
  return std::string(v.substr(a, b - a));
}

// {% raw %}...{% endraw %}: the literal text up to the end tag, which is
// stored in *end_tag (its trailing whitespace rules apply as for any tag).
result<std::string> read_raw(const std::string& s, std::size_t pos, int line, tag* end_tag) {
  std::size_t search = pos;
  while (true) {
    const std::size_t open = s.find("{%", search);
    if (open == std::string::npos) return syntax_error(line, "{% raw %} without {% endraw %}");
    R1_ASSIGN_OR_RETURN(tag t, read_tag(s, open));
    if (trim_copy(std::string_view(s).substr(t.content_begin, t.content_end - t.content_begin)) == "endraw") {
      std::string text = s.substr(pos, open - pos);
      if (t.left == '-') {
        while (!text.empty() && is_space(text.back())) text.pop_back();
      }
      *end_tag = t;
      return text;
    }
    search = open + 2;
  }
}

}  // namespace

result<std::vector<segment>> lex_template(std::string_view source, const options& opts) {
  std::string s = normalize_newlines(source);
  if (!opts.keep_trailing_newline && !s.empty() && s.back() == '\n') s.pop_back();
  std::vector<segment> out;
  std::size_t pos = 0;
  bool line_starting = true;
  while (pos <= s.size()) {
    std::size_t open = std::string::npos;
    for (std::size_t i = s.find('{', pos); i != std::string::npos && i + 1 < s.size(); i = s.find('{', i + 1)) {
      if (s[i + 1] == '{' || s[i + 1] == '%' || s[i + 1] == '#') {
        open = i;
        break;
      }
    }
    std::string text = s.substr(pos, (open == std::string::npos ? s.size() : open) - pos);
    if (open == std::string::npos) {
      if (!text.empty()) out.push_back({segment_kind::text, std::move(text), line_at(s, pos)});
      break;
    }
    R1_ASSIGN_OR_RETURN(tag t, read_tag(s, open));
    if (t.left == '-') {
      while (!text.empty() && is_space(text.back())) text.pop_back();
    } else if (opts.lstrip_blocks && t.kind != segment_kind::variable && t.left != '+') {
      const std::size_t nl = text.rfind('\n');
      const std::size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
      if ((l_pos > 0 || line_starting) && l_pos < text.size() &&
          std::all_of(text.begin() + static_cast<std::ptrdiff_t>(l_pos), text.end(), is_space)) {
        text.erase(l_pos);
      }
    }
    const int line = line_at(s, open);
    if (!text.empty()) out.push_back({segment_kind::text, std::move(text), line_at(s, pos)});
    std::string content = s.substr(t.content_begin, t.content_end - t.content_begin);
    pos = t.end;
    if (t.kind == segment_kind::block && trim_copy(content) == "raw") {
      std::size_t raw_begin = pos;
      if (t.right == '-') {
        while (raw_begin < s.size() && is_space(s[raw_begin])) ++raw_begin;
      } else if (opts.trim_blocks && t.right != '+' && raw_begin < s.size() && s[raw_begin] == '\n') {
        ++raw_begin;
      }
      tag end_tag{};
      R1_ASSIGN_OR_RETURN(std::string raw, read_raw(s, raw_begin, line, &end_tag));
      if (!raw.empty()) out.push_back({segment_kind::text, std::move(raw), line});
      t = end_tag;
      pos = t.end;
    } else if (t.kind != segment_kind::comment) {
      out.push_back({t.kind, std::move(content), line});
    }
    const std::size_t before = pos;
    if (t.right == '-') {
      while (pos < s.size() && is_space(s[pos])) ++pos;
    } else if (opts.trim_blocks && t.kind != segment_kind::variable && t.right != '+' && pos < s.size() &&
               s[pos] == '\n') {
      ++pos;
    }
    line_starting = pos > before && s[pos - 1] == '\n';
    if (pos == s.size()) break;
  }
  return out;
}

namespace {

void append_escape(std::string& out, std::string_view src, std::size_t& i) {
  // src[i] is the character after a backslash; Python unicode-escape rules.
  const char c = src[i];
  auto hex = [&](int digits) -> bool {
    if (i + static_cast<std::size_t>(digits) >= src.size()) return false;
    unsigned long v = 0;
    for (int k = 1; k <= digits; ++k) {
      const char h = src[i + static_cast<std::size_t>(k)];
      if (!std::isxdigit(static_cast<unsigned char>(h))) return false;
      v = v * 16 + static_cast<unsigned long>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
    }
    utf8::append(out, static_cast<char32_t>(v));
    i += static_cast<std::size_t>(digits);
    return true;
  };
  switch (c) {
    case 'n': out += '\n'; return;
    case 't': out += '\t'; return;
    case 'r': out += '\r'; return;
    case '\\': out += '\\'; return;
    case '\'': out += '\''; return;
    case '"': out += '"'; return;
    case 'a': out += '\a'; return;
    case 'b': out += '\b'; return;
    case 'f': out += '\f'; return;
    case 'v': out += '\v'; return;
    case '\n': return;  // line continuation
    case 'x': if (hex(2)) return; break;
    case 'u': if (hex(4)) return; break;
    case 'U': if (hex(8)) return; break;
    default:
      if (c >= '0' && c <= '7') {
        unsigned v = 0;
        int n = 0;
        while (n < 3 && i < src.size() && src[i] >= '0' && src[i] <= '7') {
          v = v * 8 + static_cast<unsigned>(src[i] - '0');
          ++i;
          ++n;
        }
        --i;
        utf8::append(out, static_cast<char32_t>(v));
        return;
      }
  }
  out += '\\';
  out += c;
}

}  // namespace

result<std::vector<token>> lex_expression(std::string_view src, int line) {
  static const char* const two_char_ops[] = {"**", "//", "==", "!=", "<=", ">="};
  std::vector<token> out;
  std::size_t i = 0;
  while (i < src.size()) {
    const char c = src[i];
    if (is_space(c)) {
      ++i;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t j = i;
      while (j < src.size() && (std::isalnum(static_cast<unsigned char>(src[j])) || src[j] == '_')) ++j;
      out.push_back({token_kind::name, std::string(src.substr(i, j - i))});
      i = j;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      std::size_t j = i;
      while (j < src.size() && (std::isdigit(static_cast<unsigned char>(src[j])) || src[j] == '_')) ++j;
      bool is_float = false;
      if (j + 1 < src.size() && src[j] == '.' && std::isdigit(static_cast<unsigned char>(src[j + 1]))) {
        is_float = true;
        ++j;
        while (j < src.size() && std::isdigit(static_cast<unsigned char>(src[j]))) ++j;
      }
      if (j < src.size() && (src[j] == 'e' || src[j] == 'E')) {
        std::size_t k = j + 1;
        if (k < src.size() && (src[k] == '+' || src[k] == '-')) ++k;
        if (k < src.size() && std::isdigit(static_cast<unsigned char>(src[k]))) {
          is_float = true;
          j = k;
          while (j < src.size() && std::isdigit(static_cast<unsigned char>(src[j]))) ++j;
        }
      }
      std::string num(src.substr(i, j - i));
      num.erase(std::remove(num.begin(), num.end(), '_'), num.end());
      token t{is_float ? token_kind::floating : token_kind::integer, num};
      errno = 0;
      if (is_float) {
        t.f = std::strtod(num.c_str(), nullptr);
      } else {
        t.i = std::strtoll(num.c_str(), nullptr, 10);
        if (errno == ERANGE) return syntax_error(line, "integer literal out of range: " + num);
      }
      out.push_back(std::move(t));
      i = j;
    } else if (c == '\'' || c == '"') {
      std::string text;
      std::size_t j = i + 1;
      while (j < src.size() && src[j] != c) {
        if (src[j] == '\\' && j + 1 < src.size()) {
          ++j;
          append_escape(text, src, j);
          ++j;
        } else {
          text += src[j++];
        }
      }
      if (j >= src.size()) return syntax_error(line, "unterminated string literal");
      out.push_back({token_kind::string, std::move(text)});
      i = j + 1;
    } else {
      std::string op(1, c);
      for (const char* two : two_char_ops) {
        if (src.substr(i, 2) == two) op = two;
      }
      if (op.size() == 1 && std::strchr("+-*/%~|.,:()[]{}=<>!", c) == nullptr) {
        return syntax_error(line, std::string("unexpected character '") + c + "'");
      }
      out.push_back({token_kind::op, op});
      i += op.size();
    }
  }
  out.push_back({token_kind::end, ""});
  return out;
}

}  // namespace r1::engine::jinja::detail
