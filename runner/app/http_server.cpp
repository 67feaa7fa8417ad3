#include "http_server.h"

#include <httplib.h>

#include <chrono>
#include <random>

#include "protocol_convert.h"
#include "forced_tool_call.h"
#include "tool_call_stream.h"
#include "r1/base/log.h"

namespace r1::runner {

namespace rp = runner_protocol;

namespace {

int http_status_for(const status& s) {
  switch (s.code()) {
    case error_code::invalid_argument:
    case error_code::resource_exhausted: return 400;
    case error_code::not_found: return 404;
    case error_code::unavailable:
    case error_code::cancelled: return 503;
    default: return 500;
  }
}

void send_json(httplib::Response& res, int code, const rp::json& j) {
  res.status = code;
  res.set_content(dump_json(j), "application/json");
}

void send_error(httplib::Response& res, const status& s) {
  rp::error_response e;
  e.error = s.message();
  e.code = std::string(error_code_name(s.code()));
  send_json(res, http_status_for(s), rp::to_json(e));
}

result<rp::json> body_json(const httplib::Request& req) {
  return rp::parse_json(req.body);
}

}  // namespace

struct http_server::impl {
  explicit impl(runner_state& s) : st(s) {}
  runner_state& st;
  httplib::Server srv;

  void routes();
  status require_ready() const {
    if (st.ready()) return ok_status();
    if (st.phase.load() == runner_phase::error) return unavailable("the model failed to load: " + st.error);
    return unavailable("the model is still loading");
  }
  void health(httplib::Response& res);
  void completion(const httplib::Request& req, httplib::Response& res);
  void tokenize(const httplib::Request& req, httplib::Response& res);
  void detokenize(const httplib::Request& req, httplib::Response& res);
  void render(const httplib::Request& req, httplib::Response& res);
  void embedding(const httplib::Request& req, httplib::Response& res);
  void stream(httplib::Response& res, std::shared_ptr<task_channel> ch, std::string rendered,
              std::shared_ptr<tool_call_stream> calls);
  void collect(httplib::Response& res, const std::shared_ptr<task_channel>& ch, std::string rendered,
               const std::shared_ptr<tool_call_stream>& calls);
};

http_server::http_server(runner_state& st) : impl_(std::make_unique<impl>(st)) { impl_->routes(); }
http_server::~http_server() = default;

result<int> http_server::bind(const std::string& host, int port) {
  int bound = port == 0 ? impl_->srv.bind_to_any_port(host) : (impl_->srv.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) return io_error("cannot listen on " + host + ":" + std::to_string(port));
  return bound;
}

bool http_server::listen() { return impl_->srv.listen_after_bind(); }
void http_server::stop() { impl_->srv.stop(); }

void http_server::impl::routes() {
  srv.set_payload_max_length(64u << 20);
  srv.Get("/health", [this](const httplib::Request&, httplib::Response& res) { health(res); });
  srv.Get("/info", [this](const httplib::Request&, httplib::Response& res) {
    if (status s = require_ready(); !s.ok()) return send_error(res, s);
    send_json(res, 200, rp::to_json(st.info));
  });
  srv.Post("/completion", [this](const httplib::Request& req, httplib::Response& res) { completion(req, res); });
  srv.Post("/tokenize", [this](const httplib::Request& req, httplib::Response& res) { tokenize(req, res); });
  srv.Post("/detokenize", [this](const httplib::Request& req, httplib::Response& res) { detokenize(req, res); });
  srv.Post("/render", [this](const httplib::Request& req, httplib::Response& res) { render(req, res); });
  srv.Post("/embedding", [this](const httplib::Request& req, httplib::Response& res) { embedding(req, res); });
  srv.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    send_error(res, internal_error("unexpected failure while handling the request"));
  });
  srv.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404) send_error(res, not_found("no route for " + req.method + " " + req.path));
  });
}

void http_server::impl::health(httplib::Response& res) {
  rp::health_response h;
  switch (st.phase.load(std::memory_order_acquire)) {
    case runner_phase::loading: h.status = "loading"; break;
    case runner_phase::ready: h.status = "ready"; break;
    case runner_phase::error: h.status = "error"; h.error = st.error; break;
  }
  h.progress = st.progress.load();
  send_json(res, 200, rp::to_json(h));
}

