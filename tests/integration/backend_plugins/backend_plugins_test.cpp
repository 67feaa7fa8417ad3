// r1-runner loads its GPU backends as plugins (libr1-backend-<name>.so, kernels/src/plugin_loader.cpp).
// Through the real binary: it links no GPU library; each plugin exports its entry point only;
// the build's plugin directory (the default, --backend-dir and R1_BACKEND_DIR) brings the Vulkan
// device; an empty or missing directory gives the CPU alone; a directory of files that must be
// refused reports each with its reason (JSON and one log line each) while the CPU and the good
// plugin stay usable and the runner serves completions; --no-gpu reads no plugin at all.
#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "r1/mkmodel/make_model.h"
#include "r1/test_support/temp_dir.h"
#include "runner_process.h"

namespace r1::runner_test {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const std::string k_plugin_dir = R1_BACKEND_BUILD_DIR;
const std::string k_test_plugins = R1_TEST_PLUGIN_DIR;

std::string runner_bin() { return std::string(R1_BINARY_DIR) + "/bin/r1-runner"; }

test_support::temp_dir& work() {
  static test_support::temp_dir* d = new test_support::temp_dir("backend-plugins");
  return *d;
}

struct ran {
  int code = -1;
  std::string out, err;
};

// Runs a command through the shell; stdout and stderr apart.
ran run(const std::string& cmd) {
  ran r;
  const std::string err_file = work() / "stderr.txt";
  FILE* p = ::popen((cmd + " 2>" + err_file).c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = ::pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  std::ifstream in(err_file);
  r.err.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return r;
}

// `r1-runner --list-devices` with `prefix` (environment) and `args`; fails the test unless it
// exits 0 with a JSON object.
json list_devices(const std::string& prefix, const std::string& args, std::string* err = nullptr) {
  ran r = run(prefix + " " + runner_bin() + " --list-devices " + args);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  json j = json::parse(r.out, nullptr, false);
  EXPECT_TRUE(j.is_object()) << r.out;
  if (err != nullptr) *err = r.err;
  return j.is_object() ? j : json::object();
}

std::vector<std::string> backends_of(const json& j) {
  std::vector<std::string> out;
  for (const auto& d : j["devices"]) out.push_back(d["backend"].get<std::string>());
  return out;
}

// The plugin report of one file, by file name; null when absent.
const json* plugin_report(const json& j, const std::string& file) {
  for (const auto& p : j["plugins"])
    if (fs::path(p["path"].get<std::string>()).filename() == file) return &p;
  return nullptr;
}

std::vector<std::string> so_files(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".so") out.push_back(e.path().string());
  return out;
}

// A directory with files the loader must refuse, next to (in a Vulkan build) the real plugin.
// file name -> words its error must contain ("" for the one that loads).
const std::map<std::string, std::string>& broken_expectations() {
  static const std::map<std::string, std::string> m = [] {
    std::map<std::string, std::string> e{
        {"libr1-backend-garbage.so", "cannot load"},
        {"libr1-backend-noentry.so", "no r1_backend_plugin_v1() entry point: not an r1 backend plugin"},
        {"libr1-backend-oldabi.so", "plugin ABI version 999, this r1-runner loads version 1"},
        {"libr1-backend-otherbuild.so", "built from another r1 build (interface key 0123456789abcdef"},
        {"libr1-backend-nodriver.so", "test plugin: no driver for this device"},
        {"libr1-backend-nodevices.so", "nodevices: no devices found"},
    };
#ifdef R1_EXPECT_VULKAN_DEVICE
    e["libr1-backend-vulkan.so"] = "";
    e["libr1-backend-vulkan2.so"] = "a backend named vulkan is already loaded from";
#endif
    return e;
  }();
  return m;
}

const std::string& broken_dir() {
  static const std::string dir = [] {
    const std::string d = work() / "broken";
    fs::create_directories(d);
    std::ofstream(d + "/libr1-backend-garbage.so") << "this is not an ELF object\n";
    std::ofstream(d + "/README.txt") << "not a plugin, not even named like one\n";
    fs::create_directories(d + "/libr1-backend-subdir.so");  // a directory: not a candidate
    for (const std::string& f : so_files(k_test_plugins))
      fs::copy_file(f, d + "/" + fs::path(f).filename().string());
#ifdef R1_EXPECT_VULKAN_DEVICE
    fs::copy_file(k_plugin_dir + "/libr1-backend-vulkan.so", d + "/libr1-backend-vulkan.so");
    fs::copy_file(k_plugin_dir + "/libr1-backend-vulkan.so", d + "/libr1-backend-vulkan2.so");
#endif
    return d;
  }();
  return dir;
}

TEST(backend_plugins, runner_links_no_gpu_library) {
  ran r = run("readelf -d " + runner_bin());
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_NE(r.out.find("(NEEDED)"), std::string::npos) << r.out;
  for (const char* lib : {"libvulkan", "libcudart", "libcuda.so", "libnvidia"}) {
    EXPECT_EQ(r.out.find(lib), std::string::npos) << "r1-runner links " << lib << ":\n" << r.out;
  }
}

TEST(backend_plugins, plugins_export_only_their_entry_point) {
  const std::vector<std::string> plugins = so_files(k_plugin_dir);
#ifdef R1_EXPECT_VULKAN_DEVICE
  ASSERT_TRUE(fs::exists(k_plugin_dir + "/libr1-backend-vulkan.so")) << k_plugin_dir;
#endif
#ifdef R1_EXPECT_CUDA_PLUGIN
  ASSERT_TRUE(fs::exists(k_plugin_dir + "/libr1-backend-cuda.so")) << k_plugin_dir;
#endif
  if (plugins.empty()) GTEST_SKIP() << "this build has no GPU backend plugin";
  for (const std::string& p : plugins) {
    ran syms = run("nm -D --defined-only " + p);
    ASSERT_EQ(syms.code, 0) << syms.err;
    std::vector<std::string> names;
    std::istringstream lines(syms.out);
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty()) names.push_back(line.substr(line.rfind(' ') + 1));
    }
    EXPECT_EQ(names, std::vector<std::string>{"r1_backend_plugin_v1"}) << p << ":\n" << syms.out;
    ran dyn = run("readelf -d " + p);
    ASSERT_EQ(dyn.code, 0) << dyn.err;
    if (fs::path(p).filename() == "libr1-backend-vulkan.so") {
      EXPECT_NE(dyn.out.find("[libvulkan.so.1]"), std::string::npos) << dyn.out;
    }
    // The CUDA runtime is linked in statically: only the driver is needed, at run time.
    EXPECT_EQ(dyn.out.find("libcudart"), std::string::npos) << p << ":\n" << dyn.out;
  }
}

