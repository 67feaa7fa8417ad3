// POST /api/bench (admin): the speed of a stored model on this machine, measured by a runner
// started for it alone (`r1-runner bench`: pp and tg tokens/s as llama-bench measures them, the
// kernel path, the KV type and, on request, the memory read bandwidth). One benchmark at a time:
// it wants the machine to itself, and a second request is told to retry later.
#include <mutex>

#include "child_output.h"
#include "inference.h"
#include "r1/api/ollama.h"

namespace r1::daemon {

namespace {

std::vector<std::string> bench_args(const api::bench_request& q, const model_entry& m) {
  std::vector<std::string> a{"bench"};
  for (const std::string& p : m.model_paths) a.insert(a.end(), {"-m", p});
  a.insert(a.end(), {"-p", std::to_string(q.n_prompt), "-n", std::to_string(q.n_gen), "-d", std::to_string(q.n_depth),
                     "-r", std::to_string(q.repetitions), "-t", std::to_string(q.threads), "--kv-type", q.kv_type});
  if (q.bandwidth) a.push_back("--bandwidth");
  return a;
}

// The runner's own error, its last log line, when it failed.
std::string last_line(const std::string& text) {
  size_t end = text.find_last_not_of("\r\n");
  if (end == std::string::npos) return "";
  const size_t begin = text.rfind('\n', end);
  return text.substr(begin == std::string::npos ? 0 : begin + 1, end + 1 - (begin == std::string::npos ? 0 : begin + 1));
}

}  // namespace

void add_bench_routes(httplib::Server& srv, daemon_context& ctx) {
  static std::mutex running;
  post_json(srv, "/api/bench", ctx, false, [&ctx](const httplib::Request&, httplib::Response& res, const json& body) {
    auto q = api::parse_bench_request(body);
    if (!q.ok()) return reply_error(res, q.error());
    auto m = resolve_model(ctx, q->model);
    if (!m.ok()) return reply_error(res, m.error());
    std::unique_lock<std::mutex> lock(running, std::try_to_lock);
    if (!lock.owns_lock()) return reply_error(res, unavailable("a benchmark is already running"));
    auto run = run_for_output(ctx.settings.runner_path, bench_args(*q, *m));
    if (!run.ok()) return reply_error(res, run.error());
    if (run->exit_code != 0) {
      return reply_error(res, internal_error("benchmark of " + m->display + " failed: " + last_line(run->err_tail)));
    }
    auto out = api::parse_json(run->out);
    if (!out.ok() || !out->is_object()) {
      return reply_error(res, internal_error("benchmark of " + m->display + " printed no result"));
    }
    (*out)["model"] = m->display;
    (*out)["digest"] = m->digest;
    reply_json(res, *out);
  });
}

}  // namespace r1::daemon
