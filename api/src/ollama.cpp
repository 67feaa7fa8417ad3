#include "r1/api/ollama.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "r1/base/config.h"
#include "reader.h"

namespace r1::api {

namespace {

constexpr size_t k_max_messages = 4096;
constexpr size_t k_max_images = 16;
constexpr size_t k_max_inputs = 2048;
constexpr size_t k_max_context_tokens = 1 << 22;
constexpr size_t k_max_name = 512;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Reads `model` (or the deprecated `name`), required and bounded.
void read_model(detail::reader& r, std::string& out, const char* key = "model") {
  r.str(key, out, k_max_name);
  if (out.empty() && std::string_view(key) == "model") r.str("name", out, k_max_name);
  if (r.ok() && out.empty()) r.fail(key, "is required");
}

void read_options(detail::reader& r, const json& j, json& out) {
  if (auto* v = r.raw("options")) {
    if (!v->is_object()) return r.fail("options", "must be a JSON object");
    out = *v;
  }
  (void)j;
}

void read_keep_alive(detail::reader& r, keep_alive_option& out) {
  if (auto* v = r.raw("keep_alive")) {
    auto ka = parse_keep_alive(*v);
    if (!ka.ok()) return r.fail("keep_alive", ka.error().message());
    out = *ka;
  }
}

void read_think(detail::reader& r, think_option& out) {
  if (auto* v = r.raw("think")) {
    auto t = parse_think(*v);
    if (!t.ok()) return r.fail("think", t.error().message());
    out = *t;
  }
}

void read_format(detail::reader& r, json& out) {
  if (auto* v = r.raw("format")) {
    if (v->is_string()) {
      std::string s = v->get<std::string>();
      if (s.empty()) return;
      if (s != "json") return r.fail("format", "must be \"json\" or a JSON schema object");
      out = s;
    } else if (v->is_object()) {
      out = *v;
    } else {
      r.fail("format", "must be \"json\" or a JSON schema object");
    }
  }
}

void read_images(detail::reader& r, std::vector<std::string>& out) {
  r.str_list("images", out, k_max_images);
}

// The fields generate and chat requests share (same names, types and limits).
template <typename request>
void read_completion_fields(detail::reader& r, const json& j, request& q) {
  r.boolean("stream", q.stream);
  read_format(r, q.format);
  read_keep_alive(r, q.keep_alive);
  read_options(r, j, q.options);
  read_think(r, q.think);
  r.boolean("truncate", q.truncate);
  r.boolean("shift", q.shift);
  r.boolean("logprobs", q.logprobs);
  r.integer("top_logprobs", q.top_logprobs, 0, 20);
  r.boolean("_debug_render_only", q.debug_render_only);
}

}  // namespace

result<keep_alive_option> parse_keep_alive(const json& v) {
  keep_alive_option out;
  if (v.is_null()) return out;
  out.set = true;
  if (v.is_number()) {
    double secs = v.get<double>();
    if (!std::isfinite(secs)) return invalid_argument("must be a finite number of seconds");
    if (secs < 0) {
      out.ms = -1;
      return out;
    }
    if (secs > 1e9) return invalid_argument("is too large");
    out.ms = static_cast<int64_t>(secs * 1000.0);
    return out;
  }
  if (v.is_string()) {
    auto ms = parse_duration_ms(v.get<std::string>());
    if (!ms.ok()) return invalid_argument("'" + v.get<std::string>() + "' is not a duration like \"5m\" or \"300\"");
    out.ms = *ms < 0 ? -1 : *ms;
    return out;
  }
  return invalid_argument("must be a number of seconds or a duration string");
}

result<think_option> parse_think(const json& v) {
  think_option out;
  if (v.is_null()) return out;
  out.set = true;
  if (v.is_boolean()) {
    out.enabled = v.get<bool>();
    return out;
  }
  if (v.is_string()) {
    std::string s = lower(v.get<std::string>());
    if (s == "true") s = "medium";
    if (s == "false") return out;
    if (s == "low" || s == "medium" || s == "high" || s == "max") {
      out.enabled = true;
      out.level = s;
      return out;
    }
  }
  return invalid_argument("must be true, false, \"low\", \"medium\", \"high\" or \"max\"");
}

result<message> parse_message(const json& j, std::string_view what) {
  detail::reader r(j, std::string(what));
  message m;
  r.str("role", m.role, 64);
  m.role = lower(m.role);
  if (r.ok() && m.role != "system" && m.role != "user" && m.role != "assistant" && m.role != "tool")
    r.fail("role", "must be system, user, assistant or tool");
  r.str("content", m.content);
  r.str("thinking", m.thinking);
  if (m.thinking.empty()) r.str("reasoning_content", m.thinking);
  read_images(r, m.images);
  if (auto* tc = r.raw("tool_calls")) {
    if (!tc->is_array()) r.fail("tool_calls", "must be an array");
    else m.tool_calls = *tc;
  }
  r.str("tool_name", m.tool_name, k_max_name);
  r.str("tool_call_id", m.tool_call_id, k_max_name);
  if (!r.ok()) return r.error();
  return m;
}

result<generate_request> parse_generate_request(const json& j) {
  detail::reader r(j, "generate request");
  generate_request q;
  read_model(r, q.model);
  r.str("prompt", q.prompt);
  r.str("suffix", q.suffix);
  r.str("system", q.system);
  r.str("template", q.template_text);
  if (r.has("context")) {
    std::vector<int32_t> ctx;
    r.int_array("context", ctx, k_max_context_tokens);
    q.context = std::move(ctx);
  }
  r.boolean("raw", q.raw);
  read_completion_fields(r, j, q);
  read_images(r, q.images);
  if (r.ok() && q.raw && (!q.template_text.empty() || !q.system.empty() || q.context))
    r.fail("raw", "cannot be combined with template, system or context");
  if (!r.ok()) return r.error();
  return q;
}

result<chat_request> parse_chat_request(const json& j) {
  detail::reader r(j, "chat request");
  chat_request q;
  read_model(r, q.model);
  if (auto* msgs = r.raw("messages")) {
    if (!msgs->is_array()) {
      r.fail("messages", "must be an array");
    } else if (msgs->size() > k_max_messages) {
      r.fail("messages", "has more than " + std::to_string(k_max_messages) + " entries");
    } else {
      for (size_t i = 0; i < msgs->size() && r.ok(); ++i) {
        auto m = parse_message((*msgs)[i], "chat request: messages[" + std::to_string(i) + "]");
        if (!m.ok()) return m.error();
        q.messages.push_back(std::move(*m));
      }
    }
  }
  if (auto* t = r.raw("tools")) {
    if (!t->is_array()) r.fail("tools", "must be an array");
    else q.tools = *t;
  }
  read_completion_fields(r, j, q);
  if (!r.ok()) return r.error();
  return q;
}

result<embed_request> parse_embed_request(const json& j) {
  detail::reader r(j, "embed request");
  embed_request q;
  read_model(r, q.model);
  r.str_list("input", q.input, k_max_inputs);
  r.boolean("truncate", q.truncate);
  r.integer("dimensions", q.dimensions, 0, 1 << 20);
  read_options(r, j, q.options);
  read_keep_alive(r, q.keep_alive);
  if (!r.ok()) return r.error();
  return q;
}

result<embed_request> parse_embeddings_request(const json& j) {
  detail::reader r(j, "embeddings request");
  embed_request q;
  q.legacy = true;
  read_model(r, q.model);
  std::string prompt;
  r.str("prompt", prompt);
  q.input = {prompt};
  read_options(r, j, q.options);
  read_keep_alive(r, q.keep_alive);
  if (!r.ok()) return r.error();
  return q;
}

result<model_request> parse_model_request(const json& j, std::string_view what) {
  detail::reader r(j, std::string(what) + " request");
  model_request q;
  read_model(r, q.model);
  r.boolean("insecure", q.insecure);
  r.boolean("stream", q.stream);
  r.boolean("verbose", q.verbose);
  if (!r.ok()) return r.error();
  return q;
}

result<copy_request> parse_copy_request(const json& j) {
  detail::reader r(j, "copy request");
  copy_request q;
  read_model(r, q.source, "source");
  read_model(r, q.destination, "destination");
  if (!r.ok()) return r.error();
  return q;
}

result<bench_request> parse_bench_request(const json& j) {
  detail::reader r(j, "bench request");
  bench_request q;
  read_model(r, q.model);
  // Bounded so that one request cannot ask the machine for days of work.
  r.integer("n_prompt", q.n_prompt, 0, 16384);
  r.integer("n_gen", q.n_gen, 0, 16384);
  r.integer("n_depth", q.n_depth, 0, 1 << 20);
  r.integer("repetitions", q.repetitions, 1, 100);
  r.integer("threads", q.threads, 0, 1024);
  r.str("kv_type", q.kv_type, 16);
  r.boolean("bandwidth", q.bandwidth);
  if (r.ok() && q.kv_type != "f16" && q.kv_type != "f32" && q.kv_type != "q8_0")
    r.fail("kv_type", "must be f16, f32 or q8_0");
  if (r.ok() && q.n_prompt == 0 && q.n_gen == 0) r.fail("n_gen", "and n_prompt are both 0: nothing to measure");
  if (!r.ok()) return r.error();
  return q;
}

bool is_valid_digest(std::string_view d) {
  if (d.size() != 71 || d.substr(0, 7) != "sha256:") return false;
  for (char c : d.substr(7))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

result<create_request> parse_create_request(const json& j) {
  detail::reader r(j, "create request");
  create_request q;
  read_model(r, q.model);
  r.str("from", q.from, 4096);
  if (auto* f = r.raw("files")) {
    if (!f->is_object()) {
      r.fail("files", "must be an object of file name -> digest");
    } else {
      for (const auto& [name, digest] : f->items()) {
        if (!digest.is_string() || !is_valid_digest(digest.get<std::string>())) {
          r.fail("files", "entry '" + name + "' must be a digest \"sha256:<64 hex>\"");
          break;
        }
        q.files[name] = digest.get<std::string>();
      }
    }
  }
  if (r.has("template")) {
    std::string t;
    r.str("template", t);
    q.template_text = t;
  }
  if (r.has("system")) {
    std::string s;
    r.str("system", s);
    q.system = s;
  }
  r.str_list("license", q.license, 64);
  if (auto* p = r.raw("parameters")) {
    if (!p->is_object()) r.fail("parameters", "must be an object");
    else q.parameters = *p;
  }
  if (auto* msgs = r.raw("messages")) {
    if (!msgs->is_array() || msgs->size() > k_max_messages) {
      r.fail("messages", "must be an array of at most 4096 messages");
    } else {
      for (size_t i = 0; i < msgs->size() && r.ok(); ++i) {
        auto m = parse_message((*msgs)[i], "create request: messages[" + std::to_string(i) + "]");
        if (!m.ok()) return m.error();
        q.messages.push_back(std::move(*m));
      }
    }
  }
  r.str("quantize", q.quantize, 32);
  r.boolean("stream", q.stream);
  if (r.ok() && q.from.empty() && q.files.empty()) r.fail("from", "or 'files' is required");
  if (!r.ok()) return r.error();
  return q;
}

}  // namespace r1::api
