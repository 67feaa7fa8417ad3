#include <algorithm>
#include <array>

#include "r1/engine/vocab.h"

namespace r1::engine {

result<pre_tokenizer_kind> pre_tokenizer_from_name(std::string_view name) {
  if (name == "qwen2" || name == "deepseek-r1-qwen" || name == "kormo") return pre_tokenizer_kind::qwen2;
  if (name == "llama3" || name == "llama-v3" || name == "llama-bpe" || name == "falcon3") {
    return pre_tokenizer_kind::llama3;
  }
  if (name == "deepseek-v3") return pre_tokenizer_kind::deepseek3;
  return invalid_argument("pre-tokenizer '" + std::string(name) +
                          "' is not supported (known: qwen2, deepseek-r1-qwen, llama-bpe, deepseek-v3)");
}

namespace {

// Texts that end a turn or are FIM control markers; generation stops on them.
constexpr std::array<std::string_view, 16> eog_texts = {
    "<|eot_id|>",        "<|im_end|>",      "<|end|>",        "<|endoftext|>",
    "<|eom_id|>",        "<EOT>",           "_<EOT>",         "<|end_of_text|>",
    "<end_of_turn>",     "<|fim_pad|>",     "<|repo_name|>",  "<|file_sep|>",
    "<fim-pad>",         "<reponame>",      "<file_sep>",     "<｜end▁of▁sentence｜>",
};

bool valid_id(token_id id, std::size_t n) { return id == no_token || (id >= 0 && static_cast<std::size_t>(id) < n); }

}  // namespace

status vocab::finalize() {
  if (tokens.empty()) return corrupt("vocab: no tokens");
  if (types.empty()) types.assign(tokens.size(), token_type::normal);
  if (types.size() != tokens.size()) {
    return corrupt("vocab: " + std::to_string(tokens.size()) + " tokens but " + std::to_string(types.size()) +
                   " token types");
  }
  const std::size_t n = tokens.size();
  const std::pair<const char*, token_id> ids[] = {{"bos", bos}, {"eos", eos}, {"eot", eot}, {"eom", eom}, {"pad", pad}};
  for (const auto& [name, id] : ids) {
    if (!valid_id(id, n)) {
      return corrupt(std::string("vocab: ") + name + " token id " + std::to_string(id) + " is out of range (" +
                     std::to_string(n) + " tokens)");
    }
  }
  for (token_id id : extra_eos) {
    if (id < 0 || static_cast<std::size_t>(id) >= n) {
      return corrupt("vocab: eos_token_ids entry " + std::to_string(id) + " is out of range");
    }
  }
  R1_ASSIGN_OR_RETURN(pre_tokenizer_kind kind, pre_tokenizer_from_name(pre));
  if (!add_bos.has_value()) add_bos = (kind == pre_tokenizer_kind::llama3);

  eog.clear();
  for (token_id id : {eos, eot, eom}) {
    if (id != no_token) eog.push_back(id);
  }
  eog.insert(eog.end(), extra_eos.begin(), extra_eos.end());
  for (std::size_t i = 0; i < n; ++i) {
    if (types[i] != token_type::control && types[i] != token_type::user_defined) continue;
    if (std::find(eog_texts.begin(), eog_texts.end(), tokens[i]) != eog_texts.end()) {
      eog.push_back(static_cast<token_id>(i));
    }
  }
  std::sort(eog.begin(), eog.end());
  eog.erase(std::unique(eog.begin(), eog.end()), eog.end());
  return ok_status();
}

token_id vocab::find(std::string_view text) const {
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] == text) return static_cast<token_id>(i);
  }
  return no_token;
}

bool vocab::is_eog(token_id id) const { return std::binary_search(eog.begin(), eog.end(), id); }

}  // namespace r1::engine
