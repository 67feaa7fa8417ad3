// OpenAI- and DeepSeek-compatible routes: /v1/chat/completions, /v1/completions,
// /v1/models, /v1/models/{model}, /v1/embeddings (also without the /v1 prefix,
// as DeepSeek's base URL has none). Reasoning travels as `reasoning_content`.
#include <atomic>
#include <chrono>

#include "inference.h"
#include "structured_output.h"
#include "r1/api/openai.h"
#include "r1/base/log.h"

namespace r1::daemon {

namespace {

std::string new_id(const char* prefix) {
  static std::atomic<uint64_t> counter{0};
  uint64_t n = (static_cast<uint64_t>(api::now_unix_ns()) << 8) ^ counter.fetch_add(1);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s%016llx", prefix, static_cast<unsigned long long>(n));
  return buf;
}

json usage_json(const rp::completion_timings& t) {
  int prompt = t.prompt_tokens ? t.prompt_tokens : t.prompt_n;
  return {{"prompt_tokens", prompt},
          {"completion_tokens", t.predicted_n},
          {"total_tokens", prompt + t.predicted_n},
          {"prompt_cache_hit_tokens", t.cached_n},
          {"prompt_cache_miss_tokens", prompt - t.cached_n},
          {"prompt_tokens_details", {{"cached_tokens", t.cached_n}}},
          {"completion_tokens_details", {{"reasoning_tokens", t.reasoning_tokens}}}};
}

json chat_logprobs(const std::vector<rp::token_probs>& probs, int top_n) {
  json content = json::array();
  for (const auto& p : probs) {
    json top = json::array();
    for (size_t i = 0; i < p.top.size() && static_cast<int>(i) < top_n; ++i)
      top.push_back({{"token", p.top[i].token}, {"logprob", p.top[i].logprob}, {"bytes", p.top[i].bytes}});
    content.push_back({{"token", p.chosen.token}, {"logprob", p.chosen.logprob}, {"bytes", p.chosen.bytes},
                       {"top_logprobs", top}});
  }
  return {{"content", content}};
}

// Legacy completions logprobs: parallel arrays; the first prompt token has no logprob.
json legacy_logprobs(const std::vector<rp::token_probs>& probs, int top_n, size_t text_offset0, bool leading_null) {
  json tokens = json::array(), lps = json::array(), tops = json::array(), offsets = json::array();
  size_t off = text_offset0;
  for (size_t k = 0; k < probs.size(); ++k) {
    const auto& p = probs[k];
    tokens.push_back(p.chosen.token);
    if (leading_null && k == 0) lps.push_back(nullptr);
    else lps.push_back(p.chosen.logprob);
    json t = json::object();
    for (size_t i = 0; i < p.top.size() && static_cast<int>(i) < top_n; ++i) t[p.top[i].token] = p.top[i].logprob;
    if (leading_null && k == 0) tops.push_back(nullptr);
    else tops.push_back(t);
    offsets.push_back(off);
    off += p.chosen.token.size();
  }
  return {{"tokens", tokens}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

// finish_reason "tool_calls" when the answer ended normally with calls.
std::string chat_finish_reason(const std::string& stop_reason, bool calls) {
  return calls && stop_reason == "stop" ? "tool_calls" : finish_reason(stop_reason);
}

bool write_event(httplib::DataSink& sink, const std::string& data) {
  std::string ev = "data: " + data + "\n\n";
  return sink.write(ev.data(), ev.size());
}

struct sse_job {
  std::unique_ptr<lease> lease_;
  rp::completion_request req;
  std::string id, model;
  int64_t created = 0;
  bool chat = true;
  bool include_usage = false;
  bool logprobs = false;
  int top_logprobs = 0;
  size_t n_calls = 0;  // tool calls streamed so far
};

json chunk_base(const sse_job& job) {
  json j{{"id", job.id},
         {"object", job.chat ? "chat.completion.chunk" : "text_completion"},
         {"created", job.created},
         {"model", job.model},
         {"system_fingerprint", "fp_r1"}};
  if (job.include_usage) j["usage"] = nullptr;
  return j;
}

json chat_delta_chunk(const sse_job& job, json delta, const json& finish, const json& logprobs) {
  json j = chunk_base(job);
  j["choices"] = json::array({{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", logprobs}, {"finish_reason", finish}}});
  return j;
}

json text_chunk(const sse_job& job, const std::string& text, const json& finish, const json& logprobs) {
  json j = chunk_base(job);
  j["choices"] = json::array({{{"index", 0}, {"text", text}, {"logprobs", logprobs}, {"finish_reason", finish}}});
  return j;
}

// Returns false when the client went away (the provider must not be called again).
bool run_sse(const std::shared_ptr<sse_job>& job, httplib::DataSink& sink) {
  bool gone = false;
  rp::completion_chunk fin;
  if (job->chat && !write_event(sink, api::dump(chat_delta_chunk(*job, {{"role", "assistant"}, {"content", ""}}, nullptr, nullptr))))
    return false;
  status st = job->lease_->runner().complete(job->req, [&](const rp::completion_chunk& c) {
    if (c.done) fin = c;
    json lp = job->logprobs && !c.probs.empty()
                  ? (job->chat ? chat_logprobs(c.probs, job->top_logprobs) : legacy_logprobs(c.probs, job->top_logprobs, 0, false))
                  : json(nullptr);
    std::vector<json> out;
    if (job->chat) {
      // DeepSeek's contract: never reasoning_content and content both non-null in one chunk.
      if (!c.thinking.empty()) out.push_back(chat_delta_chunk(*job, {{"reasoning_content", c.thinking}, {"content", nullptr}}, nullptr, c.content.empty() ? lp : json(nullptr)));
      if (!c.content.empty()) out.push_back(chat_delta_chunk(*job, {{"content", c.content}}, nullptr, lp));
      // Each call: a first fragment with id, type, name and empty arguments, then the arguments.
      json calls = openai_tool_calls(c.tool_calls, job->n_calls, true);
      for (auto& call : calls) {
        json args = call["function"]["arguments"];
        call["function"]["arguments"] = "";
        out.push_back(chat_delta_chunk(*job, {{"tool_calls", json::array({call})}}, nullptr, nullptr));
        out.push_back(chat_delta_chunk(
            *job, {{"tool_calls", json::array({{{"index", call["index"]}, {"function", {{"arguments", args}}}}})}}, nullptr,
            nullptr));
        ++job->n_calls;
      }
    } else if (!c.content.empty() || !c.thinking.empty()) {
      out.push_back(text_chunk(*job, c.thinking + c.content, nullptr, lp));
    }
    for (const auto& j : out) {
      if (!write_event(sink, api::dump(j))) {
        gone = true;
        return false;
      }
    }
    return true;
  });
  if (gone) return false;
  if (st.code() == error_code::unavailable) job->lease_->runner_failed();
  if (!st.ok() || fin.stop_reason == "error") {
    std::string msg = st.ok() ? fin.error : st.message();
    write_event(sink, api::dump(api::openai_error(msg, "server_error")));
    sink.done();
    return true;
  }
  std::string fr = job->chat ? chat_finish_reason(fin.stop_reason, job->n_calls > 0) : finish_reason(fin.stop_reason);
  write_event(sink, api::dump(job->chat ? chat_delta_chunk(*job, json::object(), fr, nullptr) : text_chunk(*job, "", fr, nullptr)));
  if (job->include_usage) {
    json u = chunk_base(*job);
    u["choices"] = json::array();
    u["usage"] = usage_json(fin.timings);
    write_event(sink, api::dump(u));
  }
  write_event(sink, "[DONE]");
  sink.done();
  return true;
}

void stream_sse(const std::shared_ptr<sse_job>& job, httplib::Response& res) {
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider("text/event-stream",
                                   [job](size_t, httplib::DataSink& sink) { return run_sse(job, sink); });
}

// Common start: resolve, layer options, acquire. Replies with an error and returns null on failure.
std::shared_ptr<sse_job> start_job(daemon_context& ctx, const std::string& model, const json& options, bool chat,
                                   httplib::Response& res, model_entry* out_model, api::model_options* out_opts = nullptr) {
  auto m = resolve_model(ctx, model);
  if (!m.ok()) {
    reply_openai_error(res, m.error());
    return nullptr;
  }
  auto opts = layer_options(*m, options);
  if (!opts.ok()) {
    reply_openai_error(res, opts.error());
    return nullptr;
  }
  auto job = std::make_shared<sse_job>();
  job->chat = chat;
  job->id = new_id(chat ? "chatcmpl-" : "cmpl-");
  job->model = model;
  job->created = api::now_unix_ns() / 1000000000;
  apply_sampling(*opts, &job->req);
  auto l = acquire_runner(ctx, *m, *opts, ctx.settings.keep_alive_ms);
  if (!l.ok()) {
    reply_openai_error(res, l.error());
    return nullptr;
  }
  job->lease_ = std::move(*l);
  *out_model = std::move(*m);
  if (out_opts) *out_opts = *opts;
  return job;
}

void handle_chat(daemon_context& ctx, const json& body, httplib::Response& res) {
  auto q = api::parse_openai_chat_request(body);
  if (!q.ok()) return reply_openai_error(res, q.error());
  auto constraint = openai_response_format_constraint(q->response_format);
  if (!constraint.ok()) return reply_openai_error(res, constraint.error());
  model_entry m;
  api::model_options opts;
  auto job = start_job(ctx, q->model, api::to_options(q->sampling), true, res, &m, &opts);
  if (!job) return;
  auto think = resolve_think(m, q->think);
  if (!think.ok()) return reply_openai_error(res, think.error());
  // Earlier reasoning_content from the client is accepted and dropped for R1-style templates.
  for (auto& msg : q->messages) msg.thinking.clear();
  job->req.messages = runner_messages(m, q->messages, "");
  job->req.think = *think;
  job->req.split_reasoning = think->value_or(false);
  job->req.reasoning_budget = job->req.split_reasoning ? reasoning_budget(q->think, -1, opts) : -1;
  apply_tools(q->tools, q->tool_choice, &job->req);
  job->req.constraint = std::move(*constraint);
  job->req.stream = true;
  job->include_usage = q->include_usage;
  job->logprobs = q->logprobs;
  job->top_logprobs = q->top_logprobs;
  job->req.n_probs = q->logprobs ? std::max(1, q->top_logprobs) : 0;
  if (q->stream) return stream_sse(job, res);
  auto r = run_completion(*job->lease_, job->req);
  if (!r.ok()) return reply_openai_error(res, r.error());
  const bool calls = !r->tool_calls.empty();
  json msg{{"role", "assistant"}, {"content", calls && r->content.empty() ? json(nullptr) : json(r->content)}};
  if (think->value_or(false) || !r->thinking.empty()) msg["reasoning_content"] = r->thinking;
  if (calls) msg["tool_calls"] = openai_tool_calls(r->tool_calls, 0, false);
  json choice{{"index", 0}, {"message", msg}, {"logprobs", q->logprobs ? chat_logprobs(r->probs, q->top_logprobs) : json(nullptr)},
              {"finish_reason", chat_finish_reason(r->final_chunk.stop_reason, calls)}};
  reply_json(res, json{{"id", job->id}, {"object", "chat.completion"}, {"created", job->created}, {"model", job->model},
                       {"system_fingerprint", "fp_r1"}, {"choices", json::array({choice})},
                       {"usage", usage_json(r->final_chunk.timings)}});
}

void handle_completion(daemon_context& ctx, const json& body, httplib::Response& res) {
  auto q = api::parse_openai_completion_request(body);
  if (!q.ok()) return reply_openai_error(res, q.error());
  model_entry m;
  auto job = start_job(ctx, q->model, api::to_options(q->sampling), false, res, &m);
  if (!job) return;
  if (q->prompt_tokens) job->req.prompt_tokens = q->prompt_tokens;
  else job->req.prompt = q->prompt.value_or("");
  job->req.split_reasoning = false;
  job->req.stream = true;
  job->include_usage = q->include_usage;
  job->logprobs = q->logprobs >= 0;
  job->top_logprobs = std::max(0, q->logprobs);
  job->req.n_probs = q->logprobs >= 0 ? std::max(1, q->logprobs) : 0;
  job->req.prompt_logprobs = q->echo && q->logprobs >= 0;
  if (q->stream && !q->echo) return stream_sse(job, res);
  auto r = run_completion(*job->lease_, job->req);
  if (!r.ok()) return reply_openai_error(res, r.error());
  std::string text = r->content;
  json lp = nullptr;
  std::string echoed;
  if (q->echo) {
    if (q->prompt) {
      echoed = *q->prompt;
    } else {
      rp::detokenize_request dr;
      dr.tokens = *q->prompt_tokens;
      auto d = job->lease_->runner().detokenize(dr);
      if (d.ok()) echoed = d->content;
    }
    text = echoed + text;
  }
  if (q->logprobs >= 0) {
    std::vector<rp::token_probs> all;
    if (q->echo) {
      // The first prompt token has no logprob (nothing precedes it); the runner
      // reports one entry per prompt token after the first.
      rp::token_probs first;
      if (q->prompt_tokens && !q->prompt_tokens->empty()) first.chosen.id = q->prompt_tokens->front();
      all.push_back(first);
      all.insert(all.end(), r->final_chunk.prompt_probs.begin(), r->final_chunk.prompt_probs.end());
    }
    all.insert(all.end(), r->probs.begin(), r->probs.end());
    lp = legacy_logprobs(all, q->logprobs, 0, q->echo);
  }
  json choice{{"index", 0}, {"text", text}, {"logprobs", lp}, {"finish_reason", finish_reason(r->final_chunk.stop_reason)}};
  json out{{"id", job->id}, {"object", "text_completion"}, {"created", job->created}, {"model", job->model},
           {"system_fingerprint", "fp_r1"}, {"choices", json::array({choice})}, {"usage", usage_json(r->final_chunk.timings)}};
  if (!q->stream) return reply_json(res, out);
  // echo with stream: one chunk with everything, then [DONE].
  res.set_chunked_content_provider("text/event-stream", [out](size_t, httplib::DataSink& sink) {
    json c = out;
    c["choices"][0]["finish_reason"] = out["choices"][0]["finish_reason"];
    write_event(sink, api::dump(c));
    write_event(sink, "[DONE]");
    sink.done();
    return true;
  });
}

void handle_embeddings(daemon_context& ctx, const json& body, httplib::Response& res) {
  auto q = api::parse_openai_embedding_request(body);
  if (!q.ok()) return reply_openai_error(res, q.error());
  auto m = resolve_model(ctx, q->model);
  if (!m.ok()) return reply_openai_error(res, m.error());
  auto opts = layer_options(*m, nullptr);
  if (!opts.ok()) return reply_openai_error(res, opts.error());
  auto l = acquire_runner(ctx, *m, *opts, ctx.settings.keep_alive_ms);
  if (!l.ok()) return reply_openai_error(res, l.error());
  rp::embedding_request er;
  er.input = q->input;
  for (const auto& toks : q->token_input) {
    rp::detokenize_request dr;
    dr.tokens = toks;
    auto d = (*l)->runner().detokenize(dr);
    if (!d.ok()) return reply_openai_error(res, d.error());
    er.input.push_back(d->content);
  }
  auto r = (*l)->runner().embed(er);
  if (!r.ok()) return reply_openai_error(res, r.error());
  json data = json::array();
  for (size_t i = 0; i < r->embeddings.size(); ++i) {
    auto e = r->embeddings[i];
    if (q->dimensions > 0 && static_cast<size_t>(q->dimensions) < e.size()) e.resize(static_cast<size_t>(q->dimensions));
    json vec;
    if (q->base64) {
      std::string raw(reinterpret_cast<const char*>(e.data()), e.size() * sizeof(float));
      static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      std::string b64;
      for (size_t k = 0; k < raw.size(); k += 3) {
        uint32_t v = static_cast<uint8_t>(raw[k]) << 16;
        if (k + 1 < raw.size()) v |= static_cast<uint8_t>(raw[k + 1]) << 8;
        if (k + 2 < raw.size()) v |= static_cast<uint8_t>(raw[k + 2]);
        b64 += tbl[(v >> 18) & 63];
        b64 += tbl[(v >> 12) & 63];
        b64 += k + 1 < raw.size() ? tbl[(v >> 6) & 63] : '=';
        b64 += k + 2 < raw.size() ? tbl[v & 63] : '=';
      }
      vec = b64;
    } else {
      vec = e;
    }
    data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", vec}});
  }
  reply_json(res, json{{"object", "list"}, {"data", data}, {"model", q->model},
                       {"usage", {{"prompt_tokens", r->prompt_tokens}, {"total_tokens", r->prompt_tokens}}}});
}

json model_object(const model_entry& m) {
  return {{"id", m.display}, {"object", "model"}, {"created", m.modified_unix},
          {"owned_by", m.name.name_space.empty() ? "library" : m.name.name_space}};
}

}  // namespace

void add_openai_routes(httplib::Server& srv, daemon_context& ctx) {
  for (std::string prefix : {"/v1", ""}) {
    post_json(srv, prefix + "/chat/completions", ctx, true,
              [&ctx](const httplib::Request&, httplib::Response& res, const json& b) { handle_chat(ctx, b, res); });
    post_json(srv, prefix + "/completions", ctx, true,
              [&ctx](const httplib::Request&, httplib::Response& res, const json& b) { handle_completion(ctx, b, res); });
    post_json(srv, prefix + "/embeddings", ctx, true,
              [&ctx](const httplib::Request&, httplib::Response& res, const json& b) { handle_embeddings(ctx, b, res); });
    srv.Get(prefix + "/models", [&ctx](const httplib::Request&, httplib::Response& res) {
      auto all = ctx.catalog->list_entries();
      if (!all.ok()) return reply_openai_error(res, all.error());
      json data = json::array();
      for (const auto& m : *all) data.push_back(model_object(m));
      reply_json(res, json{{"object", "list"}, {"data", data}});
    });
    srv.Get(prefix + R"(/models/(.+))", [&ctx](const httplib::Request& req, httplib::Response& res) {
      auto m = resolve_model(ctx, req.matches[1].str());
      if (!m.ok()) return reply_openai_error(res, m.error());
      reply_json(res, model_object(*m));
    });
  }
}

}  // namespace r1::daemon
