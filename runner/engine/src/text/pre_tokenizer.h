// Regex pre-tokenizers (the "Split, Isolated" steps of Hugging Face
// tokenizers), implemented with PCRE2 in UTF + Unicode-property mode.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "r1/base/status.h"
#include "r1/engine/vocab.h"

namespace r1::engine::detail {

class pre_tokenizer {
 public:
  // Compiles the patterns of `kind`; internal error if PCRE2 refuses them.
  static result<std::unique_ptr<pre_tokenizer>> create(pre_tokenizer_kind kind);
  ~pre_tokenizer();
  pre_tokenizer(const pre_tokenizer&) = delete;
  pre_tokenizer& operator=(const pre_tokenizer&) = delete;

  // Splits well-formed UTF-8 `text` into pieces (views into text): each
  // pattern in turn splits every piece so far into its matches and the gaps
  // between them. Thread-safe (match data is per call).
  void split(std::string_view text, std::vector<std::string_view>& out) const;

 private:
  pre_tokenizer() = default;
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace r1::engine::detail