void http_server::impl::completion(const httplib::Request& req, httplib::Response& res) {
  auto j = body_json(req);
  if (!j.ok()) return send_error(res, j.error());
  auto r = rp::completion_request_from_json(*j);
  if (!r.ok()) return send_error(res, r.error());
  if (status s = require_ready(); !s.ok()) return send_error(res, s);
  auto prompt = st.prompts->build(*r);
  if (!prompt.ok()) return send_error(res, prompt.error());
  const int32_t n_ctx = st.ctx->params().n_ctx;
  if (static_cast<int64_t>(prompt->tokens.size()) >= n_ctx) {
    return send_error(res, resource_exhausted("the prompt has " + std::to_string(prompt->tokens.size()) +
                                              " tokens and does not fit in the context of " + std::to_string(n_ctx) +
                                              " tokens per slot"));
  }
  completion_task t;
  t.prompt = std::move(prompt->tokens);
  t.params = to_generation_params(*r, prompt->reasoning_open);
  if (status s = apply_request_constraint(*r, st.constraints, st.model->tok(), t.params); !s.ok()) {
    return send_error(res, s);
  }
  if (r->messages) {
    auto forced = forced_call_spec(*r, st.prompts->tool_format());
    if (!forced.ok()) return send_error(res, forced.error());
    if (forced->has_value()) {
      if (status s = apply_constraint(**forced, st.constraints, st.model->tok(), t.params); !s.ok()) {
        return send_error(res, s.with_context("the forced tool call's parameters schema"));
      }
    }
  }
  if (r->reasoning_budget >= 0) {
    engine::encode_options close_opts;
    close_opts.parse_special = true;
    t.params.reasoning_close = st.model->tok().encode("\n</think>\n\n", close_opts);
  }
  t.slot = r->slot;
  auto ch = std::make_shared<task_channel>();
  t.channel = ch;
  // The daemon's request id (field, else header) goes on this thread's log lines for this request.
  std::string rid = !r->request_id.empty() ? r->request_id : req.get_header_value("X-Request-Id");
  struct request_id_scope {
    explicit request_id_scope(std::string id) { set_thread_request_id(std::move(id)); }
    ~request_id_scope() { set_thread_request_id(""); }
  } rid_scope(rid.size() <= 128 ? rid : rid.substr(0, 128));
  R1_LOG(info, "runner") << "completion: " << t.prompt.size() << " prompt tokens, slot " << t.slot;
  if (status s = st.loop->submit(std::move(t)); !s.ok()) return send_error(res, s);
  std::string rendered = r->messages ? prompt->rendered : std::string();
  std::shared_ptr<tool_call_stream> calls;
  if (r->messages && r->tools.is_array() && !r->tools.empty())
    calls = std::make_shared<tool_call_stream>(st.prompts->tool_format());
  if (r->stream) {
    stream(res, ch, std::move(rendered), std::move(calls));
  } else {
    collect(res, ch, std::move(rendered), calls);
  }
}

void http_server::impl::stream(httplib::Response& res, std::shared_ptr<task_channel> ch, std::string rendered,
                               std::shared_ptr<tool_call_stream> calls) {
  const engine::tokenizer* tok = &st.model->tok();
  st.open_streams.fetch_add(1);
  res.set_chunked_content_provider(
      "application/x-ndjson",
      [ch, tok, rendered = std::move(rendered), calls](size_t, httplib::DataSink& sink) {
        for (;;) {
          bool finished = false;
          std::optional<task_event> e = ch->pop(std::chrono::milliseconds(200), &finished);
          if (!e) {
            if (!sink.is_writable()) {
              ch->cancel();
              return false;
            }
            continue;
          }
          rp::completion_chunk c = to_chunk(*e, *tok);
          if (calls && c.stop_reason != "error") calls->filter(c);
          if (c.done) c.rendered_prompt = rendered;
          std::string line = dump_json(rp::to_json(c)) + "\n";
          if (!sink.write(line.data(), line.size())) {
            ch->cancel();
            return false;
          }
          if (finished) sink.done();
          return true;
        }
      },
      [ch, open = &st.open_streams](bool success) {
        if (!success) ch->cancel();
        open->fetch_sub(1);
      });
}

void http_server::impl::collect(httplib::Response& res, const std::shared_ptr<task_channel>& ch, std::string rendered,
                                const std::shared_ptr<tool_call_stream>& calls) {
  rp::completion_chunk all;
  bool first = true;
  for (;;) {
    bool finished = false;
    std::optional<task_event> e = ch->pop(std::chrono::milliseconds(500), &finished);
    if (!e) continue;
    if (first && !e->error.ok()) return send_error(res, e->error);
    first = false;
    rp::completion_chunk c = to_chunk(*e, st.model->tok());
    if (calls && c.stop_reason != "error") calls->filter(c);
    append_chunk(all, std::move(c));
    if (finished) break;
  }
  all.rendered_prompt = std::move(rendered);
  send_json(res, 200, rp::to_json(all));
}

