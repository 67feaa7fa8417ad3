// Vocabulary edits for test models: the R1-Distill special tokens, cutting a
// vocabulary down for tiny models, and a small synthetic vocabulary.
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "r1/mkmodel/tokenizer_data.h"

namespace r1::mkmodel {
namespace {

const std::string k_bos = "<\xef\xbd\x9c" "begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>";
const std::string k_eos = "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>";
const std::string k_user = "<\xef\xbd\x9cUser\xef\xbd\x9c>";
const std::string k_assistant = "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>";
const std::string k_pad = "<\xef\xbd\x9c\xe2\x96\x81pad\xe2\x96\x81\xef\xbd\x9c>";

struct special {
  uint32_t id;
  std::string text;
  token_kind kind;
};

void set_token(tokenizer_data& t, const special& s) {
  t.tokens[s.id] = s.text;
  t.token_types[s.id] = static_cast<int32_t>(s.kind);
}

}  // namespace

const std::string& r1_distill_chat_template() {
  // Behaviour: last system message first (raw, after BOS); user turns after
  // <｜User｜>; assistant history with reasoning stripped up to the last
  // </think>; tool calls and tool outputs in DeepSeek's markers; generation
  // prompt "<｜Assistant｜><think>\n" unless the conversation ends in tool output.
  static const std::string t =
      "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}"
      "{% set ns = namespace(is_first=false, is_tool=false, is_output_first=true, system_prompt='') %}"
      "{%- for message in messages %}{%- if message['role'] == 'system' %}"
      "{% set ns.system_prompt = message['content'] %}{%- endif %}{%- endfor %}"
      "{{bos_token}}{{ns.system_prompt}}"
      "{%- for message in messages %}"
      "{%- if message['role'] == 'user' %}{%- set ns.is_tool = false -%}"
      "{{'<\xef\xbd\x9cUser\xef\xbd\x9c>' + message['content']}}{%- endif %}"
      "{%- if message['role'] == 'assistant' and message['tool_calls'] is defined and message['tool_calls'] is not none %}"
      "{%- set ns.is_tool = false -%}"
      "{%- for tool in message['tool_calls'] %}"
      "{%- if not ns.is_first %}"
      "{{'<\xef\xbd\x9c" "Assistant\xef\xbd\x9c><\xef\xbd\x9ctool\xe2\x96\x81" "calls\xe2\x96\x81" "begin\xef\xbd\x9c>"
      "<\xef\xbd\x9ctool\xe2\x96\x81" "call\xe2\x96\x81" "begin\xef\xbd\x9c>' + tool['type'] + "
      "'<\xef\xbd\x9ctool\xe2\x96\x81sep\xef\xbd\x9c>' + tool['function']['name'] + '\\n```json\\n' + "
      "tool['function']['arguments'] + '\\n```' + '<\xef\xbd\x9ctool\xe2\x96\x81" "call\xe2\x96\x81" "end\xef\xbd\x9c>'}}"
      "{%- set ns.is_first = true -%}"
      "{%- else %}"
      "{{'\\n<\xef\xbd\x9ctool\xe2\x96\x81" "call\xe2\x96\x81" "begin\xef\xbd\x9c>' + tool['type'] + "
      "'<\xef\xbd\x9ctool\xe2\x96\x81sep\xef\xbd\x9c>' + tool['function']['name'] + '\\n```json\\n' + "
      "tool['function']['arguments'] + '\\n```' + '<\xef\xbd\x9ctool\xe2\x96\x81" "call\xe2\x96\x81" "end\xef\xbd\x9c>'}}"
      "{%- endif %}"
      "{%- endfor %}"
      "{{'<\xef\xbd\x9ctool\xe2\x96\x81" "calls\xe2\x96\x81" "end\xef\xbd\x9c><\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>'}}"
      "{%- endif %}"
      "{%- if message['role'] == 'assistant' and message['content'] is not none %}"
      "{%- if ns.is_tool %}"
      "{{'<\xef\xbd\x9ctool\xe2\x96\x81outputs\xe2\x96\x81" "end\xef\xbd\x9c>' + message['content'] + "
      "'<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>'}}{%- set ns.is_tool = false -%}"
      "{%- else %}"
      "{% set content = message['content'] %}"
      "{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}"
      "{{'<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>' + content + '<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>'}}"
      "{%- endif %}"
      "{%- endif %}"
      "{%- if message['role'] == 'tool' %}{%- set ns.is_tool = true -%}"
      "{%- if ns.is_output_first %}"
      "{{'<\xef\xbd\x9ctool\xe2\x96\x81outputs\xe2\x96\x81" "begin\xef\xbd\x9c><\xef\xbd\x9ctool\xe2\x96\x81output\xe2\x96\x81" "begin\xef\xbd\x9c>' + "
      "message['content'] + '<\xef\xbd\x9ctool\xe2\x96\x81output\xe2\x96\x81" "end\xef\xbd\x9c>'}}"
      "{%- set ns.is_output_first = false %}"
      "{%- else %}"
      "{{'\\n<\xef\xbd\x9ctool\xe2\x96\x81output\xe2\x96\x81" "begin\xef\xbd\x9c>' + message['content'] + "
      "'<\xef\xbd\x9ctool\xe2\x96\x81output\xe2\x96\x81" "end\xef\xbd\x9c>'}}"
      "{%- endif %}"
      "{%- endif %}"
      "{%- endfor -%}"
      "{% if ns.is_tool %}{{'<\xef\xbd\x9ctool\xe2\x96\x81outputs\xe2\x96\x81" "end\xef\xbd\x9c>'}}{% endif %}"
      "{% if add_generation_prompt and not ns.is_tool %}{{'<\xef\xbd\x9c" "Assistant\xef\xbd\x9c><think>\\n'}}{% endif %}";
  return t;
}

status apply_r1_distill(tokenizer_data& t) {
  std::vector<special> specials;
  bool qwen = t.tokens.size() > 151649 && t.tokens[151643] == "<|endoftext|>";
  bool llama3 = t.tokens.size() > 128015 && t.tokens[128000] == "<|begin_of_text|>";
  bool already = t.find(k_bos).has_value();
  if (qwen || (already && t.pre != "llama-bpe" && t.tokens.size() > 151649)) {
    specials = {{151643, k_eos, token_kind::control},     {151644, k_user, token_kind::control},
                {151645, k_assistant, token_kind::control}, {151646, k_bos, token_kind::control},
                {151647, "<|EOT|>", token_kind::control},   {151648, "<think>", token_kind::user_defined},
                {151649, "</think>", token_kind::user_defined}};
    t.pre = "deepseek-r1-qwen";
    // Qwen3 vocabularies add <tool_response>, </tool_response>, <think>, </think> after
    // 151664; the Qwen2.5 vocabulary of the distills ends there (duplicate texts would
    // break every loader).
    if (t.tokens.size() > 151665) {
      t.tokens.resize(151665);
      t.token_types.resize(151665);
    }
  } else if (llama3 || (already && t.pre == "llama-bpe")) {
    specials = {{128000, k_bos, token_kind::control},     {128001, k_eos, token_kind::control},
                {128011, k_user, token_kind::control},    {128012, k_assistant, token_kind::control},
                {128013, "<think>", token_kind::user_defined}, {128014, "</think>", token_kind::user_defined},
                {128015, k_pad, token_kind::control}};
    t.pre = "llama-bpe";
  } else {
    return invalid_argument("the R1-Distill tokens need a Qwen2 or Llama-3 vocabulary");
  }
  for (const special& s : specials) set_token(t, s);
  t.bos = *t.find(k_bos);
  t.eos = *t.find(k_eos);
  t.pad = t.eos;
  t.add_bos = true;
  t.add_eos = false;
  t.chat_template = r1_distill_chat_template();
  return {};
}

status limit_vocab(tokenizer_data& t, uint32_t n) {
  if (n < 1) return invalid_argument("vocabulary limit must be at least 1");
  if (n >= t.tokens.size()) return {};
  std::unordered_set<std::string> bytes;
  for (int b = 0; b < 256; ++b) bytes.insert(byte_symbol(static_cast<uint8_t>(b)));
  std::vector<int64_t> remap(t.tokens.size(), -1);
  tokenizer_data out;
  out.model = t.model;
  out.pre = t.pre;
  out.add_bos = t.add_bos;
  out.add_eos = t.add_eos;
  out.chat_template = t.chat_template;
  for (size_t i = 0; i < t.tokens.size(); ++i) {
    auto kind = static_cast<token_kind>(t.token_types[i]);
    bool keep = i < n || bytes.count(t.tokens[i]) || kind == token_kind::control || kind == token_kind::user_defined;
    if (!keep) continue;
    remap[i] = static_cast<int64_t>(out.tokens.size());
    out.tokens.push_back(t.tokens[i]);
    out.token_types.push_back(t.token_types[i]);
  }
  std::unordered_set<std::string> kept(out.tokens.begin(), out.tokens.end());
  for (const std::string& m : t.merges) {
    size_t sp = m.find(' ', 1);  // split at the first space after index 0
    if (sp == std::string::npos) continue;
    std::string left = m.substr(0, sp), right = m.substr(sp + 1);
    if (kept.count(left) && kept.count(right) && kept.count(left + right)) out.merges.push_back(m);
  }
  auto map_id = [&](std::optional<uint32_t> id) -> std::optional<uint32_t> {
    if (!id || *id >= remap.size() || remap[*id] < 0) return std::nullopt;
    return static_cast<uint32_t>(remap[*id]);
  };
  out.bos = map_id(t.bos);
  out.eos = map_id(t.eos);
  out.pad = map_id(t.pad);
  out.unk = map_id(t.unk);
  t = std::move(out);
  return {};
}

status check_vocab(const tokenizer_data& t) {
  if (t.tokens.size() != t.token_types.size()) return invalid_argument("token and token type counts differ");
  std::unordered_map<std::string_view, size_t> seen;
  for (size_t i = 0; i < t.tokens.size(); ++i) {
    auto [it, fresh] = seen.emplace(t.tokens[i], i);
    if (!fresh)
      return invalid_argument("token text '" + t.tokens[i] + "' appears twice (ids " + std::to_string(it->second) +
                              " and " + std::to_string(i) + ")");
  }
  for (auto id : {t.bos, t.eos, t.pad, t.unk})
    if (id && *id >= t.tokens.size()) return invalid_argument("special token id " + std::to_string(*id) + " is outside the vocabulary");
  return {};
}

tokenizer_data synthetic_tokenizer() {
  tokenizer_data t;
  t.pre = "deepseek-r1-qwen";
  for (int b = 0; b < 256; ++b) {
    t.tokens.push_back(byte_symbol(static_cast<uint8_t>(b)));
    t.token_types.push_back(static_cast<int32_t>(token_kind::normal));
  }
  // A few merges so BPE has work to do: "Ġt", "he", "Ġthe", "in", "er".
  const std::pair<const char*, const char*> merges[] = {
      {"\xc4\xa0", "t"}, {"h", "e"}, {"\xc4\xa0t", "he"}, {"i", "n"}, {"e", "r"}};
  for (const auto& [a, b] : merges) {
    t.merges.push_back(std::string(a) + " " + b);
    t.tokens.push_back(std::string(a) + b);
    t.token_types.push_back(static_cast<int32_t>(token_kind::normal));
  }
  const special specials[] = {{0, k_eos, token_kind::control},          {0, k_user, token_kind::control},
                              {0, k_assistant, token_kind::control},    {0, k_bos, token_kind::control},
                              {0, "<think>", token_kind::user_defined}, {0, "</think>", token_kind::user_defined}};
  for (const special& s : specials) {
    t.tokens.push_back(s.text);
    t.token_types.push_back(static_cast<int32_t>(s.kind));
  }
  t.bos = t.find(k_bos);
  t.eos = t.find(k_eos);
  t.pad = t.eos;
  t.add_bos = true;
  t.add_eos = false;
  t.chat_template = r1_distill_chat_template();
  return t;
}

}  // namespace r1::mkmodel
