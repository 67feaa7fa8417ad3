// Hugging Face tokenizer.json -> GGUF tokenizer metadata, following the rules
// of llama.cpp's converter (see docs/dev/gguf.md, "Tokenizer conversion").
#include "r1/mkmodel/tokenizer_data.h"

#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "r1/base/raii.h"

namespace r1::mkmodel {
namespace {

using json = nlohmann::json;

result<json> read_json(const std::string& path) {
  R1_ASSIGN_OR_RETURN(std::string text, read_file(path, size_t{256} << 20));
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return corrupt(path + ": not valid JSON");
  return j;
}

bool starts_ends(const std::string& s, std::string_view a, std::string_view b) {
  return s.size() >= a.size() + b.size() && s.compare(0, a.size(), a) == 0 &&
         s.compare(s.size() - b.size(), b.size(), b) == 0;
}

// The converter's does_token_look_special().
bool looks_special(const std::string& t) {
  return t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]" || starts_ends(t, "<|", "|>") ||
         starts_ends(t, "<\xef\xbd\x9c", "\xef\xbd\x9c>") || starts_ends(t, "<unused", ">");
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
  return s;
}

void collect_regexes(const json& node, std::string& out) {
  if (node.is_object()) {
    if (node.contains("Regex") && node["Regex"].is_string()) out += node["Regex"].get_ref<const std::string&>() + "\n";
    for (const auto& [k, v] : node.items()) collect_regexes(v, out);
  } else if (node.is_array()) {
    for (const auto& v : node) collect_regexes(v, out);
  }
}

result<std::string> detect_pre(const json& tok, const std::string& path) {
  std::string rx;
  if (tok.contains("pre_tokenizer")) collect_regexes(tok["pre_tokenizer"], rx);
  bool contractions = rx.find("(?i:'s|'t|'re|'ve|'m|'ll|'d)") != std::string::npos;
  if (rx.find("\\p{N}{1,3}") != std::string::npos && rx.find("\xe4\xb8\x80-") != std::string::npos) return std::string("deepseek-v3");
  if (contractions && rx.find("\\p{N}{1,3}") != std::string::npos) return std::string("llama-bpe");
  if (contractions && rx.find("|\\p{N}|") != std::string::npos) return std::string("qwen2");
  return invalid_argument(path + ": cannot tell which llama.cpp pre-tokenizer this is; pass the pre-tokenizer name");
}

std::optional<std::string> config_token(const json& cfg, const char* key) {
  if (!cfg.contains(key)) return std::nullopt;
  const json& e = cfg[key];
  if (e.is_string()) return e.get<std::string>();
  if (e.is_object() && e.contains("content") && e["content"].is_string()) return e["content"].get<std::string>();
  return std::nullopt;
}

// add_bos from a TemplateProcessing post-processor whose single template starts with the BOS text.
std::optional<bool> template_adds(const json& tok, const std::string& text, bool at_start) {
  const json* pp = tok.contains("post_processor") ? &tok["post_processor"] : nullptr;
  if (!pp || !pp->is_object()) return std::nullopt;
  std::vector<const json*> procs{pp};
  if ((*pp).value("type", "") == "Sequence" && pp->contains("processors") && (*pp)["processors"].is_array())
    for (const json& p : (*pp)["processors"]) procs.push_back(&p);
  for (const json* p : procs) {
    if (!p->is_object() || p->value("type", "") != "TemplateProcessing" || !p->contains("single")) continue;
    const json& single = (*p)["single"];
    if (!single.is_array() || single.empty()) return false;
    const json& e = at_start ? single.front() : single.back();
    return e.is_object() && e.contains("SpecialToken") && e["SpecialToken"].is_object() &&
           e["SpecialToken"].value("id", "") == text;
  }
  return std::nullopt;
}

status read_vocab(const json& tok, const std::string& path, tokenizer_data& t,
                  std::map<uint32_t, const json*>& added) {
  if (!tok.contains("model") || !tok["model"].is_object() || !tok["model"].contains("vocab") ||
      !tok["model"]["vocab"].is_object())
    return corrupt(path + ": no model.vocab object");
  if (tok["model"].value("type", "BPE") != "BPE") return invalid_argument(path + ": only BPE tokenizers are supported");
  std::map<uint32_t, std::string> by_id;
  for (const auto& [text, id] : tok["model"]["vocab"].items()) {
    if (!id.is_number_unsigned()) return corrupt(path + ": vocab entry '" + text + "' has no valid id");
    by_id[id.get<uint32_t>()] = text;
  }
  if (tok.contains("added_tokens") && tok["added_tokens"].is_array()) {
    for (const json& a : tok["added_tokens"]) {
      if (!a.is_object() || !a.contains("id") || !a["id"].is_number_unsigned() || !a.contains("content") ||
          !a["content"].is_string())
        return corrupt(path + ": malformed added_tokens entry");
      uint32_t id = a["id"].get<uint32_t>();
      by_id[id] = a["content"].get<std::string>();
      added[id] = &a;
    }
  }
  if (by_id.empty()) return corrupt(path + ": empty vocabulary");
  uint32_t n = by_id.rbegin()->first + 1;
  if (n > (1u << 24)) return corrupt(path + ": token id " + std::to_string(n - 1) + " is implausibly large");
  for (uint32_t i = 0; i < n; ++i) {
    auto it = by_id.find(i);
    if (it == by_id.end()) {
      t.tokens.push_back("[PAD" + std::to_string(i) + "]");
      t.token_types.push_back(static_cast<int32_t>(token_kind::unused));
      continue;
    }
    std::string text = it->second;
    token_kind kind = token_kind::normal;
    if (auto a = added.find(i); a != added.end()) {
      if (a->second->value("special", false) || looks_special(text)) {
        kind = token_kind::control;
      } else {
        kind = token_kind::user_defined;
        text = replace_all(text, "\xe2\x96\x81", " ");  // pre-normalize user-defined spaces
      }
    }
    t.tokens.push_back(std::move(text));
    t.token_types.push_back(static_cast<int32_t>(kind));
  }
  return {};
}

status read_merges(const json& tok, const std::string& path, tokenizer_data& t) {
  const json& model = tok["model"];
  if (!model.contains("merges")) return {};
  if (!model["merges"].is_array()) return corrupt(path + ": model.merges is not an array");
  for (const json& m : model["merges"]) {
    if (m.is_string()) {
      t.merges.push_back(m.get<std::string>());
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      // Pair form: a literal space inside a part is written as U+0120, as gguf-py does.
      t.merges.push_back(replace_all(m[0].get<std::string>(), " ", "\xc4\xa0") + " " +
                         replace_all(m[1].get<std::string>(), " ", "\xc4\xa0"));
    } else {
      return corrupt(path + ": malformed merge entry " + std::to_string(t.merges.size()));
    }
  }
  return {};
}

void read_config(const json& cfg, const json& tok, const std::map<uint32_t, const json*>& added, tokenizer_data& t) {
  auto id_of = [&](const char* key) -> std::optional<uint32_t> {
    auto text = config_token(cfg, key);
    if (!text) return std::nullopt;
    for (const auto& [id, a] : added)
      if ((*a)["content"] == *text) return id;
    return std::nullopt;  // the converter only looks among added tokens
  };
  t.bos = id_of("bos_token");
  t.eos = id_of("eos_token");
  t.pad = id_of("pad_token");
  t.unk = id_of("unk_token");
  if (cfg.contains("add_bos_token") && cfg["add_bos_token"].is_boolean()) t.add_bos = cfg["add_bos_token"].get<bool>();
  else if (t.bos) t.add_bos = template_adds(tok, t.tokens[*t.bos], true);
  if (cfg.contains("add_eos_token") && cfg["add_eos_token"].is_boolean()) t.add_eos = cfg["add_eos_token"].get<bool>();
  else if (t.eos) t.add_eos = template_adds(tok, t.tokens[*t.eos], false);
  if (cfg.contains("chat_template")) {
    const json& ct = cfg["chat_template"];
    if (ct.is_string()) t.chat_template = ct.get<std::string>();
    if (ct.is_array())
      for (const json& e : ct)
        if (e.is_object() && e.value("name", "") == "default" && e.contains("template") && e["template"].is_string())
          t.chat_template = e["template"].get<std::string>();
  }
}

}  // namespace

