#include "vocab_gguf.h"

#include <string>

namespace r1::engine {
namespace {

result<token_id> optional_id(const gguf::file& f, const char* key, size_t n_tokens) {
  R1_ASSIGN_OR_RETURN(int64_t v, f.get_int_or(key, -1));
  if (v < 0) return no_token;
  if (static_cast<uint64_t>(v) >= n_tokens) {
    return corrupt(std::string(key) + " = " + std::to_string(v) + " is outside the vocabulary of " +
                   std::to_string(n_tokens) + " tokens");
  }
  return static_cast<token_id>(v);
}

}  // namespace

result<vocab> vocab_from_gguf(const gguf::file& f) {
  R1_ASSIGN_OR_RETURN(std::string_view model, f.get_string("tokenizer.ggml.model"));
  if (model != "gpt2") {
    return invalid_argument("tokenizer.ggml.model '" + std::string(model) +
                            "' is not supported (only byte-level BPE, 'gpt2')");
  }
  vocab v;
  R1_ASSIGN_OR_RETURN(std::string_view pre, f.get_string_or("tokenizer.ggml.pre", "default"));
  v.pre = std::string(pre);
  R1_ASSIGN_OR_RETURN(auto tokens, f.get_string_array("tokenizer.ggml.tokens"));
  v.tokens.assign(tokens.begin(), tokens.end());
  const size_t n = v.tokens.size();
  if (f.has("tokenizer.ggml.token_type")) {
    R1_ASSIGN_OR_RETURN(auto types, f.get_int_array("tokenizer.ggml.token_type"));
    if (types.size() != n) {
      return corrupt("tokenizer.ggml.token_type has " + std::to_string(types.size()) + " entries for " +
                     std::to_string(n) + " tokens");
    }
    v.types.reserve(n);
    for (int64_t t : types) {
      if (t < 0 || t > 6) return corrupt("tokenizer.ggml.token_type holds an unknown type " + std::to_string(t));
      v.types.push_back(static_cast<token_type>(t));
    }
  } else {
    v.types.assign(n, token_type::normal);
  }
  if (f.has("tokenizer.ggml.merges")) {
    R1_ASSIGN_OR_RETURN(auto merges, f.get_string_array("tokenizer.ggml.merges"));
    v.merges.assign(merges.begin(), merges.end());
  }
  R1_ASSIGN_OR_RETURN(v.bos, optional_id(f, "tokenizer.ggml.bos_token_id", n));
  R1_ASSIGN_OR_RETURN(v.eos, optional_id(f, "tokenizer.ggml.eos_token_id", n));
  R1_ASSIGN_OR_RETURN(v.eot, optional_id(f, "tokenizer.ggml.eot_token_id", n));
  R1_ASSIGN_OR_RETURN(v.eom, optional_id(f, "tokenizer.ggml.eom_token_id", n));
  R1_ASSIGN_OR_RETURN(v.pad, optional_id(f, "tokenizer.ggml.padding_token_id", n));
  if (f.has("tokenizer.ggml.eos_token_ids")) {
    R1_ASSIGN_OR_RETURN(auto ids, f.get_int_array("tokenizer.ggml.eos_token_ids"));
    for (int64_t id : ids) {
      if (id < 0 || static_cast<uint64_t>(id) >= n) {
        return corrupt("tokenizer.ggml.eos_token_ids holds " + std::to_string(id) + ", outside the vocabulary");
      }
      v.extra_eos.push_back(static_cast<token_id>(id));
    }
  }
  if (f.has("tokenizer.ggml.add_bos_token")) {
    R1_ASSIGN_OR_RETURN(bool b, f.get_bool("tokenizer.ggml.add_bos_token"));
    v.add_bos = b;
  }
  R1_ASSIGN_OR_RETURN(v.add_eos, f.get_bool_or("tokenizer.ggml.add_eos_token", false));
  R1_ASSIGN_OR_RETURN(std::string_view tmpl, f.get_string_or("tokenizer.chat_template", ""));
  v.chat_template = std::string(tmpl);
  return v;
}

}  // namespace r1::engine
