// Anthropic Messages API: POST /v1/messages (streaming and not) and
// POST /v1/messages/count_tokens. Requests are converted to the shared message form
// (api/anthropic.h) and run through the same runner path as /api/chat and
// /v1/chat/completions: reasoning becomes `thinking` blocks, tool calls `tool_use` blocks.
// `x-api-key` and `anthropic-version` are accepted; authentication is not this file's business.
#include <atomic>
#include <random>

#include "inference.h"
#include "r1/api/anthropic.h"
#include "r1/base/log.h"

namespace r1::daemon {

namespace {

std::string random_id(const char* prefix) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t salt = std::random_device{}();
  const uint64_t n = (static_cast<uint64_t>(api::now_unix_ns()) * 0x9E3779B97F4A7C15ULL) ^ salt ^ counter.fetch_add(1);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s%016llx%08llx", prefix, static_cast<unsigned long long>(n),
                static_cast<unsigned long long>(counter.load() & 0xffffffffULL));
  return buf;
}

// Runner call ids are "call_..."; Anthropic clients expect "toolu_...".
std::string tool_use_id(const std::string& call_id) {
  return call_id.rfind("call_", 0) == 0 ? "toolu_" + call_id.substr(5) : call_id;
}

const char* error_type(int http_status) {
  switch (http_status) {
    case 400: return "invalid_request_error";
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 503: return "overloaded_error";
    default: return "api_error";
  }
}

void reply_anthropic_error(httplib::Response& res, const status& s) {
  int code = http_status_for(s);
  if (code == 503) {
    res.set_header("Retry-After", "1");
    code = 529;  // Anthropic's "overloaded"
  }
  reply_json(res, api::anthropic_error(s.message(), error_type(code == 529 ? 503 : code)), code);
}

std::string stop_reason_of(const rp::completion_chunk& fin, bool calls) {
  if (calls && fin.stop_reason == "stop") return "tool_use";
  if (!fin.stop_word.empty()) return "stop_sequence";
  if (fin.stop_reason == "length" || fin.stop_reason == "context") return "max_tokens";
  return "end_turn";
}

json usage_json(const rp::completion_timings& t) {
  const int prompt = t.prompt_tokens ? t.prompt_tokens : t.prompt_n;
  return {{"input_tokens", prompt},
          {"output_tokens", t.predicted_n},
          {"cache_creation_input_tokens", 0},
          {"cache_read_input_tokens", 0}};
}

json tool_use_block(const json& call) {
  return {{"type", "tool_use"}, {"id", tool_use_id(call.value("id", ""))}, {"name", call.value("name", "")},
          {"input", arguments_object(call.value("arguments", "{}"))}};
}

struct messages_job {
  std::unique_ptr<lease> lease_;
  rp::completion_request req;
  std::string id, model;
};

// Resolves the model, layers options and acquires a runner. Replies with an error and returns null on failure.
std::shared_ptr<messages_job> prepare(daemon_context& ctx, const api::anthropic_request& q, httplib::Response& res) {
  auto m = resolve_model(ctx, q.model);
  if (!m.ok()) {
    reply_anthropic_error(res, m.error());
    return nullptr;
  }
  api::think_option think = q.think;
  // Anthropic clients ask for thinking without knowing the model: on a model that cannot, it is unset.
  if (think.set && think.enabled && !m->has_capability("thinking")) think = {};
  auto resolved = resolve_think(*m, think);
  if (!resolved.ok()) {
    reply_anthropic_error(res, resolved.error());
    return nullptr;
  }
  auto opts = layer_options(*m, api::to_options(q));
  if (!opts.ok()) {
    reply_anthropic_error(res, opts.error());
    return nullptr;
  }
  auto job = std::make_shared<messages_job>();
  job->id = random_id("msg_");
  job->model = q.model;
  apply_sampling(*opts, &job->req);
  job->req.messages = runner_messages(*m, q.messages, q.system);
  job->req.think = *resolved;
  job->req.split_reasoning = resolved->value_or(false);
  if (job->req.split_reasoning) job->req.reasoning_budget = reasoning_budget(think, q.thinking_budget, *opts);
  apply_tools(q.tools, q.tool_choice, &job->req);
  job->req.stream = true;
  auto l = acquire_runner(ctx, *m, *opts, ctx.settings.keep_alive_ms);
  if (!l.ok()) {
    reply_anthropic_error(res, l.error());
    return nullptr;
  }
  job->lease_ = std::move(*l);
  return job;
}

