// The plugin loader in process (r1::kernels_plugins), fast enough for `ctest -L unit` and so run
// under the sanitizers too: the refused test plugins of test_plugin.cpp (no Vulkan here: the real
// plugins are exercised through r1-runner in backend_plugins_test.cpp), the listing JSON, a
// missing directory, --no-gpu, and the default directory next to the executable.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "r1/kernels/plugin_loader.h"

namespace r1::kernels {
namespace {

const std::string k_test_plugins = R1_TEST_PLUGIN_DIR;

TEST(plugin_loader, refused_plugins_leave_the_cpu) {
  // Twice: a plugin whose create() ran stays loaded, and loading it again must behave the same.
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round);
    loaded_backends b = load_backends({.dir = k_test_plugins, .cpu_threads = 1});
    EXPECT_EQ(b.dir, k_test_plugins);
    ASSERT_EQ(b.registry.backends().size(), 1u);
    EXPECT_EQ(b.registry.backends()[0]->name(), "cpu");
    ASSERT_EQ(b.plugins.size(), 5u);
    ASSERT_EQ(b.registry.unavailable().size(), 5u);
    std::vector<std::string> names;
    for (const plugin_report& p : b.plugins) {
      EXPECT_FALSE(p.loaded) << p.path;
      EXPECT_FALSE(p.error.empty()) << p.path;
      names.push_back(p.name);
    }
    // File name order; the names of the plugins that answered come from them ("nodriver").
    EXPECT_EQ(names, (std::vector<std::string>{"nodevices", "nodriver", "noentry", "oldabi", "otherbuild"}));
    EXPECT_EQ(b.plugins[1].error, "test plugin: no driver for this device");
    // The registry keeps each refusal with its code: the backend's own for a failing create().
    for (const auto& u : b.registry.unavailable()) {
      const error_code want = u.name == "nodriver" || u.name == "nodevices" ? error_code::unavailable
                                                                            : error_code::invalid_argument;
      EXPECT_EQ(u.why.code(), want) << u.name << ": " << u.why.to_string();
    }
  }
}

TEST(plugin_loader, listing_json_has_every_plugin) {
  const loaded_backends b = load_backends({.dir = k_test_plugins, .cpu_threads = 1});
  const auto j = nlohmann::json::parse(list_devices_json(b), nullptr, false);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["backend_dir"], k_test_plugins);
  ASSERT_EQ(j["devices"].size(), 1u);
  EXPECT_EQ(j["devices"][0]["backend"], "cpu");
  ASSERT_EQ(j["plugins"].size(), 5u);
  for (const auto& p : j["plugins"]) {
    EXPECT_FALSE(p["loaded"].get<bool>());
    EXPECT_TRUE(p["error"].is_string());
    EXPECT_TRUE(std::filesystem::exists(p["path"].get<std::string>())) << p.dump();
  }
  EXPECT_EQ(j["unavailable"].size(), 5u);
}

TEST(plugin_loader, missing_dir_and_no_gpu_give_the_cpu_alone) {
  const loaded_backends missing = load_backends({.dir = k_test_plugins + "/none", .cpu_threads = 1});
  EXPECT_TRUE(missing.plugins.empty());
  EXPECT_TRUE(missing.registry.unavailable().empty());
  ASSERT_EQ(missing.registry.backends().size(), 1u);
  const loaded_backends off = load_backends({.dir = k_test_plugins, .cpu_threads = 1, .enable_gpu = false});
  EXPECT_TRUE(off.plugins.empty());
  EXPECT_TRUE(off.dir.empty());
  ASSERT_EQ(off.registry.backends().size(), 1u);
  EXPECT_EQ(off.registry.backends()[0]->name(), "cpu");
}

TEST(plugin_loader, default_dir_is_next_to_the_executable) {
  // This test binary lives in <build>/tests: ../lib/r1/backends from there is the build's plugin dir.
  auto d = default_backend_dir();
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  EXPECT_EQ(*d, std::filesystem::path(R1_BACKEND_BUILD_DIR).lexically_normal().string());
}

}  // namespace
}  // namespace r1::kernels
