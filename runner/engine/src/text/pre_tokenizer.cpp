#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <string>

#include "pre_tokenizer.h"

namespace r1::engine::detail {
namespace {

// Case-insensitive contractions are spelled out ([sS]) rather than using (?i)
// so Unicode case folding (e.g. U+017F folds to 's') cannot change the split.
constexpr const char* contractions = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";

std::vector<std::string> patterns_for(pre_tokenizer_kind kind) {
  const std::string c = contractions;
  switch (kind) {
    case pre_tokenizer_kind::qwen2:
      return {c + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"};
    case pre_tokenizer_kind::llama3:
      return {c +
              "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"};
    case pre_tokenizer_kind::deepseek3:
      return {"\\p{N}{1,3}", "[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+",
              "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| "
              "?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"};
  }
  return {};
}

struct code_deleter {
  void operator()(pcre2_code* c) const { pcre2_code_free(c); }
};
struct match_data_deleter {
  void operator()(pcre2_match_data* m) const { pcre2_match_data_free(m); }
};
using code_ptr = std::unique_ptr<pcre2_code, code_deleter>;
using match_data_ptr = std::unique_ptr<pcre2_match_data, match_data_deleter>;

}  // namespace

struct pre_tokenizer::impl {
  std::vector<code_ptr> codes;
};

pre_tokenizer::~pre_tokenizer() = default;

result<std::unique_ptr<pre_tokenizer>> pre_tokenizer::create(pre_tokenizer_kind kind) {
  std::unique_ptr<pre_tokenizer> p(new pre_tokenizer());
  p->impl_ = std::make_unique<impl>();
  for (const std::string& pattern : patterns_for(kind)) {
    int err = 0;
    PCRE2_SIZE err_offset = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                     PCRE2_UTF | PCRE2_UCP, &err, &err_offset, nullptr);
    if (code == nullptr) {
      PCRE2_UCHAR buf[256];
      pcre2_get_error_message(err, buf, sizeof(buf));
      return internal_error("pre-tokenizer regex does not compile at offset " + std::to_string(err_offset) + ": " +
                            reinterpret_cast<const char*>(buf));
    }
    // JIT is an optimisation only; the interpreter gives the same matches.
    (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    p->impl_->codes.emplace_back(code);
  }
  return p;
}

void pre_tokenizer::split(std::string_view text, std::vector<std::string_view>& out) const {
  std::vector<std::string_view> current{text};
  std::vector<std::string_view> next;
  for (const code_ptr& code : impl_->codes) {
    match_data_ptr md(pcre2_match_data_create_from_pattern(code.get(), nullptr));
    next.clear();
    for (std::string_view piece : current) {
      const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
      std::size_t start = 0;
      while (start < piece.size()) {
        const int rc = pcre2_match(code.get(), subject, piece.size(), start, PCRE2_NO_UTF_CHECK, md.get(), nullptr);
        if (rc < 0) break;  // no further match (or a match limit): the rest is one gap
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
        std::size_t m0 = ov[0], m1 = ov[1];
        if (m0 > start) next.push_back(piece.substr(start, m0 - start));
        if (m1 == m0) {
          // Our patterns never match empty; guard anyway by stepping one code point.
          m1 = m0 + 1;
          while (m1 < piece.size() && (static_cast<unsigned char>(piece[m1]) & 0xC0) == 0x80) ++m1;
        }
        next.push_back(piece.substr(m0, m1 - m0));
        start = m1;
      }
      if (start < piece.size()) next.push_back(piece.substr(start));
    }
    current.swap(next);
  }
  out.insert(out.end(), current.begin(), current.end());
}

}  // namespace r1::engine::detail
