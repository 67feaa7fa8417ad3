// Ollama inference routes: /api/generate, /api/chat, /api/embed, /api/embeddings.
#include <chrono>
#include <cmath>

#include "inference.h"
#include "structured_output.h"
#include "r1/base/log.h"

namespace r1::daemon {

namespace {

using steady = std::chrono::steady_clock;

int64_t since_ns(steady::time_point t0) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now() - t0).count();
}

json final_stats(const rp::completion_timings& t, int64_t total_ns, int64_t load_ns) {
  return {{"total_duration", total_ns},
          {"load_duration", load_ns},
          {"prompt_eval_count", t.prompt_tokens ? t.prompt_tokens : t.prompt_n},
          {"prompt_eval_duration", static_cast<int64_t>(t.prompt_ms * 1e6)},
          {"eval_count", t.predicted_n},
          {"eval_duration", static_cast<int64_t>(t.predicted_ms * 1e6)}};
}

// A request `template` in Go template syntax, reduced to what prompt templates
// use: {{ .System }}, {{ .Prompt }}, {{ .Response }}, {{ if .System }}..{{ end }}
// and the {{- -}} trim markers. The result is sent raw.
std::string render_template(const std::string& t, const std::string& system, const std::string& prompt) {
  std::string out;
  std::vector<bool> emit{true};
  size_t i = 0;
  while (i < t.size()) {
    size_t open = t.find("{{", i);
    if (open == std::string::npos) open = t.size();
    if (emit.back()) out += t.substr(i, open - i);
    if (open == t.size()) break;
    size_t close = t.find("}}", open);
    if (close == std::string::npos) break;
    std::string action = t.substr(open + 2, close - open - 2);
    bool trim_left = !action.empty() && action.front() == '-';
    bool trim_right = !action.empty() && action.back() == '-';
    if (trim_left && emit.back()) {
      while (!out.empty() && isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
    }
    std::string a(trim(std::string_view(action).substr(trim_left, action.size() - trim_left - trim_right)));
    if (a == ".System") { if (emit.back()) out += system; }
    else if (a == ".Prompt") { if (emit.back()) out += prompt; }
    else if (a.rfind("if ", 0) == 0) emit.push_back(emit.back() && (a == "if .System" ? !system.empty() : a == "if .Prompt" ? !prompt.empty() : false));
    else if (a == "else" && emit.size() > 1) emit.back() = !emit.back() && emit[emit.size() - 2];
    else if (a == "end" && emit.size() > 1) emit.pop_back();
    i = close + 2;
    if (trim_right) while (i < t.size() && isspace(static_cast<unsigned char>(t[i]))) ++i;
  }
  return out;
}

// Load (or unload) requests: an empty prompt / empty messages.
void load_or_unload(daemon_context& ctx, const model_entry& m, const api::keep_alive_option& ka, bool chat,
                    httplib::Response& res) {
  json reply{{"model", m.display}, {"created_at", api::rfc3339_utc(api::now_unix_ns())}, {"done", true}};
  if (chat) reply["message"] = {{"role", "assistant"}, {"content", ""}};
  else reply["response"] = "";
  if (ka.set && ka.ms == 0) {
    (void)ctx.sched->unload(m.display);  // not loaded is fine
    reply["done_reason"] = "unload";
    return reply_json(res, reply);
  }
  auto opts = layer_options(m, nullptr);
  if (!opts.ok()) return reply_error(res, opts.error());
  auto l = acquire_runner(ctx, m, *opts, keep_alive_ms(ctx, ka));
  if (!l.ok()) return reply_error(res, l.error());
  reply["done_reason"] = "load";
  reply_json(res, reply);
}

// State shared by a streaming reply's content provider.
struct stream_job {
  daemon_context* ctx = nullptr;
  std::unique_ptr<lease> lease_;
  rp::completion_request req;
  std::string model;
  bool chat = false;
  bool want_context = false;
  bool logprobs = false;
  int top_logprobs = 0;
  std::vector<int32_t> prompt_context;
  steady::time_point t0;
  size_t n_calls = 0;  // tool calls sent so far
};

json piece(const stream_job& job, const std::string& content, const std::string& thinking) {
  json j{{"model", job.model}, {"created_at", api::rfc3339_utc(api::now_unix_ns())}};
  if (job.chat) {
    json msg{{"role", "assistant"}, {"content", content}};
    if (!thinking.empty()) msg["thinking"] = thinking;
    j["message"] = msg;
  } else {
    j["response"] = content;
    if (!thinking.empty()) j["thinking"] = thinking;
  }
  return j;
}

// The `context` of a generate reply: the rendered prompt's tokens plus the answer's.
json context_tokens(const stream_job& job, const rp::completion_chunk& fin, const std::vector<int32_t>& answer) {
  std::vector<int32_t> ctx_tokens = job.prompt_context;
  if (!fin.rendered_prompt.empty()) {
    rp::tokenize_request tr;
    tr.content = fin.rendered_prompt;
    tr.add_special = true;
    auto t = job.lease_->runner().tokenize(tr);
    if (t.ok()) ctx_tokens.insert(ctx_tokens.end(), t->tokens.begin(), t->tokens.end());
  }
  ctx_tokens.insert(ctx_tokens.end(), answer.begin(), answer.end());
  return ctx_tokens;
}

json final_object(const stream_job& job, const rp::completion_chunk& fin, const std::vector<int32_t>& answer,
                  const std::string& content, const std::string& thinking) {
  json j = piece(job, content, thinking);
  j["done"] = true;
  j["done_reason"] = done_reason(fin.stop_reason);
  j.update(final_stats(fin.timings, since_ns(job.t0), job.lease_->load_duration_ns()));
  if (job.want_context) j["context"] = context_tokens(job, fin, answer);
  return j;
}

bool write_line(httplib::DataSink& sink, const json& j) {
  std::string line = api::dump(j);
  line += '\n';
  return sink.write(line.data(), line.size());
}

// Returns false when the client went away (the provider must not be called again).
bool run_stream(const std::shared_ptr<stream_job>& job, httplib::DataSink& sink) {
  std::vector<int32_t> answer;
  rp::completion_chunk fin;
  bool client_gone = false;
  status st = job->lease_->runner().complete(job->req, [&](const rp::completion_chunk& c) {
    answer.insert(answer.end(), c.tokens.begin(), c.tokens.end());
    if (c.done) {
      fin = c;
      if (c.content.empty() && c.thinking.empty() && !c.tool_calls.is_array()) return true;
    }
    json j = piece(*job, c.content, c.thinking);
    j["done"] = false;
    if (job->chat && c.tool_calls.is_array()) {
      j["message"]["tool_calls"] = ollama_tool_calls(c.tool_calls, job->n_calls);
      job->n_calls += c.tool_calls.size();
    }
    if (job->logprobs && !c.probs.empty()) j["logprobs"] = ollama_logprobs(c.probs, job->top_logprobs);
    if (c.done) {
      fin.content.clear();
      fin.thinking.clear();
    }
    if (!write_line(sink, j)) {
      client_gone = true;
      return false;
    }
    return true;
  });
  if (client_gone) {
    R1_LOG(info, "http") << "client went away; cancelled the request to " << job->model;
    return false;
  }
  if (!st.ok()) {
    if (st.code() == error_code::unavailable) job->lease_->runner_failed();
    R1_LOG(warn, "http") << job->model << ": " << st.message();
    write_line(sink, json{{"error", st.message()}});
  } else if (fin.stop_reason == "error") {
    write_line(sink, json{{"error", fin.error.empty() ? "the runner failed" : fin.error}});
  } else {
    write_line(sink, final_object(*job, fin, answer, "", ""));
  }
  sink.done();
  return true;
}

// Runs the job: streaming (NDJSON) or one JSON object.
void respond(const std::shared_ptr<stream_job>& job, bool stream, httplib::Response& res) {
  if (stream) {
    res.set_chunked_content_provider("application/x-ndjson",
                                     [job](size_t, httplib::DataSink& sink) { return run_stream(job, sink); });
    return;
  }
  auto r = run_completion(*job->lease_, job->req);
  if (!r.ok()) return reply_error(res, r.error());
  json j = final_object(*job, r->final_chunk, r->tokens, r->content, r->thinking);
  if (job->chat && !r->tool_calls.empty()) j["message"]["tool_calls"] = ollama_tool_calls(r->tool_calls, 0);
  if (job->logprobs) j["logprobs"] = ollama_logprobs(r->probs, job->top_logprobs);
  reply_json(res, j);
}

// A generate or chat job with what both handlers set the same way: model, timing, sampling, log probabilities.
std::shared_ptr<stream_job> new_job(daemon_context& ctx, const model_entry& m, steady::time_point t0, bool chat,
                                    bool logprobs, int top_logprobs, const api::model_options& opts) {
  auto job = std::make_shared<stream_job>();
  job->ctx = &ctx;
  job->model = m.display;
  job->chat = chat;
  job->t0 = t0;
  job->logprobs = logprobs;
  job->top_logprobs = top_logprobs;
  apply_sampling(opts, &job->req);
  job->req.n_probs = logprobs ? std::max(1, top_logprobs) : 0;
  job->req.stream = true;
  return job;
}

// The request's `format` as the job's constraint, then a runner for the model (loading it when needed).
status attach_runner(daemon_context& ctx, const model_entry& m, const json& format, const api::model_options& opts,
                     const api::keep_alive_option& keep_alive, stream_job& job) {
  R1_ASSIGN_OR_RETURN(job.req.constraint, ollama_format_constraint(format));
  R1_ASSIGN_OR_RETURN(job.lease_, acquire_runner(ctx, m, opts, keep_alive_ms(ctx, keep_alive)));
  return {};
}

// The job's messages rendered by the runner's chat template.
result<std::string> render_messages(const stream_job& job) {
  rp::render_request rr;
  rr.messages = *job.req.messages;
  rr.think = job.req.think;
  rr.tools = job.req.tools;
  R1_ASSIGN_OR_RETURN(auto r, job.lease_->runner().render(rr));
  return r.prompt;
}

// _debug_render_only: the prompt the model would see, instead of a completion.
void reply_rendered(const stream_job& job, httplib::Response& res) {
  auto prompt = render_messages(job);
  if (!prompt.ok()) return reply_error(res, prompt.error());
  reply_json(res, json{{"model", job.model}, {"prompt", *prompt}, {"done", true}});
}

void handle_generate(daemon_context& ctx, const json& body, httplib::Response& res) {
  auto t0 = steady::now();
  auto q = api::parse_generate_request(body);
  if (!q.ok()) return reply_error(res, q.error());
  auto m = resolve_model(ctx, q->model);
  if (!m.ok()) return reply_error(res, m.error());
  if (!m->has_capability("completion"))
    return reply_error(res, invalid_argument("\"" + m->display + "\" does not support generate"));
  if (q->prompt.empty() && !q->context && q->images.empty()) return load_or_unload(ctx, *m, q->keep_alive, false, res);
  auto think = resolve_think(*m, q->think);
  if (!think.ok()) return reply_error(res, think.error());
  auto opts = layer_options(*m, q->options);
  if (!opts.ok()) return reply_error(res, opts.error());

  auto job = new_job(ctx, *m, t0, false, q->logprobs, q->top_logprobs, *opts);
  if (q->raw) {
    job->req.prompt = q->prompt;
    job->req.split_reasoning = q->think.set && q->think.enabled;
  } else if (!q->template_text.empty()) {
    job->req.prompt = render_template(q->template_text, q->system.empty() ? m->system.value_or("") : q->system, q->prompt);
    job->req.split_reasoning = think->value_or(false);
    job->want_context = true;
  } else {
    api::message user;
    user.role = "user";
    user.content = q->prompt;
    job->req.messages = runner_messages(*m, {user}, q->system);
    job->req.think = *think;
    job->req.split_reasoning = think->value_or(false);
    job->want_context = true;
  }
  if (job->req.split_reasoning) job->req.reasoning_budget = reasoning_budget(q->think, -1, *opts);
  if (status st = attach_runner(ctx, *m, q->format, *opts, q->keep_alive, *job); !st.ok()) return reply_error(res, st);
  if (q->context && !q->context->empty()) {
    // Earlier turns as token ids: render the new prompt and send tokens.
    std::string text;
    if (job->req.messages) {
      auto r = render_messages(*job);
      if (!r.ok()) return reply_error(res, r.error());
      text = std::move(*r);
    } else {
      text = *job->req.prompt;
    }
    rp::tokenize_request tr;
    tr.content = text;
    auto toks = job->lease_->runner().tokenize(tr);
    if (!toks.ok()) return reply_error(res, toks.error());
    std::vector<int32_t> all = *q->context;
    all.insert(all.end(), toks->tokens.begin(), toks->tokens.end());
    job->prompt_context = *q->context;
    job->req.prompt.reset();
    job->req.messages.reset();
    job->req.prompt_tokens = all;
  }
  if (q->debug_render_only && job->req.messages) return reply_rendered(*job, res);
  respond(job, q->stream, res);
}

void handle_chat(daemon_context& ctx, const json& body, httplib::Response& res) {
  auto t0 = steady::now();
  auto q = api::parse_chat_request(body);
  if (!q.ok()) return reply_error(res, q.error());
  auto m = resolve_model(ctx, q->model);
  if (!m.ok()) return reply_error(res, m.error());
  if (!m->has_capability("completion"))
    return reply_error(res, invalid_argument("\"" + m->display + "\" does not support chat"));
  if (q->messages.empty()) return load_or_unload(ctx, *m, q->keep_alive, true, res);
  auto think = resolve_think(*m, q->think);
  if (!think.ok()) return reply_error(res, think.error());
  auto opts = layer_options(*m, q->options);
  if (!opts.ok()) return reply_error(res, opts.error());

  auto job = new_job(ctx, *m, t0, true, q->logprobs, q->top_logprobs, *opts);
  job->req.messages = runner_messages(*m, q->messages, "");
  job->req.think = *think;
  job->req.split_reasoning = think->value_or(false);
  if (job->req.split_reasoning) job->req.reasoning_budget = reasoning_budget(q->think, -1, *opts);
  if (status st = api::validate_tools(q->tools, "chat request"); !st.ok()) return reply_error(res, st);
  apply_tools(q->tools, api::tool_choice_option{}, &job->req);
  if (status st = attach_runner(ctx, *m, q->format, *opts, q->keep_alive, *job); !st.ok()) return reply_error(res, st);
  if (q->debug_render_only) return reply_rendered(*job, res);
  respond(job, q->stream, res);
}

void handle_embed(daemon_context& ctx, const json& body, bool legacy, httplib::Response& res) {
  auto t0 = steady::now();
  auto q = legacy ? api::parse_embeddings_request(body) : api::parse_embed_request(body);
  if (!q.ok()) return reply_error(res, q.error());
  auto m = resolve_model(ctx, q->model);
  if (!m.ok()) return reply_error(res, m.error());
  auto opts = layer_options(*m, q->options);
  if (!opts.ok()) return reply_error(res, opts.error());
  auto l = acquire_runner(ctx, *m, *opts, keep_alive_ms(ctx, q->keep_alive));
  if (!l.ok()) return reply_error(res, l.error());
  if (q->input.empty()) return reply_json(res, json{{"model", m->display}, {"embeddings", json::array()}});
  rp::embedding_request er;
  er.input = q->input;
  er.normalize = !legacy;
  er.truncate = q->truncate;
  auto r = (*l)->runner().embed(er);
  if (!r.ok()) return reply_error(res, r.error());
  if (legacy) {
    json v = json::array();
    if (!r->embeddings.empty())
      for (float x : r->embeddings[0]) v.push_back(static_cast<double>(x));
    return reply_json(res, json{{"embedding", v}});
  }
  json all = json::array();
  for (auto& e : r->embeddings) {
    if (q->dimensions > 0 && static_cast<size_t>(q->dimensions) < e.size()) {
      e.resize(static_cast<size_t>(q->dimensions));
      double norm = 0;
      for (float x : e) norm += static_cast<double>(x) * x;
      norm = std::sqrt(norm);
      if (norm > 0)
        for (float& x : e) x = static_cast<float>(x / norm);
    }
    all.push_back(e);
  }
  reply_json(res, json{{"model", m->display},
                       {"embeddings", all},
                       {"total_duration", since_ns(t0)},
                       {"load_duration", (*l)->load_duration_ns()},
                       {"prompt_eval_count", r->prompt_tokens}});
}

}  // namespace

void add_inference_routes(httplib::Server& srv, daemon_context& ctx) {
  post_json(srv, "/api/generate", ctx, false,
            [&ctx](const httplib::Request&, httplib::Response& res, const json& body) { handle_generate(ctx, body, res); });
  post_json(srv, "/api/chat", ctx, false,
            [&ctx](const httplib::Request&, httplib::Response& res, const json& body) { handle_chat(ctx, body, res); });
  post_json(srv, "/api/embed", ctx, false, [&ctx](const httplib::Request&, httplib::Response& res, const json& body) {
    handle_embed(ctx, body, false, res);
  });
  post_json(srv, "/api/embeddings", ctx, false,
            [&ctx](const httplib::Request&, httplib::Response& res, const json& body) { handle_embed(ctx, body, true, res); });
}

}  // namespace r1::daemon
