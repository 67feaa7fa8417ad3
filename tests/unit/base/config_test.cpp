#include "r1/base/config.h"

#include <gtest/gtest.h>

namespace r1 {
namespace {

config make() {
  return config({{"host", "R1_HOST", "127.0.0.1:11434", "listen address"},
                 {"keep_alive", "R1_KEEP_ALIVE", "5m", "idle time before unload"},
                 {"tls.cert", "", "", "certificate"}});
}

TEST(Config, PrecedenceDefaultsFileEnvFlag) {
  config c = make();
  EXPECT_EQ(c.get("host"), "127.0.0.1:11434");
  ASSERT_TRUE(c.load_text("host = \"0.0.0.0:1\"\n[tls]\ncert = \"/a.pem\" # comment\n", "cfg").ok());
  EXPECT_EQ(c.get("host"), "0.0.0.0:1");
  EXPECT_EQ(c.get("tls.cert"), "/a.pem");
  EXPECT_EQ(c.source("host"), config_source::file);
  char e1[] = "R1_HOST=127.0.0.1:2";
  char e2[] = "OTHER=1";
  char* env[] = {e1, e2, nullptr};
  ASSERT_TRUE(c.load_env(env).ok());
  EXPECT_EQ(c.get("host"), "127.0.0.1:2");
  ASSERT_TRUE(c.set("host", "127.0.0.1:3", config_source::flag).ok());
  EXPECT_EQ(c.get("host"), "127.0.0.1:3");
  EXPECT_NE(c.describe().find("host = \"127.0.0.1:3\"  # flag (R1_HOST)"), std::string::npos);
}

TEST(Config, RejectsUnknownKeysAndBadLines) {
  config c = make();
  status s = c.load_text("nope = 1\n", "cfg");
  EXPECT_EQ(s.code(), error_code::invalid_argument);
  EXPECT_NE(s.message().find("cfg:1"), std::string::npos);
  EXPECT_FALSE(c.load_text("host\n", "cfg").ok());
  EXPECT_FALSE(c.load_text("host = \"unterminated\n", "cfg").ok());
  EXPECT_FALSE(c.load_text("[tls\n", "cfg").ok());
}

TEST(Config, Durations) {
  EXPECT_EQ(parse_duration_ms("5m").value(), 300000);
  EXPECT_EQ(parse_duration_ms("1h30m").value(), 5400000);
  EXPECT_EQ(parse_duration_ms("300").value(), 300000);
  EXPECT_EQ(parse_duration_ms("250ms").value(), 250);
  EXPECT_EQ(parse_duration_ms("-1").value(), -1000);
  EXPECT_EQ(parse_duration_ms("0").value(), 0);
  EXPECT_FALSE(parse_duration_ms("5x").ok());
  EXPECT_FALSE(parse_duration_ms("").ok());
  EXPECT_FALSE(parse_duration_ms("m").ok());
}

TEST(Config, ByteSizes) {
  EXPECT_EQ(parse_byte_size("512").value(), 512u);
  EXPECT_EQ(parse_byte_size("4KiB").value(), 4096u);
  EXPECT_EQ(parse_byte_size("1.5GB").value(), 1500000000u);
  EXPECT_FALSE(parse_byte_size("-1").ok());
  EXPECT_FALSE(parse_byte_size("12 parsecs").ok());
}

}  // namespace
}  // namespace r1