void http_server::impl::tokenize(const httplib::Request& req, httplib::Response& res) {
  auto j = body_json(req);
  if (!j.ok()) return send_error(res, j.error());
  auto r = rp::tokenize_request_from_json(*j);
  if (!r.ok()) return send_error(res, r.error());
  if (status s = require_ready(); !s.ok()) return send_error(res, s);
  const engine::tokenizer& tok = st.model->tok();
  rp::tokenize_response out;
  engine::encode_options o;
  o.add_special = r->add_special;
  o.parse_special = r->parse_special;
  out.tokens = r->rendered ? engine::encode_rendered_prompt(r->content, tok) : tok.encode(r->content, o);
  if (r->with_pieces) {
    for (int32_t id : out.tokens) out.pieces.push_back(tok.token_piece(id, true));
  }
  send_json(res, 200, rp::to_json(out));
}

void http_server::impl::detokenize(const httplib::Request& req, httplib::Response& res) {
  auto j = body_json(req);
  if (!j.ok()) return send_error(res, j.error());
  auto r = rp::detokenize_request_from_json(*j);
  if (!r.ok()) return send_error(res, r.error());
  if (status s = require_ready(); !s.ok()) return send_error(res, s);
  const engine::tokenizer& tok = st.model->tok();
  for (int32_t id : r->tokens) {
    if (id < 0 || static_cast<size_t>(id) >= tok.size()) {
      return send_error(res, invalid_argument("token id " + std::to_string(id) + " is outside the vocabulary of " +
                                              std::to_string(tok.size())));
    }
  }
  rp::detokenize_response out;
  out.content = tok.decode(r->tokens, true);
  send_json(res, 200, rp::to_json(out));
}

void http_server::impl::render(const httplib::Request& req, httplib::Response& res) {
  auto j = body_json(req);
  if (!j.ok()) return send_error(res, j.error());
  auto r = rp::render_request_from_json(*j);
  if (!r.ok()) return send_error(res, r.error());
  if (status s = require_ready(); !s.ok()) return send_error(res, s);
  auto text = st.prompts->render(r->messages, r->add_generation_prompt, r->tools, r->think);
  if (!text.ok()) return send_error(res, text.error());
  rp::render_response out;
  out.prompt = std::move(*text);
  send_json(res, 200, rp::to_json(out));
}

void http_server::impl::embedding(const httplib::Request& req, httplib::Response& res) {
  auto j = body_json(req);
  if (!j.ok()) return send_error(res, j.error());
  auto r = rp::embedding_request_from_json(*j);
  if (!r.ok()) return send_error(res, r.error());
  if (status s = require_ready(); !s.ok()) return send_error(res, s);
  if (r->input.empty()) return send_error(res, invalid_argument("input is empty"));
  const engine::tokenizer& tok = st.model->tok();
  const size_t n_ctx = static_cast<size_t>(st.ctx->params().n_ctx);
  embedding_task t;
  t.normalize = r->normalize;
  for (size_t i = 0; i < r->input.size(); ++i) {
    std::vector<int32_t> ids = tok.encode(r->input[i], {.add_special = true, .parse_special = false});
    if (ids.empty()) return send_error(res, invalid_argument("input " + std::to_string(i) + " has no tokens"));
    if (ids.size() > n_ctx) {
      if (!r->truncate) {
        return send_error(res, invalid_argument("input " + std::to_string(i) + " has " + std::to_string(ids.size()) +
                                                " tokens, more than the context of " + std::to_string(n_ctx)));
      }
      ids.resize(n_ctx);
    }
    t.inputs.push_back(std::move(ids));
  }
  auto ch = std::make_shared<task_channel>();
  t.channel = ch;
  if (status s = st.loop->submit(std::move(t)); !s.ok()) return send_error(res, s);
  for (;;) {
    bool finished = false;
    std::optional<task_event> e = ch->pop(std::chrono::milliseconds(500), &finished);
    if (!e) continue;
    if (!e->error.ok()) return send_error(res, e->error);
    rp::embedding_response out;
    out.embeddings = std::move(e->embeddings);
    out.prompt_tokens = e->prompt_tokens;
    return send_json(res, 200, rp::to_json(out));
  }
}

}  // namespace r1::runner
