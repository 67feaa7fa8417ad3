// daemon_bench: what r1d adds on top of r1-runner.
//
//   daemon_bench --model demo.gguf [--runs 20] [--tokens 32] [--bin-dir build/bin]
//
// Starts a bare r1-runner on the model and measures /completion (streaming,
// greedy, fixed prompt), then starts r1d with a temporary store, imports the
// same file, and measures /api/generate (raw, same prompt, same options) and
// /v1/completions. Reports the median time to first token and the median
// generation speed of each path, and the difference.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <httplib.h>

#include "r1/api/client.h"
#include "r1/api/json_util.h"

namespace {

using json = nlohmann::json;
using steady = std::chrono::steady_clock;

struct sample {
  double ttft_ms = 0;
  double tokens_per_s = 0;
};

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Spawns a program with stdout to a pipe; returns pid and the read end.
pid_t spawn(const std::vector<std::string>& argv, int* out_fd, const std::string& log) {
  int p[2];
  if (pipe(p) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(p[1], 1);
    FILE* f = std::fopen(log.c_str(), "w");
    if (f) dup2(fileno(f), 2);
    close(p[0]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(p[1]);
  *out_fd = p[0];
  return pid;
}

int read_port(int fd) {
  std::string buf;
  char c;
  while (read(fd, &c, 1) == 1) {
    if (c != '\n') {
      buf += c;
      continue;
    }
    auto pos = buf.rfind(':');
    if (buf.find("listening on") != std::string::npos && pos != std::string::npos) return std::stoi(buf.substr(pos + 1));
    buf.clear();
  }
  return 0;
}

void stop(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  int st;
  waitpid(pid, &st, 0);
}

// Streams one request; the first line with generated text marks the first token.
sample measure_ndjson(int port, const std::string& path, const json& body, bool sse) {
  httplib::Client http("127.0.0.1", port);
  http.set_read_timeout(600, 0);
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  auto t0 = steady::now();
  steady::time_point first{}, last{};
  int tokens = 0;
  std::string pending;
  req.content_receiver = [&](const char* d, size_t n, uint64_t, uint64_t) {
    pending.append(d, n);
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string line = pending.substr(start, nl - start);
      if (sse) {
        if (line.rfind("data: ", 0) != 0 || line == "data: [DONE]") continue;
        line = line.substr(6);
      }
      if (line.empty()) continue;
      auto j = r1::api::parse_json(line);
      if (!j.ok()) continue;
      bool text = false;
      if (j->contains("content") && (*j)["content"].is_string() && !(*j)["content"].get<std::string>().empty()) text = true;
      if (j->contains("response") && !(*j)["response"].get<std::string>().empty()) text = true;
      if (j->contains("choices") && !(*j)["choices"].empty() && (*j)["choices"][0].contains("text") &&
          !(*j)["choices"][0]["text"].get<std::string>().empty())
        text = true;
      if (j->contains("tokens") && (*j)["tokens"].is_array()) tokens += static_cast<int>((*j)["tokens"].size());
      else if (text) ++tokens;
      if (text) {
        if (first == steady::time_point{}) first = steady::now();
        last = steady::now();
      }
    }
    pending.erase(0, start);
    return true;
  };
  httplib::Response res;
  httplib::Error err;
  http.send(req, res, err);
  sample s;
  if (first == steady::time_point{}) return s;
  s.ttft_ms = std::chrono::duration<double, std::milli>(first - t0).count();
  double gen_s = std::chrono::duration<double>(last - first).count();
  s.tokens_per_s = tokens > 1 && gen_s > 0 ? (tokens - 1) / gen_s : 0;
  return s;
}

void report(const char* name, const std::vector<sample>& v, double base_ttft, double base_tps) {
  std::vector<double> t, r;
  for (const auto& s : v) {
    t.push_back(s.ttft_ms);
    r.push_back(s.tokens_per_s);
  }
  double mt = median(t), mr = median(r);
  std::printf("| %s | %.2f | %+.2f | %.1f | %+.1f%% |\n", name, mt, mt - base_ttft, mr,
              base_tps > 0 ? 100.0 * (mr - base_tps) / base_tps : 0.0);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"TTFT and tokens/s through r1d versus the bare r1-runner"};
  std::string model, bin_dir = ".";
  int runs = 20, tokens = 32, threads = 2;
  app.add_option("--model", model, "GGUF file")->required();
  app.add_option("--bin-dir", bin_dir, "where r1d and r1-runner are");
  app.add_option("--runs", runs);
  app.add_option("--tokens", tokens);
  app.add_option("--threads", threads);
  CLI11_PARSE(app, argc, argv);
  signal(SIGPIPE, SIG_IGN);
  std::string prompt = "The quick brown fox jumps over the lazy dog. Tell me a story about it.";
  auto tmp = std::filesystem::temp_directory_path() / ("r1-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(tmp);

  // 1. The bare runner.
  int fd = -1;
  pid_t runner = spawn({bin_dir + "/r1-runner", "--model", model, "--ctx", "1024", "--parallel", "1", "--threads",
                        std::to_string(threads), "--port", "0"},
                       &fd, (tmp / "runner.log").string());
  int rport = read_port(fd);
  if (rport == 0) {
    std::fprintf(stderr, "runner did not start\n");
    return 1;
  }
  while (true) {
    httplib::Client h("127.0.0.1", rport);
    auto r = h.Get("/health");
    if (r && r->body.find("ready") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  json rbody{{"prompt", prompt}, {"n_predict", tokens}, {"stream", true},
             {"sampling", {{"temperature", 0.0}, {"seed", 1}}}};
  std::vector<sample> bare, gen, oai;
  measure_ndjson(rport, "/completion", rbody, false);  // warm-up
  for (int i = 0; i < runs; ++i) bare.push_back(measure_ndjson(rport, "/completion", rbody, false));
  stop(runner);
  close(fd);

  // 2. The same model through r1d.
  int dport = 0;
  {
    int probe = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(probe, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(probe, reinterpret_cast<sockaddr*>(&a), &len);
    dport = ntohs(a.sin_port);
    close(probe);
  }
  int dfd = -1;
  pid_t daemon = spawn({bin_dir + "/r1d", "--host", "127.0.0.1:" + std::to_string(dport), "--models",
                        (tmp / "models").string(), "--runner", bin_dir + "/r1-runner", "--context-length", "1024",
                        "--threads", std::to_string(threads), "--log-level", "warn"},
                       &dfd, (tmp / "r1d.log").string());
  r1::api::client_options co;
  co.server.port = dport;
  r1::api::client c(co);
  for (int i = 0; i < 100 && !c.get("/api/version").ok(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::string digest;
  std::string cmd = "sha256sum '" + model + "'";
  FILE* p = popen(cmd.c_str(), "r");
  char hex[65] = {};
  if (p && std::fscanf(p, "%64s", hex) == 1) digest = std::string("sha256:") + hex;
  if (p) pclose(p);
  if (!c.post_file("/api/blobs/" + digest, model).ok() ||
      !c.post("/api/create", json{{"model", "bench"}, {"files", {{"m.gguf", digest}}}, {"stream", false}}).ok()) {
    std::fprintf(stderr, "import through r1d failed; see %s\n", (tmp / "r1d.log").c_str());
    stop(daemon);
    return 1;
  }
  json gbody{{"model", "bench"}, {"prompt", prompt}, {"raw", true}, {"stream", true},
             {"options", {{"temperature", 0.0}, {"seed", 1}, {"num_predict", tokens}}}};
  json obody{{"model", "bench"}, {"prompt", prompt}, {"stream", true}, {"max_tokens", tokens}, {"temperature", 0.0},
             {"seed", 1}};
  measure_ndjson(dport, "/api/generate", gbody, false);  // loads the runner
  for (int i = 0; i < runs; ++i) gen.push_back(measure_ndjson(dport, "/api/generate", gbody, false));
  for (int i = 0; i < runs; ++i) oai.push_back(measure_ndjson(dport, "/v1/completions", obody, true));
  stop(daemon);
  close(dfd);
  std::filesystem::remove_all(tmp);

  std::vector<double> bt, br;
  for (const auto& s : bare) {
    bt.push_back(s.ttft_ms);
    br.push_back(s.tokens_per_s);
  }
  std::printf("| path | TTFT median (ms) | vs bare runner (ms) | tokens/s median | vs bare runner |\n|---|---|---|---|---|\n");
  report("bare r1-runner /completion", bare, median(bt), median(br));
  report("r1d /api/generate (raw)", gen, median(bt), median(br));
  report("r1d /v1/completions", oai, median(bt), median(br));
  return 0;
}
