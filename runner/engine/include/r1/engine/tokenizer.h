// Byte-level BPE tokenizer (GPT-2 style) for the Qwen, Llama-3 and
// DeepSeek-V3 vocabularies, and the matching detokenizer.
//
// Built once from a vocab (tokenizer::create) and immutable afterwards:
// every const method is safe to call from several threads at once (the word
// cache is internally locked). Text in may be any bytes: ill-formed UTF-8 is
// replaced by U+FFFD before tokenizing. Text out of decode() is always valid
// UTF-8; token_piece() returns raw bytes that may end inside a character, so
// streaming code should use detokenizer_stream.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "r1/base/status.h"
#include "r1/engine/utf8.h"
#include "r1/engine/vocab.h"

namespace r1::engine {

struct encode_options {
  // Prepend BOS when the vocab says add_bos, append EOS when add_eos.
  bool add_special = false;
  // Match control (and unknown) tokens written in the text. User-defined
  // tokens such as <think> are matched either way, as llama.cpp does.
  bool parse_special = false;
};

class tokenizer {
 public:
  // Validates the vocab (vocab::finalize) and builds the lookup tables.
  // Errors: corrupt for inconsistent vocabularies, invalid_argument for an
  // unsupported pre-tokenizer.
  static result<std::unique_ptr<tokenizer>> create(vocab v);
  ~tokenizer();
  tokenizer(const tokenizer&) = delete;
  tokenizer& operator=(const tokenizer&) = delete;

  std::vector<token_id> encode(std::string_view text, encode_options options = {}) const;

  // Bytes a token stands for: normal tokens through the inverse byte map,
  // user-defined tokens as their raw text, control/unknown tokens only when
  // print_special (empty otherwise), unused tokens never. Out-of-range ids
  // give an empty piece.
  const std::string& token_piece(token_id id, bool print_special = false) const;

  // Concatenated pieces, with ill-formed UTF-8 replaced by U+FFFD.
  std::string decode(const std::vector<token_id>& ids, bool print_special = false) const;

  const engine::vocab& vocab() const;
  std::size_t size() const;
  token_id bos() const;
  token_id eos() const;
  bool add_bos() const;
  bool is_eog(token_id id) const;
  // Type of a token; token_type::undefined for out-of-range ids.
  token_type type(token_id id) const;
  // Id of a token by exact text (hash lookup over all tokens), or no_token.
  token_id find(std::string_view text) const;

 private:
  tokenizer();
  struct impl;
  std::unique_ptr<impl> impl_;
};

// The BOS/EOS rule for a prompt rendered by a chat template: templates write
// bos_token themselves and the vocab also adds BOS, so when add_bos is set a
// leading BOS text is removed (and a trailing EOS text, as llama.cpp does)
// before tokenizing with add_special and parse_special on. Returns a view
// into rendered.
std::string_view strip_template_specials(std::string_view rendered, const tokenizer& tok);

// Tokenizes a rendered chat prompt: strip_template_specials, then encode with
// add_special = parse_special = true. Exactly one BOS starts the result when
// the vocab adds BOS.
std::vector<token_id> encode_rendered_prompt(std::string_view rendered, const tokenizer& tok);

// Turns a stream of generated tokens into valid UTF-8 text chunks, holding
// back bytes of a character split across tokens. One per generation; not
// thread-safe. The tokenizer must outlive it.
class detokenizer_stream {
 public:
  explicit detokenizer_stream(const tokenizer& tok, bool print_special = false)
      : tok_(tok), print_special_(print_special) {}
  // Text that became complete with this token (possibly empty).
  std::string push(token_id id);
  // Whatever is held back, an unfinished character as U+FFFD.
  std::string finish();

 private:
  const tokenizer& tok_;
  bool print_special_;
  utf8::stream_decoder utf8_;
};

}  // namespace r1::engine
