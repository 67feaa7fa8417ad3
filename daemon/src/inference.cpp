#include "inference.h"

#include <algorithm>

#include "r1/base/log.h"

namespace r1::daemon {

result<api::model_options> layer_options(const model_entry& m, const json& request_options) {
  api::model_options opts;
  std::vector<std::string> ignored;
  auto st = api::apply_options(m.params, &opts, &ignored, /*accumulate_stop=*/true);
  if (!st.ok()) {
    R1_LOG(warn, "options") << m.display << ": params layer: " << st.message() << " (ignored)";
  }
  ignored.clear();
  R1_RETURN_IF_ERROR(api::apply_options(request_options, &opts, &ignored, /*accumulate_stop=*/false));
  for (const auto& name : ignored) {
    R1_LOG(info, "options") << "ignoring unknown option '" << name << "'";
  }
  return opts;
}

int64_t keep_alive_ms(const daemon_context& ctx, const api::keep_alive_option& ka) {
  return ka.set ? ka.ms : ctx.settings.keep_alive_ms;
}

result<model_entry> resolve_model(daemon_context& ctx, const std::string& name) {
  auto m = ctx.catalog->resolve(name);
  if (!m.ok() && m.error().code() == error_code::not_found) return not_found("model '" + name + "' not found");
  return m;
}

result<std::unique_ptr<lease>> acquire_runner(daemon_context& ctx, const model_entry& m, const api::model_options& opts,
                                              int64_t keep_alive) {
  load_spec spec;
  spec.key = m.display;
  spec.digest = m.digest;
  spec.model_paths = m.model_paths;
  int ctx_len = opts.num_ctx > 0 ? opts.num_ctx : ctx.settings.context_length;
  if (m.gguf && m.gguf->n_ctx_train > 0) ctx_len = std::min<int>(ctx_len, static_cast<int>(m.gguf->n_ctx_train));
  spec.num_ctx = ctx_len;
  spec.parallel = m.gguf && m.gguf->embedding ? 1 : ctx.settings.num_parallel;
  spec.threads = opts.num_thread > 0 ? opts.num_thread : ctx.settings.threads;
  spec.num_gpu = opts.num_gpu;
  spec.main_gpu = opts.main_gpu;
  spec.estimated_bytes = model_catalog::estimate_bytes(m, spec.num_ctx, spec.parallel, ctx.settings.kv_cache_type);
  spec.weights_bytes = m.gguf ? m.gguf->weight_bytes : 0;
  auto l = ctx.sched->acquire(spec, keep_alive, nullptr);
  if (!l.ok() && l.error().code() == error_code::not_found)
    return internal_error("cannot start a runner for " + m.display + ": " + l.error().message());
  return l;
}

void apply_sampling(const api::model_options& o, rp::completion_request* req) {
  auto& s = req->sampling;
  s.temperature = o.temperature;
  s.top_k = o.top_k;
  s.top_p = o.top_p;
  s.min_p = o.min_p;
  s.typical_p = o.typical_p;
  s.repeat_last_n = o.repeat_last_n;
  s.repeat_penalty = o.repeat_penalty;
  s.presence_penalty = o.presence_penalty;
  s.frequency_penalty = o.frequency_penalty;
  s.seed = o.seed;
  req->n_predict = o.num_predict < 0 ? -1 : o.num_predict;
  req->stop = o.stop;
}

std::vector<rp::chat_message> runner_messages(const model_entry& m, const std::vector<api::message>& msgs,
                                              const std::string& system_override) {
  std::vector<rp::chat_message> out;
  bool has_system = std::any_of(msgs.begin(), msgs.end(), [](const api::message& x) { return x.role == "system"; });
  std::string system = !system_override.empty() ? system_override : m.system.value_or("");
  if (!has_system && !system.empty()) out.push_back(rp::chat_message{"system", system, "", nullptr, "", ""});
  for (const auto& x : m.messages) out.push_back(rp::chat_message{x.role, x.content, "", nullptr, "", ""});
  for (const auto& x : msgs) {
    rp::chat_message c;
    c.role = x.role;
    c.content = x.content;
    c.reasoning_content = x.thinking;  // earlier reasoning; R1 templates drop it
    c.tool_calls = x.tool_calls;
    c.tool_call_id = x.tool_call_id;
    c.name = x.tool_name;
    out.push_back(std::move(c));
  }
  return out;
}

result<std::optional<bool>> resolve_think(const model_entry& m, const api::think_option& think) {
  bool can = m.has_capability("thinking");
  if (think.set) {
    if (think.enabled && !can) return invalid_argument("\"" + m.display + "\" does not support thinking");
    return std::optional<bool>(think.enabled);
  }
  return can ? std::optional<bool>(true) : std::optional<bool>();
}

result<completion_result> run_completion(lease& l, const rp::completion_request& req) {
  completion_result r;
  status st = l.runner().complete(req, [&](const rp::completion_chunk& c) {
    r.content += c.content;
    r.thinking += c.thinking;
    r.tokens.insert(r.tokens.end(), c.tokens.begin(), c.tokens.end());
    r.probs.insert(r.probs.end(), c.probs.begin(), c.probs.end());
    if (c.tool_calls.is_array())
      for (const auto& t : c.tool_calls) r.tool_calls.push_back(t);
    if (c.done) r.final_chunk = c;
    return true;
  });
  if (!st.ok()) {
    if (st.code() == error_code::unavailable) l.runner_failed();
    return st;
  }
  if (r.final_chunk.stop_reason == "error") return internal_error(r.final_chunk.error);
  return r;
}

void apply_tools(const json& tools, const api::tool_choice_option& choice, rp::completion_request* req) {
  if (choice.mode == "none" || !tools.is_array() || tools.empty()) {
    req->tools = nullptr;
    return;
  }
  req->tools = tools;
  req->tool_choice = choice.mode == "function" || choice.mode == "required" ? choice.mode : "auto";
  req->tool_name = choice.mode == "function" ? choice.name : "";
}

int32_t reasoning_budget(const api::think_option& think, int32_t explicit_budget, const api::model_options& opts) {
  if (explicit_budget >= 0) return explicit_budget;
  if (think.set && think.enabled && !think.level.empty()) {
    if (think.level == "max") return -1;
    return api::reasoning_budget_for_level(think.level);
  }
  return opts.reasoning_budget;
}

json arguments_object(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_object() ? j : json::object();
}

json openai_tool_calls(const json& calls, size_t first_index, bool with_index) {
  json out = json::array();
  if (!calls.is_array()) return out;
  for (size_t i = 0; i < calls.size(); ++i) {
    const json& c = calls[i];
    json t{{"id", c.value("id", "")}, {"type", "function"},
           {"function", {{"name", c.value("name", "")}, {"arguments", c.value("arguments", "{}")}}}};
    if (with_index) t["index"] = first_index + i;
    out.push_back(std::move(t));
  }
  return out;
}

json ollama_tool_calls(const json& calls, size_t first_index) {
  json out = json::array();
  if (!calls.is_array()) return out;
  for (size_t i = 0; i < calls.size(); ++i) {
    const json& c = calls[i];
    out.push_back({{"id", c.value("id", "")},
                   {"function", {{"index", first_index + i}, {"name", c.value("name", "")},
                                 {"arguments", arguments_object(c.value("arguments", "{}"))}}}});
  }
  return out;
}

std::string done_reason(const std::string& stop_reason) {
  if (stop_reason == "length" || stop_reason == "context") return "length";
  return "stop";
}

std::string finish_reason(const std::string& stop_reason) {
  if (stop_reason == "length" || stop_reason == "context") return "length";
  return "stop";
}

json ollama_logprobs(const std::vector<rp::token_probs>& probs, int top_n) {
  json out = json::array();
  for (const auto& p : probs) {
    json e{{"token", p.chosen.token}, {"logprob", p.chosen.logprob}, {"bytes", p.chosen.bytes}};
    if (top_n > 0) {
      json top = json::array();
      for (size_t i = 0; i < p.top.size() && static_cast<int>(i) < top_n; ++i)
        top.push_back({{"token", p.top[i].token}, {"logprob", p.top[i].logprob}, {"bytes", p.top[i].bytes}});
      e["top_logprobs"] = top;
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace r1::daemon