json message_object(const messages_job& job, const json& content, const json& stop_reason, const json& stop_sequence,
                    const json& usage) {
  return {{"id", job.id},           {"type", "message"},          {"role", "assistant"},
          {"model", job.model},     {"content", content},         {"stop_reason", stop_reason},
          {"stop_sequence", stop_sequence}, {"usage", usage}};
}

void reply_whole(messages_job& job, httplib::Response& res) {
  auto r = run_completion(*job.lease_, job.req);
  if (!r.ok()) return reply_anthropic_error(res, r.error());
  json content = json::array();
  if (!r->thinking.empty()) content.push_back({{"type", "thinking"}, {"thinking", r->thinking}, {"signature", ""}});
  if (!r->content.empty() || r->tool_calls.empty()) content.push_back({{"type", "text"}, {"text", r->content}});
  for (const auto& call : r->tool_calls) content.push_back(tool_use_block(call));
  const rp::completion_chunk& fin = r->final_chunk;
  reply_json(res, message_object(job, content, stop_reason_of(fin, !r->tool_calls.empty()),
                                 fin.stop_word.empty() ? json(nullptr) : json(fin.stop_word), usage_json(fin.timings)));
}

// Writes the named events of one streamed message; keeps track of the open content block.
class event_writer {
 public:
  explicit event_writer(httplib::DataSink& sink) : sink_(sink) {}

  bool event(const char* name, json data) {
    data["type"] = name;
    const std::string ev = std::string("event: ") + name + "\ndata: " + api::dump(data) + "\n\n";
    ok_ = ok_ && sink_.write(ev.data(), ev.size());
    return ok_;
  }
  // Appends text to a thinking or text block, opening it (and closing another) as needed.
  bool text(const std::string& type, const std::string& piece) {
    if (piece.empty()) return ok_;
    if (open_ != type) {
      close();
      json block = type == "thinking" ? json{{"type", "thinking"}, {"thinking", ""}} : json{{"type", "text"}, {"text", ""}};
      open(type, block);
    }
    json delta = type == "thinking" ? json{{"type", "thinking_delta"}, {"thinking", piece}}
                                    : json{{"type", "text_delta"}, {"text", piece}};
    return event("content_block_delta", {{"index", index_}, {"delta", delta}});
  }
  bool tool_use(const json& call) {
    close();
    json block = tool_use_block(call);
    const std::string args = api::dump(block["input"]);
    block["input"] = json::object();
    open("tool_use", block);
    event("content_block_delta", {{"index", index_}, {"delta", {{"type", "input_json_delta"}, {"partial_json", args}}}});
    return close();
  }
  bool close() {
    if (open_.empty()) return ok_;
    if (open_ == "thinking") {
      event("content_block_delta", {{"index", index_}, {"delta", {{"type", "signature_delta"}, {"signature", ""}}}});
    }
    open_.clear();
    return event("content_block_stop", {{"index", index_}});
  }
  bool any_block() const { return index_ >= 0; }
  bool ok() const { return ok_; }

 private:
  void open(const std::string& type, const json& block) {
    ++index_;
    open_ = type;
    event("content_block_start", {{"index", index_}, {"content_block", block}});
  }
  httplib::DataSink& sink_;
  std::string open_;
  int index_ = -1;
  bool ok_ = true;
};

