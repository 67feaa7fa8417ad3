// r1 run: one-shot (prompt argument or piped stdin) or the interactive REPL.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <iostream>
#include <iterator>

#include <editline/readline.h>

#include "commands.h"
#include "r1/api/options.h"
#include "r1/base/config.h"

namespace r1::cli {

using json = nlohmann::json;

namespace {

std::atomic<bool> g_interrupted{false};
void on_sigint(int) { g_interrupted = true; }

// Installs a SIGINT handler for the scope (no SA_RESTART: reads return EINTR).
class sigint_scope {
 public:
  sigint_scope() {
    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_);
    g_interrupted = false;
  }
  ~sigint_scope() { sigaction(SIGINT, &old_, nullptr); }

 private:
  struct sigaction old_ {};
};

json think_value(const std::optional<std::string>& t) {
  if (!t) return nullptr;
  if (*t == "true" || t->empty()) return true;
  if (*t == "false") return false;
  return *t;
}

void print_stats(FILE* out, const json& fin) {
  auto ns = [&](const char* k) { return fin.value(k, int64_t{0}); };
  auto secs = [&](const char* k) { return static_cast<double>(ns(k)) / 1e9; };
  int64_t pc = fin.value("prompt_eval_count", 0), ec = fin.value("eval_count", 0);
  std::fprintf(out, "total duration:       %.6fs\n", secs("total_duration"));
  std::fprintf(out, "load duration:        %.6fs\n", secs("load_duration"));
  std::fprintf(out, "prompt eval count:    %lld token(s)\n", static_cast<long long>(pc));
  std::fprintf(out, "prompt eval duration: %.6fs\n", secs("prompt_eval_duration"));
  if (ns("prompt_eval_duration") > 0)
    std::fprintf(out, "prompt eval rate:     %.2f tokens/s\n", static_cast<double>(pc) / secs("prompt_eval_duration"));
  std::fprintf(out, "eval count:           %lld token(s)\n", static_cast<long long>(ec));
  std::fprintf(out, "eval duration:        %.6fs\n", secs("eval_duration"));
  if (ns("eval_duration") > 0)
    std::fprintf(out, "eval rate:            %.2f tokens/s\n", static_cast<double>(ec) / secs("eval_duration"));
}

const char* k_help =
    "Available Commands:\n"
    "  /set parameter <name> <value>   Set a model option (temperature, num_ctx, seed, stop, ...)\n"
    "  /set system <text>              Set the system message\n"
    "  /set think | nothink            Turn reasoning on or off\n"
    "  /set verbose | quiet            Show or hide timings after each answer\n"
    "  /set format json | noformat     Ask for JSON output\n"
    "  /show info|modelfile|parameters|system|template|license\n"
    "  /load <model>                   Switch to another model (clears the conversation)\n"
    "  /clear                          Clear the conversation\n"
    "  /bye                            Exit\n"
    "  /?, /help                       This help\n\n"
    "Use \"\"\" to begin and end a multi-line message.\n";

}  // namespace

