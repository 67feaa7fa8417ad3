#include <gtest/gtest.h>

#include "r1/api/options.h"

using r1::api::model_options;
using json = nlohmann::json;

TEST(options, layers_defaults_then_params_then_request) {
  model_options o;
  EXPECT_DOUBLE_EQ(o.temperature, 0.8);
  json params = {{"temperature", 0.6}, {"top_p", 0.95}, {"stop", {"<｜User｜>", "<｜Assistant｜>"}}};
  ASSERT_TRUE(r1::api::apply_options(params, &o, nullptr, true).ok());
  EXPECT_DOUBLE_EQ(o.temperature, 0.6);
  EXPECT_DOUBLE_EQ(o.top_p, 0.95);
  ASSERT_EQ(o.stop.size(), 2u);
  json request = {{"temperature", 0.1}, {"num_ctx", 8192}};
  ASSERT_TRUE(r1::api::apply_options(request, &o, nullptr, false).ok());
  EXPECT_DOUBLE_EQ(o.temperature, 0.1);
  EXPECT_DOUBLE_EQ(o.top_p, 0.95);  // the params layer survives where the request is silent
  EXPECT_EQ(o.num_ctx, 8192);
  EXPECT_EQ(o.stop.size(), 2u);
}

TEST(options, request_stop_replaces_params_stop) {
  model_options o;
  ASSERT_TRUE(r1::api::apply_options(json{{"stop", {"a", "b"}}}, &o, nullptr, true).ok());
  ASSERT_TRUE(r1::api::apply_options(json{{"stop", "c"}}, &o, nullptr, false).ok());
  EXPECT_EQ(o.stop, std::vector<std::string>{"c"});
}

TEST(options, wrong_types_and_ranges_are_errors_naming_the_option) {
  model_options o;
  auto st = r1::api::apply_options(json{{"top_k", "forty"}}, &o, nullptr);
  EXPECT_EQ(st.code(), r1::error_code::invalid_argument);
  EXPECT_NE(st.message().find("top_k"), std::string::npos);
  EXPECT_FALSE(r1::api::apply_options(json{{"temperature", -1}}, &o, nullptr).ok());
  EXPECT_FALSE(r1::api::apply_options(json{{"top_p", 1.5}}, &o, nullptr).ok());
  EXPECT_FALSE(r1::api::apply_options(json{{"num_ctx", -5}}, &o, nullptr).ok());
  EXPECT_FALSE(r1::api::apply_options(json{{"num_predict", 1.5}}, &o, nullptr).ok());
  EXPECT_FALSE(r1::api::apply_options(json{{"seed", -7}}, &o, nullptr).ok());
  EXPECT_FALSE(r1::api::apply_options(json{{"use_mmap", 1}}, &o, nullptr).ok());
  EXPECT_FALSE(r1::api::apply_options(json{{"stop", {1, 2}}}, &o, nullptr).ok());
  EXPECT_FALSE(r1::api::apply_options(json::array(), &o, nullptr).ok());
}

TEST(options, unknown_names_are_reported_not_fatal) {
  model_options o;
  std::vector<std::string> ignored;
  ASSERT_TRUE(r1::api::apply_options(json{{"mirostat", 2}, {"top_k", 5}}, &o, &ignored).ok());
  EXPECT_EQ(ignored, std::vector<std::string>{"mirostat"});
  EXPECT_EQ(o.top_k, 5);
}

TEST(options, modelfile_parameters_are_typed_and_stop_accumulates) {
  auto j = r1::api::parameters_to_json(
      {{"temperature", "0.6"}, {"stop", "\"<｜User｜>\""}, {"stop", "<｜Assistant｜>"}, {"num_ctx", "4096"}});
  ASSERT_TRUE(j.ok()) << j.error().to_string();
  EXPECT_EQ((*j)["temperature"], 0.6);
  EXPECT_EQ((*j)["num_ctx"], 4096);
  EXPECT_EQ((*j)["stop"], json({"<｜User｜>", "<｜Assistant｜>"}));
  EXPECT_FALSE(r1::api::parameters_to_json({{"bogus", "1"}}).ok());
  EXPECT_FALSE(r1::api::parameters_to_json({{"top_k", "1.5"}}).ok());
  EXPECT_FALSE(r1::api::parameters_to_json({{"temperature", "hot"}}).ok());
  std::string text = r1::api::parameters_text(*j);
  EXPECT_NE(text.find("stop"), std::string::npos);
  EXPECT_NE(text.find("\"<｜User｜>\""), std::string::npos);
}

TEST(options, load_options_are_known) {
  EXPECT_TRUE(r1::api::is_load_option("num_ctx"));
  EXPECT_FALSE(r1::api::is_load_option("temperature"));
}