TEST(backend_plugins, build_plugin_dir_brings_the_vulkan_device) {
#ifndef R1_EXPECT_VULKAN_DEVICE
  GTEST_SKIP() << "built without Vulkan";
#else
  // The default (next to build/bin), the flag and the environment variable.
  for (const auto& [prefix, args] : std::vector<std::pair<std::string, std::string> >{
           {"", ""}, {"", "--backend-dir " + k_plugin_dir}, {"R1_BACKEND_DIR=" + k_plugin_dir, ""}}) {
    SCOPED_TRACE(prefix + " " + args);
    const json j = list_devices(prefix, args);
    ASSERT_TRUE(j["plugins"].is_array()) << j.dump();
    const json* v = plugin_report(j, "libr1-backend-vulkan.so");
    ASSERT_NE(v, nullptr) << j.dump();
    EXPECT_EQ((*v)["name"], "vulkan");
    EXPECT_TRUE((*v)["loaded"].get<bool>()) << j.dump();
    EXPECT_FALSE(v->contains("error")) << j.dump();
    std::error_code ec;
    EXPECT_TRUE(fs::equivalent(j["backend_dir"].get<std::string>(), k_plugin_dir, ec)) << j.dump();
    const std::vector<std::string> b = backends_of(j);
    ASSERT_FALSE(b.empty());
    EXPECT_EQ(b.front(), "vulkan") << j.dump();
    EXPECT_EQ(b.back(), "cpu") << j.dump();
  }
#endif
}

TEST(backend_plugins, empty_or_missing_dir_gives_the_cpu_alone) {
  const std::string empty = work() / "empty";
  fs::create_directories(empty);
  for (const std::string& dir : {empty, work() / "missing"}) {
    SCOPED_TRACE(dir);
    std::string err;
    const json j = list_devices("", "--backend-dir " + dir, &err);
    EXPECT_EQ(j["plugins"], json::array()) << j.dump();
    EXPECT_EQ(j["unavailable"], json::array()) << j.dump();
    EXPECT_EQ(j["backend_dir"], dir);
    const std::vector<std::string> b = backends_of(j);
    ASSERT_FALSE(b.empty()) << j.dump();
    for (const std::string& name : b) EXPECT_EQ(name, "cpu") << j.dump();
    EXPECT_EQ(err.find("skipped"), std::string::npos) << err;
  }
}

