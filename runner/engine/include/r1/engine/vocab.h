// The vocabulary of a byte-level BPE model, independent of where it came from.
//
// A vocab is a plain value: token texts (in the GPT-2 byte-to-unicode
// alphabet for normal tokens, raw text for added tokens), token types, merge
// rules and the special ids. It is filled from GGUF metadata
// (tokenizer.ggml.*) by the loader, or from a Hugging Face tokenizer.json by
// vocab_from_tokenizer_json() for tests and tools. finalize() validates it
// and derives the end-of-generation set; tokenizer::create() calls it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "r1/base/status.h"

namespace r1::engine {

using token_id = std::int32_t;
inline constexpr token_id no_token = -1;

// Values of tokenizer.ggml.token_type.
enum class token_type : std::int32_t {
  undefined = 0,
  normal = 1,
  unknown = 2,
  control = 3,
  user_defined = 4,
  unused = 5,
  byte = 6,
};

// Pre-tokenizers (regex splitters) we implement; see tokenizer-and-templates
// notes in docs/dev/tokenizer.md.
enum class pre_tokenizer_kind { qwen2, llama3, deepseek3 };

// Maps a tokenizer.ggml.pre value ("qwen2", "deepseek-r1-qwen", "llama-bpe",
// "llama3", "deepseek-v3", ...) to a kind; invalid_argument for names we do
// not implement (the caller must refuse the model rather than degrade).
result<pre_tokenizer_kind> pre_tokenizer_from_name(std::string_view name);

struct vocab {
  std::vector<std::string> tokens;       // index = token id
  std::vector<token_type> types;         // same size as tokens
  std::vector<std::string> merges;       // "left right", index = rank
  std::string pre = "qwen2";             // tokenizer.ggml.pre
  token_id bos = no_token;
  token_id eos = no_token;
  token_id eot = no_token;
  token_id eom = no_token;
  token_id pad = no_token;
  std::vector<token_id> extra_eos;       // tokenizer.ggml.eos_token_ids
  std::optional<bool> add_bos;           // unset: the pre-tokenizer's default
  bool add_eos = false;
  std::string chat_template;             // tokenizer.chat_template, may be empty

  // Derived by finalize():
  std::vector<token_id> eog;             // sorted, unique end-of-generation ids

  // Checks sizes and ids (corrupt on failure, naming the bad entry), resolves
  // add_bos, and derives eog the way llama.cpp does: eos, eot, eom, the extra
  // eos ids, and tokens whose text is a known end-of-turn or FIM marker.
  status finalize();

  // Id of the token with exactly this text, or no_token. Linear; for setup only.
  token_id find(std::string_view text) const;
  bool is_eog(token_id id) const;
};

// Builds a vocab from a Hugging Face tokenizer.json (model.vocab,
// model.merges as "a b" strings or [a, b] pairs, added_tokens). Added tokens
// become control when HF marks them special or their text looks special
// (<|...|> or <｜...｜>), user_defined otherwise, as the GGUF converter does.
// tokenizer_config_json (optional) supplies bos/eos tokens, add_bos_token,
// add_eos_token and chat_template. pre, when empty, is detected from the
// pre_tokenizer's split regexes. Errors: corrupt with the failing field.
result<vocab> vocab_from_tokenizer_json(std::string_view tokenizer_json,
                                        std::string_view tokenizer_config_json = {},
                                        std::string_view pre = {});

}  // namespace r1::engine