std::optional<uint32_t> tokenizer_data::find(const std::string& text) const {
  for (size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] == text) return static_cast<uint32_t>(i);
  return std::nullopt;
}

result<tokenizer_data> load_hf_tokenizer(const std::string& path) {
  std::filesystem::path p(path);
  std::error_code ec;
  std::filesystem::path tok_path = std::filesystem::is_directory(p, ec) ? p / "tokenizer.json" : p;
  std::filesystem::path cfg_path = tok_path.parent_path() / "tokenizer_config.json";
  R1_ASSIGN_OR_RETURN(json tok, read_json(tok_path.string()));
  json cfg = json::object();
  if (std::filesystem::exists(cfg_path, ec)) {
    R1_ASSIGN_OR_RETURN(cfg, read_json(cfg_path.string()));
  }
  tokenizer_data t;
  std::map<uint32_t, const json*> added;
  R1_RETURN_IF_ERROR(read_vocab(tok, tok_path.string(), t, added));
  R1_RETURN_IF_ERROR(read_merges(tok, tok_path.string(), t));
  R1_ASSIGN_OR_RETURN(t.pre, detect_pre(tok, tok_path.string()));
  read_config(cfg, tok, added, t);
  return t;
}

void pad_vocab(tokenizer_data& t, uint32_t n) {
  for (uint32_t i = static_cast<uint32_t>(t.tokens.size()); i < n; ++i) {
    t.tokens.push_back("[PAD" + std::to_string(i) + "]");
    t.token_types.push_back(static_cast<int32_t>(token_kind::unused));
  }
}

