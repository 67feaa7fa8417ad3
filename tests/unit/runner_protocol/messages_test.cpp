#include "r1/runner_protocol/messages.h"

#include <gtest/gtest.h>

namespace r1::runner_protocol {
namespace {

TEST(Protocol, CompletionRequestRoundTrip) {
  completion_request c;
  c.messages = std::vector<chat_message>{{"user", "hi", "", nullptr, "", ""}};
  c.sampling.temperature = 0.6;
  c.sampling.seed = 42;
  c.stop = {"</s>", "\n\n"};
  c.n_probs = 5;
  auto back = completion_request_from_json(to_json(c));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  ASSERT_TRUE(back->messages.has_value());
  EXPECT_EQ((*back->messages)[0].content, "hi");
  EXPECT_DOUBLE_EQ(back->sampling.temperature, 0.6);
  EXPECT_EQ(back->sampling.seed, 42);
  EXPECT_EQ(back->stop.size(), 2u);
  EXPECT_EQ(back->n_probs, 5);
}

TEST(Protocol, CompletionRequestRejectsBadFields) {
  EXPECT_FALSE(completion_request_from_json(json::parse(R"({"prompt":"x","n_probs":21})")).ok());
  EXPECT_FALSE(completion_request_from_json(json::parse(R"({"prompt":"x","top_p":"a"})")).ok());
  EXPECT_FALSE(completion_request_from_json(json::parse(R"({"prompt":"x","prompt_tokens":[1]})")).ok());
  EXPECT_FALSE(completion_request_from_json(json::parse(R"({})")).ok());
  EXPECT_FALSE(completion_request_from_json(json::parse(R"([1,2])")).ok());
  EXPECT_FALSE(completion_request_from_json(json::parse(R"({"prompt_tokens":[1.5]})")).ok());
  auto e = completion_request_from_json(json::parse(R"({"prompt":"x","temperature":-1})"));
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message().find("temperature"), std::string::npos);
}

TEST(Protocol, ChunkRoundTripWithProbs) {
  completion_chunk c;
  c.content = "a";
  c.tokens = {7};
  c.probs.push_back({{7, "a", {97}, -0.5}, {{7, "a", {97}, -0.5}, {8, "b", {98}, -1.5}}});
  c.done = true;
  c.stop_reason = "length";
  c.timings.predicted_n = 1;
  auto back = completion_chunk_from_json(json::parse(to_json(c).dump()));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_TRUE(back->done);
  EXPECT_EQ(back->stop_reason, "length");
  ASSERT_EQ(back->probs.size(), 1u);
  EXPECT_EQ(back->probs[0].top.size(), 2u);
  EXPECT_EQ(back->probs[0].top[1].bytes, std::vector<uint8_t>{98});
}

TEST(Protocol, ParseJsonReportsErrors) {
  EXPECT_TRUE(parse_json("{\"a\":1}").ok());
  auto bad = parse_json("{\"a\":");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), error_code::invalid_argument);
}

}  // namespace
}  // namespace r1::runner_protocol

// Unsigned 64-bit fields (parameter_count, byte counts) parse: their default upper
// bound once wrapped to -1 and refused every value, so /info never reached the daemon.
TEST(Protocol, LoadInfoRoundTripWithUnsignedFields) {
  r1::runner_protocol::load_info in;
  in.backend = "cpu";
  in.parameter_count = 461120;
  in.weights_bytes = uint64_t{5} << 33;
  in.kv_bytes = 1048576;
  auto out = r1::runner_protocol::load_info_from_json(r1::runner_protocol::to_json(in));
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(out->backend, "cpu");
  EXPECT_EQ(out->parameter_count, 461120u);
  EXPECT_EQ(out->weights_bytes, uint64_t{5} << 33);
  EXPECT_EQ(out->kv_bytes, 1048576u);
  auto neg = r1::runner_protocol::to_json(in);
  neg["weights_bytes"] = -1;
  EXPECT_FALSE(r1::runner_protocol::load_info_from_json(neg).ok());
}
