// Tokenizer metadata for test models: loaded from a Hugging Face
// tokenizer.json (+ tokenizer_config.json) and converted the way llama.cpp's
// convert_hf_to_gguf.py writes it (tokenizer.ggml.*), or a small synthetic
// byte-level vocabulary when no tokenizer is given.
//
// Plain values; no ownership beyond the vectors; not thread-shared.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "r1/base/status.h"
#include "r1/gguf/writer.h"

namespace r1::mkmodel {

// tokenizer.ggml.token_type values.
enum class token_kind : int32_t { normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6 };

struct tokenizer_data {
  std::string model = "gpt2";  // tokenizer.ggml.model
  std::string pre;             // tokenizer.ggml.pre ("qwen2", "deepseek-r1-qwen", "llama-bpe", "deepseek-v3")
  std::vector<std::string> tokens;
  std::vector<int32_t> token_types;
  std::vector<std::string> merges;  // "left right", index = rank
  std::optional<uint32_t> bos, eos, pad, unk;
  std::optional<bool> add_bos, add_eos;
  std::string chat_template;  // empty: none

  size_t size() const { return tokens.size(); }
  // Id of the token with this exact text, if any.
  std::optional<uint32_t> find(const std::string& text) const;
};

// Loads `path`: a tokenizer.json file or a directory holding tokenizer.json
// and optionally tokenizer_config.json. Picks `pre` from the pre-tokenizer
// regex (llama-bpe, qwen2, deepseek-v3). Errors: not_found, corrupt (named).
result<tokenizer_data> load_hf_tokenizer(const std::string& path);

// Turns a Qwen2 or Llama-3 vocabulary into the one the R1 distills ship:
// the DeepSeek turn tokens replace the first added tokens (Qwen ids 151643..
// 151649, and a Qwen3 vocabulary is cut back to Qwen2.5's 151665 tokens;
// Llama ids 128000, 128001, 128011..128015), bos/eos/pad point at
// them, add_bos is on, pre becomes deepseek-r1-qwen (Qwen) or llama-bpe, and
// the chat template becomes the R1-Distill template. invalid_argument for
// other vocabularies.
status apply_r1_distill(tokenizer_data& t);

// Keeps the first n tokens, every single-byte token and every added
// (control / user-defined) token, renumbered densely in their old order, and
// only the merges whose two parts and result all survive. Special ids follow
// their tokens. invalid_argument if n is smaller than 1.
status limit_vocab(tokenizer_data& t, uint32_t n);

// Pads with "[PAD<i>]" tokens of type UNUSED up to n tokens (the converter does
// this when the embedding has more rows than the tokenizer has tokens).
void pad_vocab(tokenizer_data& t, uint32_t n);

// 256 byte tokens in GPT-2 byte-to-unicode order, merges for the first few
// pairs of lower-case letters, and the DeepSeek turn tokens; R1-Distill template.
tokenizer_data synthetic_tokenizer();

// The DeepSeek-R1-Distill chat template (the February 2025 version, which
// ends the generation prompt with "<｜Assistant｜><think>\n").
const std::string& r1_distill_chat_template();

// invalid_argument naming the first token text that appears twice (llama.cpp
// refuses such vocabularies), or a special id outside the vocabulary.
status check_vocab(const tokenizer_data& t);

// Writes the tokenizer.* keys.
void write_tokenizer(const tokenizer_data& t, gguf::writer& w);

// GPT-2's byte-to-unicode map: the UTF-8 text of the symbol for byte b.
std::string byte_symbol(uint8_t b);

}  // namespace r1::mkmodel
