// r1-runner quantize IN OUT TYPE: the command around quantize_model().
//
// Progress: human lines on stderr, or with --json one JSON object per line on
// stdout (r1d reads these while creating a model):
//   {"status":"quantizing","source_type":"F16","target_type":"Q4_K_M","total":N,"completed":0}
//   {"status":"quantizing",...,"completed":M,"tensor":"blk.0.attn_q.weight"}
//   {"warning":"..."}
//   {"status":"done","source_type":..,"target_type":..,"output_bytes":..,"types":{"Q4_K":169,...}}
//   {"error":"...","code":"invalid_argument"}   (then exit code 1)
// Errors also go to stderr as "r1-runner: <code>: <message>".
#include "quantize_command.h"

#include <chrono>
#include <cstdio>

#include "protocol_convert.h"
#include "quantize_model.h"
#include "r1/runner_protocol/messages.h"

namespace r1::runner {

namespace {

namespace rp = runner_protocol;

void emit(const rp::json& j) {
  std::printf("%s\n", dump_json(j).c_str());
  std::fflush(stdout);
}

rp::json types_json(const quantize_summary& s) {
  rp::json t = rp::json::object();
  for (const auto& [name, n] : s.type_counts) t[name] = n;
  return t;
}

}  // namespace

int run_quantize(const quantize_options& o) {
  auto fail = [&o](const status& s) {
    if (o.json) emit({{"error", s.message()}, {"code", error_code_name(s.code())}});
    std::fprintf(stderr, "r1-runner: %s\n", s.to_string().c_str());
    return 1;
  };
  auto target = parse_quantize_type(o.type);
  if (!target.ok()) return fail(target.error());
  if (o.input == o.output) return fail(invalid_argument("the output must be a different file than the input"));
  quantize_request q{o.input, o.output, *target, o.threads};
  auto plan = plan_quantize(q);
  if (!plan.ok()) return fail(plan.error());
  const rp::json head = {{"status", "quantizing"}, {"source_type", plan->source_type},
                         {"target_type", plan->target_type}, {"total", plan->source_bytes}};
  for (const auto& w : plan->warnings) {
    if (o.json) emit({{"warning", w}});
    std::fprintf(stderr, "r1-runner: warning: %s\n", w.c_str());
  }
  if (o.json) {
    rp::json j = head;
    j["completed"] = 0;
    emit(j);
  } else {
    std::fprintf(stderr, "quantizing %s model to %s: %s -> %s\n", plan->source_type.c_str(),
                 plan->target_type.c_str(), o.input.c_str(), o.output.c_str());
  }
  auto last = std::chrono::steady_clock::now();
  size_t last_tensor = SIZE_MAX;
  auto progress = [&](const quantize_progress& p) {
    const auto now = std::chrono::steady_clock::now();
    // A line per tensor start, at most ~5 per second, and always the last.
    const bool due = now - last >= std::chrono::milliseconds(200) || p.completed == p.total;
    if (!due && p.tensor == last_tensor) return;
    last = now;
    last_tensor = p.tensor;
    if (o.json) {
      rp::json j = head;
      j["completed"] = p.completed;
      j["tensor"] = p.name;
      emit(j);
    } else {
      std::fprintf(stderr, "[%zu/%zu] %-32.*s %5s -> %-5s %5.1f%%\n", p.tensor + 1, p.n_tensors,
                   static_cast<int>(p.name.size()), p.name.data(), std::string(type_info(p.from).name).c_str(),
                   std::string(type_info(p.to).name).c_str(),
                   p.total ? 100.0 * static_cast<double>(p.completed) / static_cast<double>(p.total) : 100.0);
    }
  };
  auto done = quantize_model(q, progress);
  if (!done.ok()) return fail(done.error());
  if (o.json) {
    emit({{"status", "done"}, {"source_type", done->source_type}, {"target_type", done->target_type},
          {"source_bytes", done->source_bytes}, {"output_bytes", done->output_bytes}, {"types", types_json(*done)}});
  } else {
    std::fprintf(stderr, "wrote %s: %.1f MiB of tensors (from %.1f MiB), types %s\n", o.output.c_str(),
                 static_cast<double>(done->output_bytes) / (1 << 20), static_cast<double>(done->source_bytes) / (1 << 20),
                 types_json(*done).dump().c_str());
  }
  return 0;
}

}  // namespace r1::runner