TEST(backend_plugins, refused_plugins_are_reported_with_their_reason) {
  std::string err;
  const json j = list_devices("", "--backend-dir " + broken_dir(), &err);
  const auto& want = broken_expectations();
  ASSERT_EQ(j["plugins"].size(), want.size()) << j.dump(1);
  size_t failed = 0;
  for (const auto& [file, words] : want) {
    SCOPED_TRACE(file);
    const json* p = plugin_report(j, file);
    ASSERT_NE(p, nullptr) << j.dump(1);
    if (words.empty()) {
      EXPECT_TRUE((*p)["loaded"].get<bool>()) << p->dump();
      continue;
    }
    ++failed;
    EXPECT_FALSE((*p)["loaded"].get<bool>()) << p->dump();
    ASSERT_TRUE((*p)["error"].is_string()) << p->dump();
    EXPECT_NE((*p)["error"].get<std::string>().find(words), std::string::npos) << p->dump();
    // One log line per refusal, naming the file.
    EXPECT_NE(err.find("backend plugin " + broken_dir() + "/" + file + " skipped: "), std::string::npos)
        << err;
  }
  EXPECT_EQ(j["unavailable"].size(), failed) << j.dump(1);
  // Names come from the plugin once it answered, from the file name before.
  EXPECT_EQ((*plugin_report(j, "libr1-backend-nodriver.so"))["name"], "nodriver");
  EXPECT_EQ((*plugin_report(j, "libr1-backend-garbage.so"))["name"], "garbage");
  const std::vector<std::string> b = backends_of(j);
  ASSERT_FALSE(b.empty()) << j.dump(1);
  EXPECT_EQ(b.back(), "cpu");
#ifdef R1_EXPECT_VULKAN_DEVICE
  EXPECT_EQ(b.front(), "vulkan") << j.dump(1);
#endif
}

TEST(backend_plugins, no_gpu_reads_no_plugin) {
  std::string err;
  const json j = list_devices("R1_NO_GPU=1", "--backend-dir " + broken_dir(), &err);
  EXPECT_EQ(j["plugins"], json::array()) << j.dump();
  EXPECT_FALSE(j.contains("backend_dir")) << j.dump();
  for (const std::string& name : backends_of(j)) EXPECT_EQ(name, "cpu");
  EXPECT_EQ(err.find("skipped"), std::string::npos) << err;
}

std::string tiny_model() {
  static const std::string path = [] {
    const std::string p = work() / "qwen2-tiny.gguf";
    auto spec = mkmodel::preset("qwen2", "tiny");
    EXPECT_TRUE(spec.ok());
    mkmodel::model_spec s = *spec;
    s.n_layer = 2;
    s.seed = 5;
    auto w = mkmodel::write_model(s, p);
    EXPECT_TRUE(w.ok()) << w.error().to_string();
    return p;
  }();
  return path;
}

TEST(backend_plugins, runner_serves_next_to_refused_plugins) {
  // As many layers as fit: lavapipe is a software device, so the CPU computes.
  auto p = runner_process::start(
      {"--model", tiny_model(), "--ctx", "256", "--threads", "1", "--backend-dir", broken_dir()});
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  ASSERT_TRUE((*p)->wait_ready(60000).ok());
  const json req = {{"prompt", "Hello"}, {"n_predict", 4}, {"stream", false}, {"temperature", 0}};
  auto r = http_request((*p)->port(), "POST", "/completion", req.dump(), 60000);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->status, 200) << r->body;
  const json body = json::parse(r->body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << r->body;
  EXPECT_EQ(body["tokens"].size(), 4u) << r->body;
  EXPECT_EQ((*p)->terminate(), 0);
}

TEST(backend_plugins, gpu_layers_without_plugins_name_the_directory) {
  const std::string empty = work() / "empty-for-layers";
  fs::create_directories(empty);
  auto p = runner_process::start({"--model", tiny_model(), "--ctx", "256", "--threads", "1", "--n-gpu-layers",
                                  "2", "--backend-dir", empty});
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  const status s = (*p)->wait_ready(60000);
  ASSERT_FALSE(s.ok()) << "loaded GPU layers without a GPU backend";
  EXPECT_NE(s.message().find("2 GPU layers requested but no GPU device"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("no GPU backend plugin in " + empty), std::string::npos) << s.message();
}

}  // namespace
}  // namespace r1::runner_test
