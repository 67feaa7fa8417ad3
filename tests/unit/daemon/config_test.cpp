#include <gtest/gtest.h>

#include "r1/daemon/daemon_config.h"

namespace d = r1::daemon;

namespace {
r1::result<d::daemon_settings> settings_with(std::vector<std::pair<std::string, std::string>> flags) {
  r1::config cfg(d::daemon_option_specs());
  for (auto& [k, v] : flags) {
    auto st = cfg.set(k, v, r1::config_source::flag);
    if (!st.ok()) return st;
  }
  return d::settings_from_config(cfg, "/opt/r1/bin", "/home/u", "");
}
}  // namespace

TEST(daemon_config, defaults) {
  auto s = settings_with({});
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  EXPECT_EQ(s->host, "127.0.0.1");
  EXPECT_EQ(s->port, 11434);
  EXPECT_EQ(s->keep_alive_ms, 300000);
  EXPECT_EQ(s->models_dir, "/home/u/.local/share/r1/models");
  EXPECT_EQ(s->runner_path, "/opt/r1/bin/r1-runner");
  EXPECT_GT(s->memory_budget_bytes, 0u);
  EXPECT_FALSE(s->auth_enabled());
}

TEST(daemon_config, env_file_and_flags_layer) {
  r1::config cfg(d::daemon_option_specs());
  ASSERT_TRUE(cfg.load_text("keep_alive = \"10m\"\nmax_queue = 7\n", "test.conf").ok());
  std::string e1 = "R1_KEEP_ALIVE=-1", e2 = "R1_HOST=127.0.0.1:9999";
  char* envp[] = {e1.data(), e2.data(), nullptr};
  ASSERT_TRUE(cfg.load_env(envp).ok());
  ASSERT_TRUE(cfg.set("host", "127.0.0.1:1234", r1::config_source::flag).ok());
  auto s = d::settings_from_config(cfg, ".", "/h", "/xdg");
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  EXPECT_EQ(s->keep_alive_ms, -1);
  EXPECT_EQ(s->max_queue, 7);
  EXPECT_EQ(s->port, 1234);
  EXPECT_EQ(s->models_dir, "/xdg/r1/models");
}

TEST(daemon_config, invalid_values_name_the_option) {
  for (auto [k, v] : std::vector<std::pair<std::string, std::string>>{{"max_queue", "0"},
                                                                      {"num_parallel", "-2"},
                                                                      {"keep_alive", "soon"},
                                                                      {"kv_cache_type", "f8"},
                                                                      {"memory_budget", "lots"},
                                                                      {"host", "127.0.0.1:70000"},
                                                                      {"log_level", "chatty"}}) {
    auto s = settings_with({{k, v}});
    ASSERT_FALSE(s.ok()) << k;
    EXPECT_NE(s.error().message().find(k), std::string::npos) << s.error().message();
  }
}

TEST(daemon_config, keys_are_hashed_and_hidden) {
  r1::config cfg(d::daemon_option_specs());
  ASSERT_TRUE(cfg.set("api_keys", "k1, k2", r1::config_source::flag).ok());
  auto s = d::settings_from_config(cfg, ".", "/h", "");
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->api_key_hashes.size(), 2u);
  EXPECT_EQ(s->api_key_hashes[0], d::hash_key("k1"));
  EXPECT_NE(s->api_key_hashes[0], "k1");
  std::string text = d::describe_config(cfg);
  EXPECT_EQ(text.find("k1"), std::string::npos);
  EXPECT_NE(text.find("<set>"), std::string::npos);
}
