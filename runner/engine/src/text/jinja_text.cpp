#include "jinja_text.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <memory>

#include "r1/engine/utf8.h"

namespace r1::engine::jinja::detail::text {

bool is_space(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

namespace {

// Start of the code point that ends just before byte offset `end`.
std::size_t prev_start(const std::string& s, std::size_t end) {
  std::size_t p = end - 1;
  while (p > 0 && (static_cast<unsigned char>(s[p]) & 0xC0) == 0x80 && end - p < 4) --p;
  return p;
}

bool space_at(const std::string& s, std::size_t pos, std::size_t* len) {
  char32_t cp = 0;
  *len = utf8::decode(s, pos, &cp);
  return is_space(cp);
}

}  // namespace

std::string strip(const std::string& s, const std::string* chars, bool left, bool right) {
  std::vector<char32_t> set;
  if (chars) set = utf8::to_code_points(*chars);
  auto drop = [&](char32_t cp) {
    return chars ? std::find(set.begin(), set.end(), cp) != set.end() : is_space(cp);
  };
  std::size_t a = 0, b = s.size();
  while (left && a < b) {
    char32_t cp = 0;
    const std::size_t n = utf8::decode(s, a, &cp);
    if (!drop(cp)) break;
    a += n;
  }
  while (right && b > a) {
    const std::size_t p = std::max(prev_start(s, b), a);
    char32_t cp = 0;
    utf8::decode(s, p, &cp);
    if (!drop(cp)) break;
    b = p;
  }
  return s.substr(a, b - a);
}

std::vector<std::string> split(const std::string& s, const std::string& sep, std::int64_t maxsplit, bool from_right) {
  std::vector<std::string> pieces;
  std::int64_t splits = 0;
  if (!from_right) {
    std::size_t pos = 0;
    while (maxsplit < 0 || splits < maxsplit) {
      const std::size_t at = s.find(sep, pos);
      if (at == std::string::npos) break;
      pieces.push_back(s.substr(pos, at - pos));
      pos = at + sep.size();
      ++splits;
    }
    pieces.push_back(s.substr(pos));
    return pieces;
  }
  std::size_t end = s.size();
  while ((maxsplit < 0 || splits < maxsplit) && end >= sep.size()) {
    const std::size_t at = s.rfind(sep, end - sep.size());
    if (at == std::string::npos) break;
    pieces.push_back(s.substr(at + sep.size(), end - at - sep.size()));
    end = at;
    ++splits;
  }
  pieces.push_back(s.substr(0, end));
  std::reverse(pieces.begin(), pieces.end());
  return pieces;
}

std::vector<std::string> split_whitespace(const std::string& s, std::int64_t maxsplit, bool from_right) {
  std::vector<std::string> out;
  std::int64_t splits = 0;
  std::size_t n = 0;
  if (!from_right) {
    std::size_t pos = 0;
    while (true) {
      while (pos < s.size() && space_at(s, pos, &n)) pos += n;
      if (pos >= s.size()) break;
      if (maxsplit >= 0 && splits == maxsplit) {
        out.push_back(s.substr(pos));
        break;
      }
      std::size_t end = pos;
      while (end < s.size() && !space_at(s, end, &n)) end += n;
      out.push_back(s.substr(pos, end - pos));
      ++splits;
      pos = end;
    }
    return out;
  }
  std::size_t end = s.size();
  while (true) {
    while (end > 0 && space_at(s, prev_start(s, end), &n)) end = prev_start(s, end);
    if (end == 0) break;
    if (maxsplit >= 0 && splits == maxsplit) {
      out.push_back(s.substr(0, end));
      break;
    }
    std::size_t start = end;
    while (start > 0 && !space_at(s, prev_start(s, start), &n)) start = prev_start(s, start);
    out.push_back(s.substr(start, end - start));
    ++splits;
    end = start;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::string replace(const std::string& s, const std::string& from, const std::string& to, std::int64_t count) {
  std::string out;
  std::int64_t done = 0;
  if (from.empty()) {
    // Python inserts `to` before every character and at the end.
    std::size_t pos = 0;
    while (pos < s.size()) {
      if (count < 0 || done < count) {
        out += to;
        ++done;
      }
      char32_t cp = 0;
      const std::size_t n = utf8::decode(s, pos, &cp);
      out.append(s, pos, n);
      pos += n;
    }
    if (count < 0 || done < count) out += to;
    return out;
  }
  std::size_t pos = 0;
  while (count < 0 || done < count) {
    const std::size_t at = s.find(from, pos);
    if (at == std::string::npos) break;
    out.append(s, pos, at - pos);
    out += to;
    pos = at + from.size();
    ++done;
  }
  out.append(s, pos, std::string::npos);
  return out;
}

std::string upper(const std::string& s) {
  std::string out = s;
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  }
  return out;
}

std::string lower(const std::string& s) {
  std::string out = s;
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

std::string title(const std::string& s) {
  std::string out = s;
  bool prev_cased = false;
  for (char& c : out) {
    const bool is_lower = c >= 'a' && c <= 'z', is_upper = c >= 'A' && c <= 'Z';
    if (is_lower && !prev_cased) c = static_cast<char>(c - 32);
    else if (is_upper && prev_cased) c = static_cast<char>(c + 32);
    prev_cased = is_lower || is_upper;
  }
  return out;
}

std::string capitalize(const std::string& s) {
  std::string out = lower(s);
  if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 32);
  return out;
}

bool char_class_test(const std::string& s, const std::string& method) {
  if (s.empty()) return false;
  if (method == "isupper" || method == "islower") {
    bool cased = false;
    for (char c : s) {
      if ((method == "isupper" && c >= 'a' && c <= 'z') || (method == "islower" && c >= 'A' && c <= 'Z')) return false;
      cased = cased || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }
    return cased;
  }
  for (char32_t cp : utf8::to_code_points(s)) {
    const bool digit = cp >= '0' && cp <= '9';
    const bool alpha = (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
    if (method == "isdigit" && !digit) return false;
    if (method == "isalpha" && !alpha) return false;
    if (method == "isalnum" && !alpha && !digit) return false;
    if (method == "isspace" && !is_space(cp)) return false;
  }
  return true;
}

std::int64_t count_words(const std::string& s) {
  static pcre2_code* const word = [] {
    int err = 0;
    PCRE2_SIZE off = 0;
    return pcre2_compile(reinterpret_cast<PCRE2_SPTR>("\\w+"), PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &err,
                         &off, nullptr);
  }();
  if (word == nullptr) return 0;
  const std::string clean = utf8::sanitize(s);
  std::unique_ptr<pcre2_match_data, void (*)(pcre2_match_data*)> md(pcre2_match_data_create_from_pattern(word, nullptr),
                                                                     pcre2_match_data_free);
  std::int64_t n = 0;
  std::size_t start = 0;
  while (start < clean.size() &&
         pcre2_match(word, reinterpret_cast<PCRE2_SPTR>(clean.data()), clean.size(), start, 0, md.get(), nullptr) > 0) {
    ++n;
    start = pcre2_get_ovector_pointer(md.get())[1];
  }
  return n;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace r1::engine::jinja::detail::text
