#include <gtest/gtest.h>

#include "r1/api/json_util.h"
#include "r1/api/ollama.h"
#include "r1/api/openai.h"

using json = nlohmann::json;
namespace api = r1::api;

TEST(keep_alive, numbers_strings_and_negatives) {
  EXPECT_EQ(api::parse_keep_alive(json(300))->ms, 300000);
  EXPECT_EQ(api::parse_keep_alive(json("5m"))->ms, 300000);
  EXPECT_EQ(api::parse_keep_alive(json("1h30m"))->ms, 5400000);
  EXPECT_EQ(api::parse_keep_alive(json(0))->ms, 0);
  EXPECT_EQ(api::parse_keep_alive(json(-1))->ms, -1);
  EXPECT_EQ(api::parse_keep_alive(json("-5m"))->ms, -1);
  EXPECT_FALSE(api::parse_keep_alive(json::parse("null")).value().set);
  EXPECT_FALSE(api::parse_keep_alive(json("soon")).ok());
  EXPECT_FALSE(api::parse_keep_alive(json::array()).ok());
}

TEST(think, bool_and_levels) {
  EXPECT_TRUE(api::parse_think(json(true))->enabled);
  EXPECT_FALSE(api::parse_think(json(false))->enabled);
  EXPECT_TRUE(api::parse_think(json(false))->set);
  EXPECT_EQ(api::parse_think(json("high"))->level, "high");
  EXPECT_FALSE(api::parse_think(json("extreme")).ok());
  EXPECT_FALSE(api::parse_think(json(3)).ok());
}

TEST(generate_request, fields_and_defaults) {
  auto q = api::parse_generate_request(json::parse(R"({"model":"deepseek-r1:7b","prompt":"hi","stream":false,
      "options":{"temperature":0.2},"keep_alive":"10m","think":true,"context":[1,2,3],"top_logprobs":3})"));
  ASSERT_TRUE(q.ok()) << q.error().to_string();
  EXPECT_EQ(q->model, "deepseek-r1:7b");
  EXPECT_FALSE(q->stream);
  EXPECT_EQ(q->keep_alive.ms, 600000);
  EXPECT_TRUE(q->think.enabled);
  EXPECT_EQ(q->context->size(), 3u);
  EXPECT_EQ(q->top_logprobs, 3);
  EXPECT_TRUE(api::parse_generate_request(json::parse(R"({"name":"m"})")).ok());  // deprecated alias
}

TEST(generate_request, rejects_bad_input_with_the_field_name) {
  auto missing = api::parse_generate_request(json::parse(R"({"prompt":"x"})"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("model"), std::string::npos);
  EXPECT_FALSE(api::parse_generate_request(json::parse(R"({"model":"m","raw":true,"system":"s"})")).ok());
  EXPECT_FALSE(api::parse_generate_request(json::parse(R"({"model":"m","top_logprobs":21})")).ok());
  EXPECT_FALSE(api::parse_generate_request(json::parse(R"({"model":"m","top_logprobs":-1})")).ok());
  EXPECT_FALSE(api::parse_generate_request(json::parse(R"({"model":"m","context":[-1]})")).ok());
  EXPECT_FALSE(api::parse_generate_request(json::parse(R"({"model":"m","options":[1]})")).ok());
  EXPECT_FALSE(api::parse_generate_request(json::parse(R"({"model":"m","stream":"yes"})")).ok());
  EXPECT_FALSE(api::parse_generate_request(json::parse(R"([1,2])")).ok());
}

TEST(chat_request, messages_roles_and_thinking) {
  auto q = api::parse_chat_request(json::parse(R"({"model":"m","messages":[
      {"role":"System","content":"be brief"},{"role":"user","content":"hi"},
      {"role":"assistant","content":"hello","thinking":"greet"}]})"));
  ASSERT_TRUE(q.ok()) << q.error().to_string();
  EXPECT_EQ(q->messages[0].role, "system");
  EXPECT_EQ(q->messages[2].thinking, "greet");
  auto bad = api::parse_chat_request(json::parse(R"({"model":"m","messages":[{"role":"wizard","content":"x"}]})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("messages[0]"), std::string::npos);
}

TEST(openai_chat, sampling_stays_unset_unless_sent) {
  auto q = api::parse_openai_chat_request(json::parse(R"({"model":"m","messages":[{"role":"user","content":"hi"}]})"));
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(api::to_options(q->sampling).empty());
  auto q2 = api::parse_openai_chat_request(json::parse(R"({"model":"m","messages":[{"role":"developer","content":"x"},
      {"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],
      "max_tokens":5,"temperature":0.3,"stop":"END","seed":-3,"stream":true,"stream_options":{"include_usage":true}})"));
  ASSERT_TRUE(q2.ok()) << q2.error().to_string();
  EXPECT_EQ(q2->messages[0].role, "system");
  EXPECT_EQ(q2->messages[1].content, "ab");
  json o = api::to_options(q2->sampling);
  EXPECT_EQ(o["num_predict"], 5);
  EXPECT_EQ(o["temperature"], 0.3);
  EXPECT_EQ(o["stop"], json({"END"}));
  EXPECT_GE(o["seed"].get<int64_t>(), 0);
  EXPECT_TRUE(q2->include_usage);
}

TEST(openai_chat, reasoning_content_sent_back_is_accepted) {
  auto q = api::parse_openai_chat_request(json::parse(R"({"model":"deepseek-reasoner","messages":[
      {"role":"user","content":"hi"},{"role":"assistant","content":"hello","reasoning_content":"thought"},
      {"role":"user","content":"again"}]})"));
  ASSERT_TRUE(q.ok()) << q.error().to_string();
  EXPECT_EQ(q->messages[1].thinking, "thought");
}

TEST(openai_chat, rejects_out_of_range_values) {
  auto base = json::parse(R"({"model":"m","messages":[{"role":"user","content":"hi"}]})");
  for (const char* patch : {R"({"temperature":3})", R"({"top_p":-0.1})", R"({"max_tokens":-1})", R"({"n":2})",
                            R"({"top_logprobs":5})", R"({"logprobs":true,"top_logprobs":21})",
                            R"({"response_format":{"type":"xml"}})", R"({"reasoning_effort":"huge"})"}) {
    json j = base;
    j.update(json::parse(patch));
    EXPECT_FALSE(api::parse_openai_chat_request(j).ok()) << patch;
  }
  EXPECT_FALSE(api::parse_openai_chat_request(json::parse(R"({"model":"m","messages":[]})")).ok());
}

TEST(openai_chat, reasoning_effort_maps_to_think) {
  auto q = api::parse_openai_chat_request(json::parse(
      R"({"model":"m","messages":[{"role":"user","content":"hi"}],"reasoning_effort":"none"})"));
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->think.set);
  EXPECT_FALSE(q->think.enabled);
  auto q2 = api::parse_openai_chat_request(json::parse(
      R"({"model":"m","messages":[{"role":"user","content":"hi"}],"thinking":{"type":"enabled"}})"));
  ASSERT_TRUE(q2.ok());
  EXPECT_TRUE(q2->think.enabled);
}

TEST(openai_completion, prompt_forms) {
  auto s = api::parse_openai_completion_request(json::parse(R"({"model":"m","prompt":"abc"})"));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s->prompt, "abc");
  EXPECT_EQ(*s->sampling.max_tokens, 16);  // the OpenAI default
  auto t = api::parse_openai_completion_request(json::parse(R"({"model":"m","prompt":[1,2,3],"echo":true,"logprobs":2})"));
  ASSERT_TRUE(t.ok()) << t.error().to_string();
  EXPECT_EQ(t->prompt_tokens->size(), 3u);
  EXPECT_TRUE(t->echo);
  EXPECT_EQ(t->logprobs, 2);
  EXPECT_TRUE(api::parse_openai_completion_request(json::parse(R"({"model":"m","prompt":[[4,5]]})")).ok());
  EXPECT_FALSE(api::parse_openai_completion_request(json::parse(R"({"model":"m","prompt":[1,-2]})")).ok());
  EXPECT_FALSE(api::parse_openai_completion_request(json::parse(R"({"model":"m","prompt":"x","logprobs":6})")).ok());
}

