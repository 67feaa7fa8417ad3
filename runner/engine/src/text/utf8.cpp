#include "r1/engine/utf8.h"

namespace r1::engine::utf8 {
namespace {

bool is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

// Valid range of the second byte for a given lead byte (Unicode Table 3-7);
// this is what makes overlongs and surrogates ill-formed at the second byte.
void second_byte_range(unsigned char lead, unsigned char* lo, unsigned char* hi) {
  *lo = 0x80;
  *hi = 0xBF;
  if (lead == 0xE0) *lo = 0xA0;
  if (lead == 0xED) *hi = 0x9F;
  if (lead == 0xF0) *lo = 0x90;
  if (lead == 0xF4) *hi = 0x8F;
}

// Sequence length announced by a lead byte, 0 when it cannot start one.
std::size_t sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

}  // namespace

std::size_t decode(std::string_view text, std::size_t pos, char32_t* cp) {
  const auto lead = static_cast<unsigned char>(text[pos]);
  const std::size_t len = sequence_length(lead);
  if (len == 1) {
    *cp = lead;
    return 1;
  }
  *cp = replacement_char;
  if (len == 0) return 1;
  char32_t value = lead & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
  for (std::size_t i = 1; i < len; ++i) {
    if (pos + i >= text.size()) return i;  // truncated: the maximal subpart so far
    const auto c = static_cast<unsigned char>(text[pos + i]);
    if (i == 1) {
      unsigned char lo = 0, hi = 0;
      second_byte_range(lead, &lo, &hi);
      if (c < lo || c > hi) return 1;
    } else if (!is_cont(c)) {
      return i;
    }
    value = (value << 6) | (c & 0x3F);
  }
  *cp = value;
  return len;
}

void append(std::string& out, char32_t cp) {
  if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) cp = replacement_char;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string encode(char32_t cp) {
  std::string s;
  append(s, cp);
  return s;
}

bool is_valid(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp = 0;
    const std::size_t n = decode(text, pos, &cp);
    if (cp == replacement_char && text.compare(pos, n, "\xEF\xBF\xBD") != 0) return false;
    pos += n;
  }
  return true;
}

std::string sanitize(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp = 0;
    const std::size_t n = decode(text, pos, &cp);
    if (cp == replacement_char) {
      append(out, cp);
    } else {
      out.append(text.substr(pos, n));
    }
    pos += n;
  }
  return out;
}

std::vector<char32_t> to_code_points(std::string_view text) {
  std::vector<char32_t> cps;
  cps.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp = 0;
    pos += decode(text, pos, &cp);
    cps.push_back(cp);
  }
  return cps;
}

std::string from_code_points(const std::vector<char32_t>& cps) {
  std::string out;
  out.reserve(cps.size());
  for (char32_t cp : cps) append(out, cp);
  return out;
}

std::size_t incomplete_suffix_length(std::string_view text) {
  // Look at most 3 bytes back for a lead byte whose sequence is cut short.
  const std::size_t n = text.size();
  for (std::size_t back = 1; back <= 3 && back <= n; ++back) {
    const auto c = static_cast<unsigned char>(text[n - back]);
    if (is_cont(c)) continue;
    const std::size_t len = sequence_length(c);
    if (len <= back) return 0;  // ASCII, invalid lead, or complete sequence
    // Check that what we have so far is a valid prefix.
    char32_t cp = 0;
    const std::size_t got = decode(text, n - back, &cp);
    return got == back ? back : 0;
  }
  return 0;
}

std::string stream_decoder::push(std::string_view bytes) {
  pending_.append(bytes);
  const std::size_t keep = incomplete_suffix_length(pending_);
  std::string out = sanitize(std::string_view(pending_).substr(0, pending_.size() - keep));
  pending_.erase(0, pending_.size() - keep);
  return out;
}

std::string stream_decoder::finish() {
  std::string out = sanitize(pending_);
  pending_.clear();
  return out;
}

}  // namespace r1::engine::utf8
