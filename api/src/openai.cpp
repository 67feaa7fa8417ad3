#include "r1/api/openai.h"

#include <limits>

#include "reader.h"

namespace r1::api {

namespace {

constexpr size_t k_max_messages = 4096;
constexpr size_t k_max_tokens_in = 1 << 22;

// `content` may be a string, null, or an array of parts ({"type":"text","text"},
// {"type":"image_url","image_url":{"url":"data:...;base64,..."}}).
status read_content(const json& c, message* m, const std::string& what) {
  if (c.is_null()) return {};
  if (c.is_string()) {
    m->content = c.get<std::string>();
    return {};
  }
  if (!c.is_array()) return invalid_argument(what + ": field 'content' must be a string or an array of parts");
  for (const auto& part : c) {
    if (!part.is_object() || !part.contains("type") || !part["type"].is_string())
      return invalid_argument(what + ": each content part needs a 'type'");
    std::string type = part["type"].get<std::string>();
    if (type == "text") {
      if (!part.contains("text") || !part["text"].is_string())
        return invalid_argument(what + ": a text part needs a string 'text'");
      m->content += part["text"].get<std::string>();
    } else if (type == "image_url") {
      const json* url = nullptr;
      if (part.contains("image_url") && part["image_url"].is_object() && part["image_url"].contains("url"))
        url = &part["image_url"]["url"];
      if (!url || !url->is_string()) return invalid_argument(what + ": an image_url part needs image_url.url");
      std::string u = url->get<std::string>();
      auto comma = u.find(";base64,");
      if (u.rfind("data:", 0) != 0 || comma == std::string::npos)
        return invalid_argument(what + ": only base64 data URLs are accepted for images");
      m->images.push_back(u.substr(comma + 8));
    } else {
      return invalid_argument(what + ": content part type '" + type + "' is not supported");
    }
  }
  return {};
}

result<message> read_message(const json& j, const std::string& what) {
  detail::reader r(j, what);
  message m;
  r.str("role", m.role, 64);
  if (m.role == "developer") m.role = "system";
  if (r.ok() && m.role != "system" && m.role != "user" && m.role != "assistant" && m.role != "tool")
    r.fail("role", "must be system, developer, user, assistant or tool");
  if (!r.ok()) return r.error();
  if (j.contains("content")) R1_RETURN_IF_ERROR(read_content(j["content"], &m, what));
  // Earlier reasoning sent back by DeepSeek-style clients: accepted, kept aside, never an error.
  if (j.contains("reasoning_content") && j["reasoning_content"].is_string())
    m.thinking = j["reasoning_content"].get<std::string>();
  if (auto* tc = r.raw("tool_calls")) {
    if (!tc->is_array()) r.fail("tool_calls", "must be an array");
    else m.tool_calls = *tc;
  }
  r.str("tool_call_id", m.tool_call_id, 512);
  r.str("name", m.tool_name, 512);
  if (!r.ok()) return r.error();
  return m;
}

void read_sampling(detail::reader& r, openai_sampling& s, int32_t default_max) {
  if (default_max > 0) s.max_tokens = default_max;
  auto opt_int = [&](const char* key, std::optional<int32_t>& out, int64_t lo, int64_t hi) {
    if (r.has(key)) {
      int32_t v = 0;
      r.integer(key, v, lo, hi);
      out = v;
    }
  };
  auto opt_num = [&](const char* key, std::optional<double>& out, double lo, double hi) {
    if (r.has(key)) {
      double v = 0;
      r.number(key, v, lo, hi);
      out = v;
    }
  };
  opt_int("max_tokens", s.max_tokens, 0, 1 << 24);
  opt_int("max_completion_tokens", s.max_tokens, 0, 1 << 24);
  opt_num("temperature", s.temperature, 0.0, 2.0);
  opt_num("top_p", s.top_p, 0.0, 1.0);
  opt_num("presence_penalty", s.presence_penalty, -2.0, 2.0);
  opt_num("frequency_penalty", s.frequency_penalty, -2.0, 2.0);
  if (r.has("seed")) {
    int64_t seed = 0;
    r.integer("seed", seed, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
    // Negative seeds are valid for OpenAI; ours must be >= 0, so keep the low 63 bits.
    s.seed = static_cast<int64_t>(static_cast<uint64_t>(seed) & 0x7fffffffffffffffULL);
  }
  r.str_list("stop", s.stop, 16);
}

void read_stream(detail::reader& r, const json& j, bool& stream, bool& include_usage) {
  r.boolean("stream", stream);
  if (auto* so = r.raw("stream_options")) {
    if (!so->is_object()) return r.fail("stream_options", "must be an object");
    if (so->contains("include_usage") && !(*so)["include_usage"].is_null()) {
      if (!(*so)["include_usage"].is_boolean()) return r.fail("stream_options.include_usage", "must be true or false");
      include_usage = (*so)["include_usage"].get<bool>();
    }
  }
  (void)j;
}

void read_n(detail::reader& r) {
  int32_t n = 1;
  r.integer("n", n, 1, 1);  // one choice per request
}

// reasoning_effort / reasoning.effort / thinking.type -> think.
void read_reasoning(detail::reader& r, const json& j, think_option& think) {
  std::string effort;
  r.str("reasoning_effort", effort, 32);
  if (effort.empty() && j.contains("reasoning") && j["reasoning"].is_object() && j["reasoning"].contains("effort") &&
      j["reasoning"]["effort"].is_string())
    effort = j["reasoning"]["effort"].get<std::string>();
  if (!effort.empty()) {
    think.set = true;
    if (effort == "none") {
      think.enabled = false;
    } else if (effort == "minimal" || effort == "low" || effort == "medium" || effort == "high" || effort == "xhigh" ||
               effort == "max") {
      think.enabled = true;
      think.level = effort == "minimal" ? "low" : (effort == "xhigh" ? "max" : effort);
    } else {
      r.fail("reasoning_effort", "must be none, minimal, low, medium, high or xhigh");
    }
  }
  if (j.contains("thinking") && j["thinking"].is_object() && j["thinking"].contains("type") &&
      j["thinking"]["type"].is_string()) {
    std::string t = j["thinking"]["type"].get<std::string>();
    if (t == "enabled" || t == "disabled") {
      think.set = true;
      think.enabled = t == "enabled";
    } else {
      r.fail("thinking.type", "must be enabled or disabled");
    }
  }
}

}  // namespace

result<openai_chat_request> parse_openai_chat_request(const json& j) {
  detail::reader r(j, "chat completion request");
  openai_chat_request q;
  r.required_str("model", q.model, 512);
  const json* msgs = r.raw("messages");
  if (r.ok() && (!msgs || !msgs->is_array() || msgs->empty())) r.fail("messages", "must be a non-empty array");
  if (r.ok() && msgs->size() > k_max_messages) r.fail("messages", "has too many entries");
  if (!r.ok()) return r.error();
  for (size_t i = 0; i < msgs->size(); ++i) {
    R1_ASSIGN_OR_RETURN(auto m, read_message((*msgs)[i], "chat completion request: messages[" + std::to_string(i) + "]"));
    q.messages.push_back(std::move(m));
  }
  read_stream(r, j, q.stream, q.include_usage);
  read_sampling(r, q.sampling, 0);
  read_n(r);
  r.boolean("logprobs", q.logprobs);
  r.integer("top_logprobs", q.top_logprobs, 0, 20);
  if (r.ok() && q.top_logprobs > 0 && !q.logprobs) r.fail("top_logprobs", "needs logprobs: true");
  if (auto* rf = r.raw("response_format")) {
    if (!rf->is_object() || !rf->contains("type") || !(*rf)["type"].is_string()) {
      r.fail("response_format", "must be an object with a 'type'");
    } else {
      std::string t = (*rf)["type"].get<std::string>();
      if (t != "text" && t != "json_object" && t != "json_schema")
        r.fail("response_format", "type must be text, json_object or json_schema");
      q.response_format = *rf;
    }
  }
  if (auto* t = r.raw("tools")) {
    if (!t->is_array()) r.fail("tools", "must be an array");
    else q.tools = *t;
  }
  read_reasoning(r, j, q.think);
  if (!r.ok()) return r.error();
  R1_RETURN_IF_ERROR(validate_tools(q.tools, "chat completion request"));
  auto choice = parse_openai_tool_choice(j.contains("tool_choice") ? j["tool_choice"] : json(), q.tools);
  if (!choice.ok()) return choice.error().with_context("chat completion request");
  q.tool_choice = *choice;
  return q;
}

result<openai_completion_request> parse_openai_completion_request(const json& j) {
  detail::reader r(j, "completion request");
  openai_completion_request q;
  r.required_str("model", q.model, 512);
  if (auto* p = r.raw("prompt")) {
    if (p->is_string()) {
      q.prompt = p->get<std::string>();
    } else if (p->is_array() && p->size() == 1 && (*p)[0].is_string()) {
      q.prompt = (*p)[0].get<std::string>();
    } else if (p->is_array() && !p->empty() && (*p)[0].is_number()) {
      std::vector<int32_t> toks;
      r.int_array("prompt", toks, k_max_tokens_in);
      q.prompt_tokens = std::move(toks);
    } else if (p->is_array() && p->size() == 1 && (*p)[0].is_array()) {
      json inner = json::object({{"prompt", (*p)[0]}});
      detail::reader ri(inner, "completion request");
      std::vector<int32_t> toks;
      ri.int_array("prompt", toks, k_max_tokens_in);
      if (!ri.ok()) return ri.error();
      q.prompt_tokens = std::move(toks);
    } else {
      r.fail("prompt", "must be a string, an array of token ids, or a one-element array of either");
    }
  } else if (r.ok()) {
    q.prompt = "";
  }
  r.str("suffix", q.suffix);
  read_stream(r, j, q.stream, q.include_usage);
  read_sampling(r, q.sampling, 16);
  read_n(r);
  if (r.has("best_of")) {
    int32_t b = 1;
    r.integer("best_of", b, 1, 1);
  }
  r.integer("logprobs", q.logprobs, 0, 5);
  r.boolean("echo", q.echo);
  if (!r.ok()) return r.error();
  return q;
}

result<openai_embedding_request> parse_openai_embedding_request(const json& j) {
  detail::reader r(j, "embedding request");
  openai_embedding_request q;
  r.required_str("model", q.model, 512);
  const json* in = r.raw("input");
  if (r.ok() && !in) r.fail("input", "is required");
  if (!r.ok()) return r.error();
  if (in->is_string()) {
    q.input = {in->get<std::string>()};
  } else if (in->is_array() && !in->empty() && (*in)[0].is_string()) {
    r.str_list("input", q.input, 2048);
  } else if (in->is_array() && !in->empty() && (*in)[0].is_number()) {
    std::vector<int32_t> toks;
    r.int_array("input", toks, k_max_tokens_in);
    q.token_input.push_back(std::move(toks));
  } else if (in->is_array() && !in->empty() && (*in)[0].is_array()) {
    if (in->size() > 2048) r.fail("input", "has too many entries");
    for (const auto& e : *in) {
      json wrap = json::object({{"t", e}});
      detail::reader re(wrap, "embedding request: input");
      std::vector<int32_t> toks;
      re.int_array("t", toks, k_max_tokens_in);
      if (!re.ok()) return re.error();
      q.token_input.push_back(std::move(toks));
    }
  } else {
    r.fail("input", "must be a string, an array of strings, or token ids");
  }
  std::string fmt;
  r.str("encoding_format", fmt, 16);
  if (r.ok() && !fmt.empty() && fmt != "float" && fmt != "base64") r.fail("encoding_format", "must be float or base64");
  q.base64 = fmt == "base64";
  r.integer("dimensions", q.dimensions, 0, 1 << 20);
  if (!r.ok()) return r.error();
  return q;
}

json to_options(const openai_sampling& s) {
  json o = json::object();
  if (s.max_tokens) o["num_predict"] = *s.max_tokens;
  if (s.temperature) o["temperature"] = *s.temperature;
  if (s.top_p) o["top_p"] = *s.top_p;
  if (s.presence_penalty) o["presence_penalty"] = *s.presence_penalty;
  if (s.frequency_penalty) o["frequency_penalty"] = *s.frequency_penalty;
  if (s.seed) o["seed"] = *s.seed;
  if (!s.stop.empty()) o["stop"] = s.stop;
  return o;
}

json openai_error(const std::string& message, const std::string& type) {
  return {{"error", {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}}}};
}

}  // namespace r1::api
