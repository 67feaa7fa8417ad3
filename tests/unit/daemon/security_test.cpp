#include <gtest/gtest.h>

#include "r1/daemon/security.h"

namespace d = r1::daemon;

TEST(security, host_header_allow_list) {
  for (const char* ok : {"localhost:11434", "127.0.0.1:11434", "127.0.0.5", "[::1]:11434", "my.localhost",
                         "box.local:80", "svc.internal", "10.1.2.3", "192.168.1.10:8080", "172.16.0.1", "0.0.0.0",
                         "myhost", ""})
    EXPECT_TRUE(d::host_allowed(ok, "myhost")) << ok;
  for (const char* bad : {"evil.com", "evil.com:11434", "localhost.evil.com", "8.8.8.8", "172.32.0.1", "127.0.0.1.nip.io"})
    EXPECT_FALSE(d::host_allowed(bad, "myhost")) << bad;
}

TEST(security, origin_allow_list) {
  for (const char* ok : {"http://localhost", "http://localhost:3000", "https://127.0.0.1:8443", "app://obsidian.md",
                         "vscode-webview://abc", "file://"})
    EXPECT_TRUE(d::origin_allowed(ok, {})) << ok;
  for (const char* bad : {"http://evil.com", "http://localhost.evil.com", "http://localhost:80.evil.com", "null"})
    EXPECT_FALSE(d::origin_allowed(bad, {})) << bad;
  EXPECT_TRUE(d::origin_allowed("https://chat.example.com", {"https://*.example.com"}));
  EXPECT_FALSE(d::origin_allowed("https://chat.example.org", {"https://*.example.com"}));
}

TEST(security, api_keys_and_admin_scope) {
  d::daemon_settings s;
  EXPECT_EQ(d::access_of(s, "", ""), d::access::admin);  // authentication off
  s.api_key_hashes = {d::hash_key("user-key")};
  s.admin_key_hashes = {d::hash_key("admin-key")};
  EXPECT_EQ(d::access_of(s, "", ""), d::access::none);
  EXPECT_EQ(d::access_of(s, "Bearer wrong", ""), d::access::none);
  EXPECT_EQ(d::access_of(s, "Bearer user-key", ""), d::access::inference);
  EXPECT_EQ(d::access_of(s, "bearer admin-key", ""), d::access::admin);
  EXPECT_EQ(d::access_of(s, "", "user-key"), d::access::inference);
  EXPECT_TRUE(d::needs_admin("POST", "/api/pull"));
  EXPECT_TRUE(d::needs_admin("DELETE", "/api/delete"));
  EXPECT_TRUE(d::needs_admin("POST", "/api/blobs/sha256:abc"));
  EXPECT_FALSE(d::needs_admin("GET", "/api/blobs/sha256:abc"));
  EXPECT_FALSE(d::needs_admin("POST", "/api/chat"));
  EXPECT_FALSE(d::needs_admin("POST", "/v1/chat/completions"));
}

TEST(security, loopback_addresses) {
  EXPECT_TRUE(d::is_loopback_address("127.0.0.1"));
  EXPECT_TRUE(d::is_loopback_address("localhost"));
  EXPECT_TRUE(d::is_loopback_address("::1"));
  EXPECT_FALSE(d::is_loopback_address("0.0.0.0"));
  EXPECT_FALSE(d::is_loopback_address("192.168.1.2"));
}