void write_tokenizer(const tokenizer_data& t, gguf::writer& w) {
  w.set_string("tokenizer.ggml.model", t.model);
  if (!t.pre.empty()) w.set_string("tokenizer.ggml.pre", t.pre);
  w.set_string_array("tokenizer.ggml.tokens", t.tokens);
  w.set_i32_array("tokenizer.ggml.token_type", t.token_types);
  if (!t.merges.empty()) w.set_string_array("tokenizer.ggml.merges", t.merges);
  if (t.bos) w.set_u32("tokenizer.ggml.bos_token_id", *t.bos);
  if (t.eos) w.set_u32("tokenizer.ggml.eos_token_id", *t.eos);
  if (t.unk) w.set_u32("tokenizer.ggml.unknown_token_id", *t.unk);
  if (t.pad) w.set_u32("tokenizer.ggml.padding_token_id", *t.pad);
  if (t.add_bos) w.set_bool("tokenizer.ggml.add_bos_token", *t.add_bos);
  if (t.add_eos) w.set_bool("tokenizer.ggml.add_eos_token", *t.add_eos);
  if (!t.chat_template.empty()) w.set_string("tokenizer.chat_template", t.chat_template);
}

std::string byte_symbol(uint8_t b) {
  auto printable = [](unsigned c) { return (c >= 33 && c <= 126) || (c >= 161 && c <= 172) || (c >= 174); };
  unsigned cp = b;
  if (!printable(b)) {
    unsigned n = 0;
    for (unsigned c = 0; c < b; ++c)
      if (!printable(c)) ++n;
    cp = 256 + n;
  }
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else {
    s += static_cast<char>(0xc0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3f));
  }
  return s;
}

}  // namespace r1::mkmodel
