// vocab_from_tokenizer_json: the Hugging Face tokenizer.json adapter.
#include <nlohmann/json.hpp>

#include "r1/engine/vocab.h"

namespace r1::engine {
namespace {

using json = nlohmann::json;

// Non-throwing field readers: a wrong type reads as the fallback.
std::string str_field(const json& obj, const char* key, std::string fallback = {}) {
  const auto it = obj.find(key);
  return (it != obj.end() && it->is_string()) ? it->get<std::string>() : fallback;
}
bool bool_field(const json& obj, const char* key, bool fallback) {
  const auto it = obj.find(key);
  return (it != obj.end() && it->is_boolean()) ? it->get<bool>() : fallback;
}

bool looks_special(std::string_view t) {
  auto wrapped = [&](std::string_view open, std::string_view close) {
    return t.size() >= open.size() + close.size() && t.substr(0, open.size()) == open &&
           t.substr(t.size() - close.size()) == close;
  };
  return wrapped("<|", "|>") || wrapped("<｜", "｜>");
}

status read_model_vocab(const json& model, vocab& v) {
  const auto it = model.find("vocab");
  if (it == model.end() || !it->is_object()) return corrupt("tokenizer.json: model.vocab is missing or not an object");
  for (const auto& [text, idv] : it->items()) {
    if (!idv.is_number_integer()) return corrupt("tokenizer.json: model.vocab['" + text + "'] is not an integer");
    const auto id = idv.get<std::int64_t>();
    if (id < 0 || id > 10'000'000) return corrupt("tokenizer.json: model.vocab['" + text + "'] has id out of range");
    if (static_cast<std::size_t>(id) >= v.tokens.size()) {
      v.tokens.resize(static_cast<std::size_t>(id) + 1);
      v.types.resize(static_cast<std::size_t>(id) + 1, token_type::unused);
    }
    v.tokens[static_cast<std::size_t>(id)] = text;
    v.types[static_cast<std::size_t>(id)] = token_type::normal;
  }
  return ok_status();
}

status read_merges(const json& model, vocab& v) {
  const auto it = model.find("merges");
  if (it == model.end() || !it->is_array()) return corrupt("tokenizer.json: model.merges is missing or not an array");
  v.merges.reserve(it->size());
  std::size_t rank = 0;
  for (const auto& m : *it) {
    if (m.is_string()) {
      v.merges.push_back(m.get<std::string>());
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      v.merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
    } else {
      return corrupt("tokenizer.json: model.merges[" + std::to_string(rank) + "] is neither \"a b\" nor [a, b]");
    }
    ++rank;
  }
  return ok_status();
}

status read_added_tokens(const json& root, vocab& v) {
  const auto it = root.find("added_tokens");
  if (it == root.end()) return ok_status();
  if (!it->is_array()) return corrupt("tokenizer.json: added_tokens is not an array");
  for (const auto& t : *it) {
    if (!t.is_object() || !t.contains("id") || !t["id"].is_number_integer() || !t.contains("content") ||
        !t["content"].is_string()) {
      return corrupt("tokenizer.json: an added_tokens entry lacks an integer id or a string content");
    }
    const auto id = t["id"].get<std::int64_t>();
    if (id < 0 || id > 10'000'000) return corrupt("tokenizer.json: added token id out of range");
    if (static_cast<std::size_t>(id) >= v.tokens.size()) {
      v.tokens.resize(static_cast<std::size_t>(id) + 1);
      v.types.resize(static_cast<std::size_t>(id) + 1, token_type::unused);
    }
    const std::string content = t["content"].get<std::string>();
    const bool special = bool_field(t, "special", false);
    v.tokens[static_cast<std::size_t>(id)] = content;
    v.types[static_cast<std::size_t>(id)] =
        (special || looks_special(content)) ? token_type::control : token_type::user_defined;
  }
  return ok_status();
}

// Collects the Split regexes of the pre_tokenizer (a Sequence or a single Split).
void collect_split_patterns(const json& node, std::vector<std::string>& out) {
  if (!node.is_object()) return;
  if (str_field(node, "type") == "Split" && node.contains("pattern") && node["pattern"].is_object()) {
    const json& p = node["pattern"];
    if (p.contains("Regex") && p["Regex"].is_string()) out.push_back(p["Regex"].get<std::string>());
  }
  if (node.contains("pretokenizers") && node["pretokenizers"].is_array()) {
    for (const auto& child : node["pretokenizers"]) collect_split_patterns(child, out);
  }
}

result<std::string> detect_pre(const json& root) {
  std::vector<std::string> patterns;
  if (root.contains("pre_tokenizer")) collect_split_patterns(root["pre_tokenizer"], patterns);
  if (patterns.size() == 3 && patterns[0] == "\\p{N}{1,3}") return std::string("deepseek-v3");
  if (patterns.size() == 1) {
    const std::string& p = patterns[0];
    if (p.find("|\\p{N}{1,3}|") != std::string::npos) return std::string("llama-bpe");
    if (p.find("|\\p{N}|") != std::string::npos) return std::string("qwen2");
  }
  return corrupt("tokenizer.json: pre_tokenizer is not one of the known splitters (qwen2, llama-bpe, deepseek-v3)");
}

// bos_token / eos_token in tokenizer_config.json: a string or {"content": ...}.
std::string config_token_text(const json& cfg, const char* key) {
  const auto it = cfg.find(key);
  if (it == cfg.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
    return (*it)["content"].get<std::string>();
  }
  return {};
}

status apply_config(std::string_view config_text, vocab& v) {
  const json cfg = json::parse(config_text, nullptr, /*allow_exceptions=*/false);
  if (cfg.is_discarded() || !cfg.is_object()) return corrupt("tokenizer_config.json: not a JSON object");
  const std::string bos = config_token_text(cfg, "bos_token");
  const std::string eos = config_token_text(cfg, "eos_token");
  const std::string pad = config_token_text(cfg, "pad_token");
  if (!bos.empty()) v.bos = v.find(bos);
  if (!eos.empty()) v.eos = v.find(eos);
  if (!pad.empty()) v.pad = v.find(pad);
  if (cfg.contains("add_bos_token") && cfg["add_bos_token"].is_boolean()) v.add_bos = cfg["add_bos_token"].get<bool>();
  if (cfg.contains("add_eos_token") && cfg["add_eos_token"].is_boolean()) v.add_eos = cfg["add_eos_token"].get<bool>();
  if (cfg.contains("chat_template") && cfg["chat_template"].is_string()) {
    v.chat_template = cfg["chat_template"].get<std::string>();
  }
  return ok_status();
}

}  // namespace

result<vocab> vocab_from_tokenizer_json(std::string_view tokenizer_json, std::string_view tokenizer_config_json,
                                        std::string_view pre) {
  const json root = json::parse(tokenizer_json, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) return corrupt("tokenizer.json: not a JSON object");
  const auto model = root.find("model");
  if (model == root.end() || !model->is_object()) return corrupt("tokenizer.json: model is missing");
  if (str_field(*model, "type", "BPE") != "BPE") return corrupt("tokenizer.json: model.type is not BPE");

  vocab v;
  R1_RETURN_IF_ERROR(read_model_vocab(*model, v));
  R1_RETURN_IF_ERROR(read_merges(*model, v));
  R1_RETURN_IF_ERROR(read_added_tokens(root, v));
  if (pre.empty()) {
    R1_ASSIGN_OR_RETURN(v.pre, detect_pre(root));
  } else {
    v.pre = std::string(pre);
  }
  if (!tokenizer_config_json.empty()) R1_RETURN_IF_ERROR(apply_config(tokenizer_config_json, v));
  R1_RETURN_IF_ERROR(v.finalize());
  return v;
}

}  // namespace r1::engine
