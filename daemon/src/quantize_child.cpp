#include "quantize_child.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "context.h"
#include "r1/base/log.h"
#include "r1/base/raii.h"
#include "r1/registry/digest.h"

namespace r1::daemon {

namespace {

using json = nlohmann::json;

// Removes `path` and the writer's temp files beside it ("<path>.tmp-*").
void remove_outputs(const std::string& path) {
  ::unlink(path.c_str());
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  const std::string prefix = path.substr(slash == std::string::npos ? 0 : slash + 1) + ".tmp-";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.rfind(prefix, 0) == 0) ::unlink((dir + "/" + name).c_str());
  }
  ::closedir(d);
}

error_code code_from_name(const std::string& name) {
  for (error_code c : {error_code::invalid_argument, error_code::not_found, error_code::corrupt,
                       error_code::io_error, error_code::resource_exhausted})
    if (error_code_name(c) == name) return c;
  return error_code::internal;
}

result<pid_t> spawn(const quantize_job& job, unique_fd* out_read) {
  if (::access(job.runner.c_str(), X_OK) != 0)
    return not_found("runner executable " + job.runner + " is missing or not executable (set R1_RUNNER)");
  std::vector<std::string> args = {job.runner, "quantize", "--json", job.input, job.output, job.type};
  if (job.threads > 0) args.insert(args.end(), {"--threads", std::to_string(job.threads)});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return errno_status("pipe", errno);
  unique_fd r(fds[0]), w(fds[1]);
  unique_fd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  const pid_t pid = ::fork();
  if (pid < 0) return errno_status("fork", errno);
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec. stdout and stderr share the pipe.
    ::dup2(null_fd.get(), 0);
    ::dup2(w.get(), 1);
    ::dup2(w.get(), 2);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  *out_read = std::move(r);
  return pid;
}

int wait_child(pid_t pid) {
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

struct child_lines {
  json done, error;
  std::string last_text;  // last line that was not JSON (the runner's stderr)
  bool cancelled = false;
};

// Reads the child's lines until EOF (or until `progress` asks to stop).
void read_lines(int fd, pid_t pid, const quantize_line_fn& progress, child_lines* c) {
  std::string buf;
  char chunk[4096];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buf.append(chunk, static_cast<size_t>(n));
    size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      std::string line = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      json j = line.starts_with("{") ? json::parse(line, nullptr, false) : json(json::value_t::discarded);
      if (j.is_discarded() || !j.is_object()) {
        if (!line.empty()) {
          R1_LOG(info, "quantize") << "[pid " << pid << "] " << line;
          c->last_text = line;
        }
        continue;
      }
      if (j.contains("error")) c->error = j;
      if (j.value("status", "") == "done") c->done = j;
      if (!c->cancelled && !progress(j)) {
        c->cancelled = true;
        ::kill(pid, SIGTERM);
      }
    }
  }
}

}  // namespace

result<json> run_quantize_child(const quantize_job& job, const quantize_line_fn& progress) {
  unique_fd out;
  R1_ASSIGN_OR_RETURN(pid_t pid, spawn(job, &out));
  R1_LOG(info, "quantize") << "pid " << pid << ": " << job.input << " -> " << job.type;
  child_lines c;
  read_lines(out.get(), pid, progress, &c);
  const int code = wait_child(pid);
  if (code == 0 && !c.cancelled && c.done.is_object()) return c.done;
  remove_outputs(job.output);
  if (c.cancelled) return status(error_code::cancelled, "quantization stopped: the client went away");
  if (c.error.is_object() && c.error["error"].is_string())
    return status(code_from_name(c.error.value("code", "")), c.error["error"].get<std::string>());
  std::string why = code == 127 ? "could not execute " + job.runner : "quantizer exited with code " + std::to_string(code);
  if (!c.last_text.empty()) why += ": " + c.last_text;
  return status(error_code::internal, why);
}

status quantize_for_create(daemon_context& ctx, const std::string& type, std::vector<registry::layer_source>* layers,
                           std::shared_ptr<const gguf_summary>* gguf, const quantize_line_fn& emit) {
  std::string want = type;
  for (auto& ch : want) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  const std::string have = *gguf ? (*gguf)->file_type : "";
  if (want == have) return ok_status();  // already that type: keep the blob
  if (layers->size() != 1)
    return invalid_argument("quantizing a model stored in " + std::to_string(layers->size()) +
                            " files is not supported; quantize a single-file GGUF");
  const std::string src_digest = layers->front().digest;
  R1_ASSIGN_OR_RETURN(std::string input, ctx.store->blobs().path_for(src_digest));
  quantize_job job{ctx.settings.runner_path, input, ctx.store->blobs().temp_path("quantize"), type,
                   ctx.settings.threads};
  auto forward = [&](const json& j) {
    if (j.contains("warning")) return emit(json{{"status", "warning: " + j.value("warning", "")}});
    if (j.value("status", "") != "quantizing") return true;
    return emit(json{{"status", "quantizing " + j.value("source_type", have) + " model to " +
                                    j.value("target_type", want)},
                     {"digest", src_digest},
                     {"total", j.value("total", uint64_t{0})},
                     {"completed", j.value("completed", uint64_t{0})}});
  };
  R1_ASSIGN_OR_RETURN(json done, run_quantize_child(job, forward));
  auto digest = registry::sha256_of_file(job.output);
  status st = digest.ok() ? ctx.store->blobs().commit_verified(job.output, *digest) : digest.error();
  if (!st.ok()) {
    remove_outputs(job.output);
    return st.with_context("storing the quantized model");
  }
  R1_ASSIGN_OR_RETURN(std::string stored, ctx.store->blobs().path_for(*digest));
  auto summary = model_catalog::read_gguf(stored, 0);
  if (!summary.ok()) return summary.error().with_context("reading the quantized model");
  R1_LOG(info, "quantize") << "stored " << *digest << " (" << done.value("target_type", want) << ")";
  emit(json{{"status", "creating new layer " + *digest}});
  layers->front().digest = *digest;
  *gguf = std::make_shared<gguf_summary>(std::move(*summary));
  return ok_status();
}

}  // namespace r1::daemon