TEST(create_request, digests_are_validated) {
  std::string good = "sha256:" + std::string(64, 'a');
  auto q = api::parse_create_request(json{{"model", "m"}, {"files", {{"m.gguf", good}}}});
  ASSERT_TRUE(q.ok()) << q.error().to_string();
  EXPECT_FALSE(api::parse_create_request(json{{"model", "m"}, {"files", {{"m.gguf", "sha256:../../etc/passwd"}}}}).ok());
  EXPECT_FALSE(api::parse_create_request(json{{"model", "m"}}).ok());
  EXPECT_TRUE(api::is_valid_digest(good));
  EXPECT_FALSE(api::is_valid_digest("sha256:" + std::string(64, 'A')));
  EXPECT_FALSE(api::is_valid_digest("sha512:" + std::string(64, 'a')));
}

TEST(bench_request, defaults_bounds_and_types) {
  auto q = api::parse_bench_request(json{{"model", "m"}});
  ASSERT_TRUE(q.ok()) << q.error().to_string();
  EXPECT_EQ(q->n_prompt, 512);
  EXPECT_EQ(q->n_gen, 128);
  EXPECT_EQ(q->n_depth, 0);
  EXPECT_EQ(q->repetitions, 3);
  EXPECT_EQ(q->kv_type, "f16");
  q = api::parse_bench_request(
      json{{"model", "m"}, {"n_prompt", 0}, {"n_gen", 4}, {"n_depth", 64}, {"kv_type", "q8_0"}, {"bandwidth", true}});
  ASSERT_TRUE(q.ok()) << q.error().to_string();
  EXPECT_EQ(q->n_depth, 64);
  EXPECT_TRUE(q->bandwidth);
  EXPECT_FALSE(api::parse_bench_request(json{{"n_gen", 4}}).ok());                                    // no model
  EXPECT_FALSE(api::parse_bench_request(json{{"model", "m"}, {"n_gen", -1}}).ok());                  // negative
  EXPECT_FALSE(api::parse_bench_request(json{{"model", "m"}, {"n_prompt", 1 << 30}}).ok());          // days of work
  EXPECT_FALSE(api::parse_bench_request(json{{"model", "m"}, {"repetitions", 0}}).ok());
  EXPECT_FALSE(api::parse_bench_request(json{{"model", "m"}, {"kv_type", "q4_0"}}).ok());
  EXPECT_FALSE(api::parse_bench_request(json{{"model", "m"}, {"n_prompt", 0}, {"n_gen", 0}}).ok());  // nothing to do
  EXPECT_FALSE(api::parse_bench_request(json{{"model", "m"}, {"threads", "2"}}).ok());
}

TEST(json_util, parse_errors_and_depth_limit) {
  EXPECT_FALSE(api::parse_json("{").ok());
  EXPECT_FALSE(api::parse_json(std::string(100, '[') + std::string(100, ']')).ok());
  EXPECT_TRUE(api::parse_json("[[1]]").ok());
  EXPECT_EQ(api::dump(json("a\xff")), "\"a\xef\xbf\xbd\"");  // invalid UTF-8 is replaced, never thrown
  EXPECT_EQ(api::rfc3339_utc(0), "1970-01-01T00:00:00.000000000Z");
}