// Returns false when the client went away.
bool run_stream(const std::shared_ptr<messages_job>& job, httplib::DataSink& sink) {
  event_writer w(sink);
  json start_usage{{"input_tokens", 0}, {"output_tokens", 0}};
  if (!w.event("message_start", {{"message", message_object(*job, json::array(), nullptr, nullptr, start_usage)}}) ||
      !w.event("ping", json::object()))
    return false;
  rp::completion_chunk fin;
  bool calls = false;
  status st = job->lease_->runner().complete(job->req, [&](const rp::completion_chunk& c) {
    if (c.done) fin = c;
    w.text("thinking", c.thinking);
    w.text("text", c.content);
    if (c.tool_calls.is_array()) {
      for (const auto& call : c.tool_calls) w.tool_use(call);
      calls = calls || !c.tool_calls.empty();
    }
    return w.ok();
  });
  if (!w.ok()) return false;
  if (st.code() == error_code::unavailable) job->lease_->runner_failed();
  if (!st.ok() || fin.stop_reason == "error") {
    w.event("error", {{"error", {{"type", "api_error"}, {"message", st.ok() ? fin.error : st.message()}}}});
    sink.done();
    return true;
  }
  if (!w.any_block()) w.text("text", " ");  // a message has at least one block
  w.close();
  w.event("message_delta", {{"delta", {{"stop_reason", stop_reason_of(fin, calls)},
                                       {"stop_sequence", fin.stop_word.empty() ? json(nullptr) : json(fin.stop_word)}}},
                            {"usage", {{"input_tokens", usage_json(fin.timings)["input_tokens"]},
                                       {"output_tokens", fin.timings.predicted_n}}}});
  w.event("message_stop", json::object());
  sink.done();
  return true;
}

void handle_messages(daemon_context& ctx, const json& body, httplib::Response& res) {
  auto q = api::parse_anthropic_request(body);
  if (!q.ok()) return reply_anthropic_error(res, q.error());
  auto job = prepare(ctx, *q, res);
  if (!job) return;
  if (!q->stream) return reply_whole(*job, res);
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider("text/event-stream",
                                   [job](size_t, httplib::DataSink& sink) { return run_stream(job, sink); });
}

void handle_count_tokens(daemon_context& ctx, const json& body, httplib::Response& res) {
  auto q = api::parse_anthropic_request(body, /*count_only=*/true);
  if (!q.ok()) return reply_anthropic_error(res, q.error());
  auto job = prepare(ctx, *q, res);
  if (!job) return;
  rp::render_request rr;
  rr.messages = *job->req.messages;
  rr.think = job->req.think;
  rr.tools = job->req.tools;
  auto rendered = job->lease_->runner().render(rr);
  if (!rendered.ok()) return reply_anthropic_error(res, rendered.error());
  rp::tokenize_request tr;
  tr.content = rendered->prompt;
  tr.rendered = true;
  auto toks = job->lease_->runner().tokenize(tr);
  if (!toks.ok()) return reply_anthropic_error(res, toks.error());
  reply_json(res, json{{"input_tokens", toks->tokens.size()}});
}

void post_anthropic(httplib::Server& srv, const std::string& path, daemon_context& ctx,
                    void (*h)(daemon_context&, const json&, httplib::Response&)) {
  srv.Post(path, [&ctx, h](const httplib::Request&, httplib::Response& res, const httplib::ContentReader& reader) {
    auto body = read_json_body(reader, ctx.settings.max_request_bytes);
    if (!body.ok()) {
      if (body.error().code() == error_code::resource_exhausted) {
        return reply_json(res, api::anthropic_error(body.error().message(), "request_too_large"), 413);
      }
      return reply_anthropic_error(res, body.error());
    }
    h(ctx, *body, res);
  });
}

}  // namespace

void add_anthropic_routes(httplib::Server& srv, daemon_context& ctx) {
  post_anthropic(srv, "/v1/messages", ctx, handle_messages);
  post_anthropic(srv, "/v1/messages/count_tokens", ctx, handle_count_tokens);
}

}  // namespace r1::daemon