status chat_turn(session& s, const run_options& o, json& messages, const json& options, bool interactive) {
  json req{{"model", o.model}, {"messages", messages}, {"stream", true}};
  if (!options.empty()) req["options"] = options;
  if (o.think) req["think"] = think_value(o.think);
  if (!o.keep_alive.empty()) req["keep_alive"] = o.keep_alive;
  if (!o.format.empty()) req["format"] = o.format;
  bool show_thinking = !o.hide_thinking && (s.env.stdout_tty || (o.think && *o.think != "false"));
  bool dim = s.env.stdout_tty;
  bool in_thinking = false, any_content = false;
  std::string content, thinking;
  json fin;
  std::optional<sigint_scope> guard;
  if (interactive) guard.emplace();
  status st = s.client->stream("/api/chat", req, [&](const json& chunk) {
    if (g_interrupted) return false;
    const json msg = chunk.value("message", json::object());
    std::string th = msg.value("thinking", ""), c = msg.value("content", "");
    if (!th.empty()) {
      thinking += th;
      if (show_thinking) {
        if (!in_thinking) {
          std::fputs(dim ? "\x1b[2mThinking...\n" : "Thinking...\n", s.out);
          in_thinking = true;
        }
        std::fputs(th.c_str(), s.out);
      }
    }
    if (!c.empty()) {
      if (in_thinking) {
        std::fputs(dim ? "\n...done thinking.\n\n\x1b[0m" : "\n...done thinking.\n\n", s.out);
        in_thinking = false;
      }
      if (!any_content) {
        // The template's newlines after </think> are noise at the start of an answer.
        size_t p = c.find_first_not_of("\n");
        c = p == std::string::npos ? "" : c.substr(p);
        if (c.empty()) return true;
      }
      any_content = true;
      content += c;
      std::fputs(c.c_str(), s.out);
    }
    std::fflush(s.out);
    if (chunk.value("done", false)) fin = chunk;
    return true;
  });
  if (in_thinking) std::fputs(dim ? "\n\x1b[0m" : "\n", s.out);
  std::fputs("\n", s.out);
  if (interactive) std::fputs("\n", s.out);
  std::fflush(s.out);
  if (st.code() == error_code::cancelled && g_interrupted) return {};  // Ctrl-C: keep the REPL going
  R1_RETURN_IF_ERROR(st);
  messages.push_back({{"role", "assistant"}, {"content", content}});
  if (o.verbose && !fin.is_null()) print_stats(s.err, fin);
  return {};
}

namespace {

// Reads a line (with editing on a terminal); false at end of input. Ctrl-C at
// the prompt abandons the line being typed, never the session (the REPL holds a
// sigint_scope, so the signal only sets g_interrupted).
bool read_line(const char* prompt, std::string* out) {
  for (;;) {
    g_interrupted = false;
    char* line = readline(prompt);
    if (line) {
      *out = g_interrupted ? std::string() : std::string(line);
      std::free(line);
      return true;
    }
    if (!g_interrupted) return false;
    std::fputs("\nUse Ctrl + d or /bye to exit.\n", stdout);
  }
}

status handle_set(session& s, run_options& o, json& options, json& messages, const std::string& args) {
  std::string rest = args;
  auto word = [&]() {
    size_t b = rest.find_first_not_of(' ');
    if (b == std::string::npos) return std::string();
    size_t e = rest.find(' ', b);
    std::string w = rest.substr(b, e == std::string::npos ? std::string::npos : e - b);
    rest = e == std::string::npos ? "" : rest.substr(e + 1);
    return w;
  };
  std::string what = word();
  if (what == "parameter") {
    std::string name = word();
    std::string value(trim(rest));
    auto p = api::parameters_to_json({{name, value}});
    if (!p.ok()) return p.error();
    for (const auto& [k, v] : p->items()) options[k] = v;
    std::fprintf(s.out, "Set parameter '%s' to '%s'\n", name.c_str(), value.c_str());
  } else if (what == "system") {
    std::string text(trim(rest));
    json kept = json::array();
    kept.push_back({{"role", "system"}, {"content", text}});
    for (const auto& m : messages)
      if (m.value("role", "") != "system") kept.push_back(m);
    messages = kept;
    std::fputs("Set system message.\n", s.out);
  } else if (what == "think") {
    o.think = "true";
    std::fputs("Set 'think' mode.\n", s.out);
  } else if (what == "nothink") {
    o.think = "false";
    std::fputs("Set 'nothink' mode.\n", s.out);
  } else if (what == "verbose") {
    o.verbose = true;
    std::fputs("Set 'verbose' mode.\n", s.out);
  } else if (what == "quiet") {
    o.verbose = false;
    std::fputs("Set 'quiet' mode.\n", s.out);
  } else if (what == "format") {
    o.format = word();
    std::fputs("Set format.\n", s.out);
  } else if (what == "noformat") {
    o.format.clear();
    std::fputs("Disabled format.\n", s.out);
  } else if (what == "history" || what == "nohistory" || what == "wordwrap" || what == "nowordwrap") {
    std::fprintf(s.out, "Set '%s' mode.\n", what.c_str());
  } else {
    return invalid_argument("unknown /set option '" + what + "' (try /?)");
  }
  return {};
}

status repl(session& s, run_options o) {
  std::string history = s.env.home.empty() || s.env.no_history ? "" : s.env.home + "/.r1_history";
  using_history();
  if (!history.empty()) read_history(history.c_str());
  json messages = json::array(), options = json::object();
  sigint_scope ctrl_c;  // Ctrl-C at the prompt must not end the session
  std::fputs(">>> Send a message (/? for help)\n", s.out);
  std::string line;
  while (read_line(">>> ", &line)) {
    std::string input(trim(line));
    if (input.rfind("\"\"\"", 0) == 0) {
      std::string text = input.substr(3);
      bool closed = text.size() >= 3 && text.compare(text.size() - 3, 3, "\"\"\"") == 0;
      while (!closed) {
        std::string more;
        if (!read_line("... ", &more)) break;
        text += "\n" + more;
        closed = text.size() >= 3 && text.compare(text.size() - 3, 3, "\"\"\"") == 0;
      }
      if (closed) text.resize(text.size() - 3);
      input = text;
    }
    if (input.empty()) continue;
    add_history(input.c_str());
    if (!history.empty()) write_history(history.c_str());
    if (input == "/bye" || input == "/exit") break;
    if (input == "/?" || input == "/help") {
      std::fputs(k_help, s.out);
      continue;
    }
    if (input == "/clear") {
      json kept = json::array();
      for (const auto& m : messages)
        if (m.value("role", "") == "system") kept.push_back(m);
      messages = kept;
      std::fputs("Cleared session context\n", s.out);
      continue;
    }
    if (input.rfind("/set ", 0) == 0) {
      status st = handle_set(s, o, options, messages, input.substr(5));
      if (!st.ok()) std::fprintf(s.err, "Error: %s\n", st.message().c_str());
      continue;
    }
    if (input.rfind("/show", 0) == 0) {
      std::string part(trim(input.substr(5)));
      if (part == "info" || part.empty()) part = "";
      status st = cmd_show(s, o.model, part, false);
      if (!st.ok()) std::fprintf(s.err, "Error: %s\n", st.message().c_str());
      continue;
    }
    if (input.rfind("/load ", 0) == 0) {
      o.model = std::string(trim(input.substr(6)));
      messages = json::array();
      std::fprintf(s.out, "Loading model '%s'\n", o.model.c_str());
      continue;
    }
    if (input[0] == '/' && input.find(' ') == std::string::npos && input.size() < 20) {
      std::fprintf(s.err, "Unknown command '%s'. Type /? for help\n", input.c_str());
      continue;
    }
    messages.push_back({{"role", "user"}, {"content", input}});
    status st = chat_turn(s, o, messages, options, true);
    if (!st.ok()) {
      std::fprintf(s.err, "Error: %s\n", st.message().c_str());
      messages.erase(messages.end() - 1);
    }
  }
  return {};
}

}  // namespace

