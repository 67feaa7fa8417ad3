// `r1 bench MODEL`: asks the daemon to measure a stored model's speed (/api/bench) and prints it
// as llama-bench does: one row per test, tokens per second as mean ± standard deviation.
#include <cinttypes>

#include "commands.h"
#include "format.h"

namespace r1::cli {

namespace {

using json = nlohmann::json;

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

double number(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

}  // namespace

status cmd_bench(session& s, const api::bench_request& o, bool json_output) {
  const json req{{"model", o.model},         {"n_prompt", o.n_prompt},   {"n_gen", o.n_gen},
                 {"n_depth", o.n_depth},     {"repetitions", o.repetitions}, {"threads", o.threads},
                 {"kv_type", o.kv_type},     {"bandwidth", o.bandwidth}};
  R1_ASSIGN_OR_RETURN(json r, s.client->post("/api/bench", req));
  if (json_output) {
    std::fprintf(s.out, "%s\n", r.dump(2).c_str());
    return {};
  }
  const std::string model = r.value("model", o.model) + " (" + r.value("architecture", "?") + " " +
                            r.value("file_type", "?") + ")";
  const std::string size = human_bytes(static_cast<uint64_t>(number(r, "weights_bytes")));
  const std::string threads = std::to_string(static_cast<int64_t>(number(r, "threads")));
  const std::string depth = o.n_depth > 0 ? " @ d" + std::to_string(o.n_depth) : "";
  std::fprintf(s.out, "| model | size | kernels | threads | KV | test | t/s |\n|---|---|---|---|---|---|---|\n");
  for (const std::string& test : {"pp" + std::to_string(o.n_prompt), "tg" + std::to_string(o.n_gen)}) {
    auto it = r.find(test);
    if (it == r.end() || !it->is_object()) continue;
    std::fprintf(s.out, "| %s | %s | %s | %s | %s | %s%s | %s ± %s |\n", model.c_str(), size.c_str(),
                 r.value("kernel_path", "?").c_str(), threads.c_str(), r.value("kv_type", "?").c_str(), test.c_str(),
                 depth.c_str(), fixed(number(*it, "tokens_per_s"), 2).c_str(), fixed(number(*it, "sd"), 2).c_str());
  }
  std::fprintf(s.out, "\nload %s s, first token after load %s ms", fixed(number(r, "load_ms") / 1000, 2).c_str(),
               fixed(number(r, "first_decode_ms"), 0).c_str());
  auto bw = r.find("read_bandwidth_gbs");
  if (bw != r.end() && bw->is_object()) {
    std::fprintf(s.out, ", read bandwidth %s GB/s", fixed(number(*bw, "pass"), 1).c_str());
    auto tg = r.find("tg" + std::to_string(o.n_gen));
    const double per_token = number(r, "weight_bytes_per_token"), pass = number(*bw, "pass");
    if (tg != r.end() && tg->is_object() && per_token > 0 && pass > 0 && o.n_depth == 0) {
      std::fprintf(s.out, " (decode at %s %% of it)",
                   fixed(100.0 * per_token * number(*tg, "tokens_per_s") / (pass * 1e9), 1).c_str());
    }
  }
  std::fprintf(s.out, "\n");
  return {};
}

}  // namespace r1::cli
