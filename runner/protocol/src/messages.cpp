#include "r1/runner_protocol/messages.h"

#include "field_reader.h"

namespace r1::runner_protocol {
namespace {

json bytes_json(const std::vector<uint8_t>& b) {
  json a = json::array();
  for (uint8_t x : b) a.push_back(x);
  return a;
}

json to_json(const token_logprob& t) {
  return {{"id", t.id}, {"token", t.token}, {"bytes", bytes_json(t.bytes)}, {"logprob", t.logprob}};
}

result<token_logprob> token_logprob_from_json(const json& j) {
  token_logprob t;
  field_reader r(j, "token_logprob");
  r.integer("id", t.id);
  r.str("token", t.token);
  r.number("logprob", t.logprob);
  if (auto* b = r.raw("bytes")) {
    if (!b->is_array()) r.fail("bytes", "must be an array");
    else
      for (const auto& x : *b) {
        if (!x.is_number_unsigned() || x.get<uint64_t>() > 255) {
          r.fail("bytes", "must hold bytes");
          break;
        }
        t.bytes.push_back(static_cast<uint8_t>(x.get<uint64_t>()));
      }
  }
  if (!r.ok()) return r.error();
  return t;
}

json to_json(const token_probs& p) {
  json top = json::array();
  for (const auto& t : p.top) top.push_back(to_json(t));
  json j = to_json(p.chosen);
  j["top"] = std::move(top);
  return j;
}

result<token_probs> token_probs_from_json(const json& j) {
  token_probs p;
  R1_ASSIGN_OR_RETURN(p.chosen, token_logprob_from_json(j));
  if (j.contains("top") && j["top"].is_array())
    for (const auto& t : j["top"]) {
      R1_ASSIGN_OR_RETURN(token_logprob x, token_logprob_from_json(t));
      p.top.push_back(std::move(x));
    }
  return p;
}

json probs_json(const std::vector<token_probs>& v) {
  json a = json::array();
  for (const auto& p : v) a.push_back(to_json(p));
  return a;
}

status probs_from(const json& j, const char* key, std::vector<token_probs>& out) {
  if (!j.contains(key) || j[key].is_null()) return {};
  if (!j[key].is_array()) return invalid_argument(std::string("field '") + key + "' must be an array");
  for (const auto& e : j[key]) {
    R1_ASSIGN_OR_RETURN(token_probs p, token_probs_from_json(e));
    out.push_back(std::move(p));
  }
  return {};
}

json devices_json(const std::vector<device_load>& v) {
  json a = json::array();
  for (const auto& d : v) {
    a.push_back({{"backend", d.backend}, {"index", d.index}, {"name", d.name}, {"first_layer", d.first_layer},
                 {"n_layers", d.n_layers}, {"output", d.output}, {"bytes", d.bytes}});
  }
  return a;
}

template <typename T>
json optional_json(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

}  // namespace

result<json> parse_json(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    // Find the position for a useful message (the non-throwing parse does not report it).
    try {
      json unused = json::parse(text);
    } catch (const json::parse_error& e) {
      return invalid_argument(std::string("invalid JSON: ") + e.what());
    }
    return invalid_argument("invalid JSON");
  }
  return j;
}

json to_json(const health_response& r) {
  json j{{"status", r.status}, {"progress", r.progress}};
  if (!r.error.empty()) j["error"] = r.error;
  return j;
}

result<health_response> health_from_json(const json& j) {
  health_response h;
  field_reader r(j, "health");
  r.str("status", h.status);
  r.number("progress", h.progress, 0, 1);
  r.str("error", h.error);
  if (r.ok() && h.status != "loading" && h.status != "ready" && h.status != "error")
    r.fail("status", "must be loading, ready or error");
  if (!r.ok()) return r.error();
  return h;
}

json to_json(const load_info& r) {
  return {{"architecture", r.architecture}, {"model_name", r.model_name},
          {"file_type", r.file_type},       {"parameter_count", r.parameter_count},
          {"n_ctx", r.n_ctx},               {"n_ctx_train", r.n_ctx_train},
          {"n_parallel", r.n_parallel},     {"n_vocab", r.n_vocab},
          {"n_embd", r.n_embd},             {"n_layer", r.n_layer},
          {"kv_type", r.kv_type},           {"threads", r.threads},
          {"backend", r.backend},           {"kernel_path", r.kernel_path},
          {"weights_bytes", r.weights_bytes}, {"kv_bytes", r.kv_bytes},
          {"scratch_bytes", r.scratch_bytes}, {"vram_bytes", r.vram_bytes},
          {"load_ms", r.load_ms},           {"has_chat_template", r.has_chat_template},
          {"thinking", r.thinking},         {"n_gpu_layers", r.n_gpu_layers},
          {"devices", devices_json(r.devices)}};
}

result<load_info> load_info_from_json(const json& j) {
  load_info i;
  field_reader r(j, "load_info");
  r.str("architecture", i.architecture);
  r.str("model_name", i.model_name);
  r.str("file_type", i.file_type);
  r.integer("parameter_count", i.parameter_count);
  r.integer("n_ctx", i.n_ctx);
  r.integer("n_ctx_train", i.n_ctx_train);
  r.integer("n_parallel", i.n_parallel);
  r.integer("n_vocab", i.n_vocab);
  r.integer("n_embd", i.n_embd);
  r.integer("n_layer", i.n_layer);
  r.str("kv_type", i.kv_type);
  r.integer("threads", i.threads);
  r.str("backend", i.backend);
  r.str("kernel_path", i.kernel_path);
  r.integer("weights_bytes", i.weights_bytes);
  r.integer("kv_bytes", i.kv_bytes);
  r.integer("scratch_bytes", i.scratch_bytes);
  r.integer("vram_bytes", i.vram_bytes);
  r.number("load_ms", i.load_ms);
  r.boolean("has_chat_template", i.has_chat_template);
  r.boolean("thinking", i.thinking);
  r.integer("n_gpu_layers", i.n_gpu_layers);
  if (const json* d = r.raw("devices"); d != nullptr && !d->is_null()) {
    if (!d->is_array()) return invalid_argument("load_info: field 'devices' must be an array");
    for (const json& e : *d) {
      device_load x;
      field_reader dr(e, "load_info.devices[]");
      dr.str("backend", x.backend);
      dr.integer("index", x.index);
      dr.str("name", x.name);
      dr.integer("first_layer", x.first_layer);
      dr.integer("n_layers", x.n_layers);
      dr.boolean("output", x.output);
      dr.integer("bytes", x.bytes);
      if (!dr.ok()) return dr.error();
      i.devices.push_back(std::move(x));
    }
  }
  if (!r.ok()) return r.error();
  return i;
}

json to_json(const chat_message& m) {
  json j{{"role", m.role}, {"content", m.content}};
  if (!m.reasoning_content.empty()) j["reasoning_content"] = m.reasoning_content;
  if (!m.tool_calls.is_null()) j["tool_calls"] = m.tool_calls;
  if (!m.tool_call_id.empty()) j["tool_call_id"] = m.tool_call_id;
  if (!m.name.empty()) j["name"] = m.name;
  return j;
}

result<chat_message> chat_message_from_json(const json& j) {
  chat_message m;
  field_reader r(j, "message");
  r.str("role", m.role);
  r.str("content", m.content);
  r.str("reasoning_content", m.reasoning_content);
  r.str("tool_call_id", m.tool_call_id);
  r.str("name", m.name);
  if (auto* t = r.raw("tool_calls")) {
    if (!t->is_array()) r.fail("tool_calls", "must be an array");
    else m.tool_calls = *t;
  }
  if (r.ok() && m.role.empty()) r.fail("role", "is required");
  if (!r.ok()) return r.error();
  return m;
}

namespace {
json messages_json(const std::vector<chat_message>& v) {
  json a = json::array();
  for (const auto& m : v) a.push_back(to_json(m));
  return a;
}
status messages_from(const json& j, std::vector<chat_message>& out) {
  if (!j.is_array()) return invalid_argument("field 'messages' must be an array");
  for (const auto& e : j) {
    R1_ASSIGN_OR_RETURN(chat_message m, chat_message_from_json(e));
    out.push_back(std::move(m));
  }
  return {};
}
}  // namespace

json to_json(const completion_request& r) {
  const auto& s = r.sampling;
  json j{{"prompt", optional_json(r.prompt)},
         {"prompt_tokens", optional_json(r.prompt_tokens)},
         {"messages", r.messages ? messages_json(*r.messages) : json(nullptr)},
         {"add_generation_prompt", r.add_generation_prompt},
         {"tools", r.tools},
         {"think", optional_json(r.think)},
         {"constraint", r.constraint},
         {"tool_choice", r.tool_choice},
         {"tool_name", r.tool_name},
         {"reasoning_budget", r.reasoning_budget},
         {"add_special", r.add_special},
         {"parse_special", r.parse_special},
         {"temperature", s.temperature},
         {"top_k", s.top_k},
         {"top_p", s.top_p},
         {"min_p", s.min_p},
         {"typical_p", s.typical_p},
         {"repeat_last_n", s.repeat_last_n},
         {"repeat_penalty", s.repeat_penalty},
         {"presence_penalty", s.presence_penalty},
         {"frequency_penalty", s.frequency_penalty},
         {"seed", s.seed},
         {"n_predict", r.n_predict},
         {"stop", r.stop},
         {"n_probs", r.n_probs},
         {"prompt_logprobs", r.prompt_logprobs},
         {"split_reasoning", r.split_reasoning},
         {"stream", r.stream},
         {"cache_prompt", r.cache_prompt},
         {"slot", r.slot},
         {"request_id", r.request_id}};
  return j;
}

result<completion_request> completion_request_from_json(const json& j) {
  completion_request c;
  field_reader r(j, "completion");
  if (r.has("prompt")) {
    c.prompt.emplace();
    r.str("prompt", *c.prompt);
  }
  if (r.has("prompt_tokens")) {
    c.prompt_tokens.emplace();
    r.int_array("prompt_tokens", *c.prompt_tokens);
  }
  if (auto* m = r.raw("messages")) {
    c.messages.emplace();
    status s = messages_from(*m, *c.messages);
    if (!s.ok()) return s.with_context("completion");
  }
  int given = (c.prompt ? 1 : 0) + (c.prompt_tokens ? 1 : 0) + (c.messages ? 1 : 0);
  if (given != 1) r.fail("", "needs exactly one of prompt, prompt_tokens or messages");
  r.boolean("add_generation_prompt", c.add_generation_prompt);
  if (auto* t = r.raw("tools")) {
    if (!t->is_array()) r.fail("tools", "must be an array");
    else c.tools = *t;
  }
  if (r.has("think")) {
    bool b = false;
    r.boolean("think", b);
    c.think = b;
  }
  if (auto* k = r.raw("constraint"); k && !k->is_null()) {
    if (!k->is_object()) r.fail("constraint", "must be an object with parts");
    else c.constraint = *k;
  }
  r.str("tool_choice", c.tool_choice);
  if (c.tool_choice != "auto" && c.tool_choice != "required" && c.tool_choice != "function")
    r.fail("tool_choice", "must be auto, required or function");
  r.str("tool_name", c.tool_name);
  if (c.tool_choice == "function" && c.tool_name.empty()) r.fail("tool_name", "is needed with tool_choice function");
  r.integer("reasoning_budget", c.reasoning_budget, -1, 1 << 30);
  r.boolean("add_special", c.add_special);
  r.boolean("parse_special", c.parse_special);
  auto& s = c.sampling;
  r.number("temperature", s.temperature, 0, 100);
  r.integer("top_k", s.top_k, 0, 1 << 30);
  r.number("top_p", s.top_p, 0, 1);
  r.number("min_p", s.min_p, 0, 1);
  r.number("typical_p", s.typical_p, 0, 1);
  r.integer("repeat_last_n", s.repeat_last_n, -1, 1 << 30);
  r.number("repeat_penalty", s.repeat_penalty, 0, 100);
  r.number("presence_penalty", s.presence_penalty, -100, 100);
  r.number("frequency_penalty", s.frequency_penalty, -100, 100);
  r.integer("seed", s.seed);
  r.integer("n_predict", c.n_predict, -2, 1 << 30);
  r.str_array("stop", c.stop);
  r.integer("n_probs", c.n_probs, 0, 20);
  r.boolean("prompt_logprobs", c.prompt_logprobs);
  r.boolean("split_reasoning", c.split_reasoning);
  r.boolean("stream", c.stream);
  r.boolean("cache_prompt", c.cache_prompt);
  r.integer("slot", c.slot, -1, 1 << 20);
  r.str("request_id", c.request_id);
  if (!r.ok()) return r.error();
  return c;
}

json to_json(const completion_chunk& c) {
  json j{{"content", c.content}, {"thinking", c.thinking}, {"tokens", c.tokens}, {"done", c.done}};
  if (!c.probs.empty()) j["probs"] = probs_json(c.probs);
  if (!c.tool_calls.is_null()) j["tool_calls"] = c.tool_calls;
  if (c.done) {
    j["stop_reason"] = c.stop_reason;
    if (!c.stop_word.empty()) j["stop_word"] = c.stop_word;
    if (!c.error.empty()) j["error"] = c.error;
    j["truncated"] = c.truncated;
    const auto& t = c.timings;
    j["timings"] = {{"prompt_n", t.prompt_n},       {"prompt_ms", t.prompt_ms},
                    {"predicted_n", t.predicted_n}, {"predicted_ms", t.predicted_ms},
                    {"cached_n", t.cached_n},       {"prompt_tokens", t.prompt_tokens},
                    {"reasoning_tokens", t.reasoning_tokens}};
    if (!c.prompt_probs.empty()) j["prompt_probs"] = probs_json(c.prompt_probs);
    if (!c.rendered_prompt.empty()) j["rendered_prompt"] = c.rendered_prompt;
  }
  return j;
}

result<completion_chunk> completion_chunk_from_json(const json& j) {
  completion_chunk c;
  field_reader r(j, "completion chunk");
  r.str("content", c.content);
  r.str("thinking", c.thinking);
  r.int_array("tokens", c.tokens);
  r.boolean("done", c.done);
  r.str("stop_reason", c.stop_reason);
  r.str("stop_word", c.stop_word);
  r.str("error", c.error);
  r.boolean("truncated", c.truncated);
  r.str("rendered_prompt", c.rendered_prompt);
  if (auto* t = r.raw("tool_calls"); t != nullptr && !t->is_null()) {
    if (!t->is_array()) r.fail("tool_calls", "must be an array");
    else c.tool_calls = *t;
    for (const auto& call : c.tool_calls) {
      if (!call.is_object() || !call.contains("id") || !call["id"].is_string() || !call.contains("name") ||
          !call["name"].is_string() || !call.contains("arguments") || !call["arguments"].is_string()) {
        r.fail("tool_calls", "entries must be objects with string id, name and arguments");
        break;
      }
    }
  }
  if (auto* t = r.raw("timings")) {
    field_reader tr(*t, "timings");
    auto& x = c.timings;
    tr.integer("prompt_n", x.prompt_n);
    tr.number("prompt_ms", x.prompt_ms);
    tr.integer("predicted_n", x.predicted_n);
    tr.number("predicted_ms", x.predicted_ms);
    tr.integer("cached_n", x.cached_n);
    tr.integer("prompt_tokens", x.prompt_tokens);
    tr.integer("reasoning_tokens", x.reasoning_tokens);
    if (!tr.ok()) return tr.error();
  }
  if (!r.ok()) return r.error();
  R1_RETURN_IF_ERROR(probs_from(j, "probs", c.probs));
  R1_RETURN_IF_ERROR(probs_from(j, "prompt_probs", c.prompt_probs));
  return c;
}

json to_json(const tokenize_request& r) {
  return {{"content", r.content}, {"add_special", r.add_special}, {"parse_special", r.parse_special},
          {"with_pieces", r.with_pieces}, {"rendered", r.rendered}};
}
result<tokenize_request> tokenize_request_from_json(const json& j) {
  tokenize_request t;
  field_reader r(j, "tokenize");
  r.str("content", t.content);
  r.boolean("add_special", t.add_special);
  r.boolean("parse_special", t.parse_special);
  r.boolean("with_pieces", t.with_pieces);
  r.boolean("rendered", t.rendered);
  if (!r.ok()) return r.error();
  return t;
}
json to_json(const tokenize_response& r) {
  json j{{"tokens", r.tokens}};
  if (!r.pieces.empty()) j["pieces"] = r.pieces;
  return j;
}
result<tokenize_response> tokenize_response_from_json(const json& j) {
  tokenize_response t;
  field_reader r(j, "tokenize response");
  r.int_array("tokens", t.tokens);
  r.str_array("pieces", t.pieces);
  if (!r.ok()) return r.error();
  return t;
}
json to_json(const detokenize_request& r) { return {{"tokens", r.tokens}}; }
result<detokenize_request> detokenize_request_from_json(const json& j) {
  detokenize_request d;
  field_reader r(j, "detokenize");
  r.int_array("tokens", d.tokens);
  if (!r.ok()) return r.error();
  return d;
}
json to_json(const detokenize_response& r) { return {{"content", r.content}}; }
result<detokenize_response> detokenize_response_from_json(const json& j) {
  detokenize_response d;
  field_reader r(j, "detokenize response");
  r.str("content", d.content);
  if (!r.ok()) return r.error();
  return d;
}
json to_json(const render_request& r) {
  return {{"messages", messages_json(r.messages)},
          {"add_generation_prompt", r.add_generation_prompt},
          {"tools", r.tools},
          {"think", optional_json(r.think)}};
}
result<render_request> render_request_from_json(const json& j) {
  render_request x;
  field_reader r(j, "render");
  if (auto* m = r.raw("messages")) {
    status s = messages_from(*m, x.messages);
    if (!s.ok()) return s.with_context("render");
  } else {
    r.fail("messages", "is required");
  }
  r.boolean("add_generation_prompt", x.add_generation_prompt);
  if (auto* t = r.raw("tools")) {
    if (!t->is_array()) r.fail("tools", "must be an array");
    else x.tools = *t;
  }
  if (r.has("think")) {
    bool b = false;
    r.boolean("think", b);
    x.think = b;
  }
  if (!r.ok()) return r.error();
  return x;
}
json to_json(const render_response& r) { return {{"prompt", r.prompt}}; }
result<render_response> render_response_from_json(const json& j) {
  render_response x;
  field_reader r(j, "render response");
  r.str("prompt", x.prompt);
  if (!r.ok()) return r.error();
  return x;
}
json to_json(const embedding_request& r) {
  return {{"input", r.input}, {"normalize", r.normalize}, {"truncate", r.truncate}};
}
result<embedding_request> embedding_request_from_json(const json& j) {
  embedding_request x;
  field_reader r(j, "embedding");
  r.str_array("input", x.input);
  r.boolean("normalize", x.normalize);
  r.boolean("truncate", x.truncate);
  if (r.ok() && x.input.empty()) r.fail("input", "must not be empty");
  if (!r.ok()) return r.error();
  return x;
}
json to_json(const embedding_response& r) {
  return {{"embeddings", r.embeddings}, {"prompt_tokens", r.prompt_tokens}};
}
result<embedding_response> embedding_response_from_json(const json& j) {
  embedding_response x;
  field_reader r(j, "embedding response");
  r.integer("prompt_tokens", x.prompt_tokens);
  if (auto* e = r.raw("embeddings")) {
    if (!e->is_array()) r.fail("embeddings", "must be an array");
    else
      for (const auto& row : *e) {
        if (!row.is_array()) {
          r.fail("embeddings", "must be an array of arrays");
          break;
        }
        std::vector<float> v;
        v.reserve(row.size());
        for (const auto& f : row) {
          if (!f.is_number()) {
            r.fail("embeddings", "must hold numbers");
            break;
          }
          v.push_back(f.get<float>());
        }
        x.embeddings.push_back(std::move(v));
      }
  }
  if (!r.ok()) return r.error();
  return x;
}
json to_json(const error_response& r) { return {{"error", r.error}, {"code", r.code}}; }
result<error_response> error_response_from_json(const json& j) {
  error_response x;
  field_reader r(j, "error response");
  r.str("error", x.error);
  r.str("code", x.code);
  if (!r.ok()) return r.error();
  return x;
}

}  // namespace r1::runner_protocol