status cmd_run(session& s, const run_options& opts) {
  run_options o = opts;
  auto info = s.client->post("/api/show", json{{"model", o.model}});
  if (!info.ok() && info.error().code() == error_code::not_found) {
    R1_RETURN_IF_ERROR(cmd_pull(s, o.model, o.insecure));
    info = s.client->post("/api/show", json{{"model", o.model}});
  }
  if (!info.ok()) return info.error();
  std::string prompt = o.prompt;
  if (!s.env.stdin_tty) {
    std::string in((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    prompt = prompt.empty() ? in : in + (in.empty() ? "" : "\n\n") + prompt;
  }
  bool embedding_only = false;
  for (const auto& c : info->value("capabilities", json::array())) embedding_only = embedding_only || c == "embedding";
  if (embedding_only) {
    R1_ASSIGN_OR_RETURN(json r, s.client->post("/api/embed", json{{"model", o.model}, {"input", prompt}}));
    std::fprintf(s.out, "%s\n", r.value("embeddings", json::array()).dump().c_str());
    return {};
  }
  if (prompt.empty() && s.env.stdin_tty) {
    // Load the model first so the first answer does not wait for it.
    json load{{"model", o.model}, {"messages", json::array()}};
    if (!o.keep_alive.empty()) load["keep_alive"] = o.keep_alive;
    R1_RETURN_IF_ERROR(s.client->post("/api/chat", load).error());
    return repl(s, o);
  }
  json messages = json::array({json{{"role", "user"}, {"content", prompt}}});
  return chat_turn(s, o, messages, json::object(), false);
}

}  // namespace r1::cli
