// The API key store: key shape, hashing, the file (format, mode 0600, atomic
// rewrite, round trip, corrupt input), expiry, revocation, and authenticate().
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <set>

#include <openssl/sha.h>

#include "api_keys.h"
#include "r1/base/raii.h"
#include "r1/test_support/temp_dir.h"

namespace d = r1::daemon;
using r1::test_support::temp_dir;

namespace {
std::string sha256_hex(const std::string& s) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), md);
  std::string out;
  char buf[3];
  for (unsigned char b : md) {
    std::snprintf(buf, sizeof buf, "%02x", b);
    out += buf;
  }
  return out;
}
constexpr int64_t k_now = 1800000000;
}  // namespace

TEST(api_keys, created_keys_are_random_and_stored_hashed_with_mode_0600) {
  temp_dir dir("keys");
  auto store = d::api_key_store::open(dir / "keys.json");
  ASSERT_TRUE(store.ok()) << store.error().message();
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) {
    auto c = (*store)->create(d::key_scope::inference, "n" + std::to_string(i), 0, 0, k_now);
    ASSERT_TRUE(c.ok()) << c.error().message();
    EXPECT_EQ(c->key.size(), 3u + 16 + 1 + 64);
    EXPECT_EQ(d::key_id_of(c->key), c->record.id);
    EXPECT_EQ(c->record.hash, sha256_hex(c->key));
    EXPECT_TRUE(seen.insert(c->key).second);
  }
  struct stat st {};
  ASSERT_EQ(::stat((dir / "keys.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto text = r1::read_file(dir / "keys.json");
  ASSERT_TRUE(text.ok());
  for (const auto& k : seen) {
    EXPECT_EQ(text->find(k), std::string::npos) << "a secret was written to the file";
    EXPECT_EQ(text->find(k.substr(20)), std::string::npos);
  }
}

TEST(api_keys, verify_expiry_revocation_and_reopen) {
  temp_dir dir("keys");
  std::string path = dir / "keys.json";
  auto store = d::api_key_store::open(path);
  ASSERT_TRUE(store.ok());
  auto forever = (*store)->create(d::key_scope::admin, "ops", 0, 0, k_now);
  auto hour = (*store)->create(d::key_scope::inference, "", k_now + 3600, 30, k_now);
  ASSERT_TRUE(forever.ok() && hour.ok());
  EXPECT_EQ((*store)->verify(forever->key, k_now).v, d::api_key_store::verdict::valid);
  EXPECT_EQ((*store)->verify(hour->key, k_now + 3599).v, d::api_key_store::verdict::valid);
  EXPECT_EQ((*store)->verify(hour->key, k_now + 3600).v, d::api_key_store::verdict::expired);
  // Right id, wrong secret: unknown (a guess must not learn anything more).
  std::string forged = forever->key;
  forged.back() = forged.back() == '0' ? '1' : '0';
  EXPECT_EQ((*store)->verify(forged, k_now).v, d::api_key_store::verdict::unknown);
  EXPECT_EQ((*store)->verify("r1_nonsense", k_now).v, d::api_key_store::verdict::unknown);
  EXPECT_EQ((*store)->verify("", k_now).v, d::api_key_store::verdict::unknown);
  ASSERT_TRUE((*store)->revoke(forever->record.id, k_now + 10).ok());
  EXPECT_EQ((*store)->verify(forever->key, k_now + 11).v, d::api_key_store::verdict::revoked);
  EXPECT_EQ((*store)->revoke("0000000000000000", k_now).code(), r1::error_code::not_found);
  EXPECT_FALSE((*store)->has_active_keys(k_now + 3600));
  EXPECT_TRUE((*store)->has_active_keys(k_now));

  auto again = d::api_key_store::open(path);
  ASSERT_TRUE(again.ok()) << again.error().message();
  auto list = (*again)->list();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "ops");
  EXPECT_EQ(list[0].scope, d::key_scope::admin);
  EXPECT_EQ(list[0].revoked_unix, k_now + 10);
  EXPECT_EQ(list[1].expires_unix, k_now + 3600);
  EXPECT_EQ(list[1].rate_limit, 30);
  EXPECT_EQ((*again)->verify(hour->key, k_now).v, d::api_key_store::verdict::valid);
}

TEST(api_keys, file_round_trips_and_rejects_bad_input) {
  std::vector<d::api_key_record> keys(2);
  keys[0] = {"0123456789abcdef", "a \"quoted\" name", d::key_scope::admin, std::string(64, 'a'), 1, 2, 3, 4};
  keys[1] = {"fedcba9876543210", "", d::key_scope::inference, std::string(64, 'b'), 5, 0, 0, 0};
  auto back = d::parse_key_file(d::serialize_key_file(keys));
  ASSERT_TRUE(back.ok()) << back.error().message();
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0].name, keys[0].name);
  EXPECT_EQ((*back)[0].rate_limit, 4);
  EXPECT_EQ(d::serialize_key_file(*back), d::serialize_key_file(keys));

  const char* bad[] = {
      "", "[]", "{\"version\":2,\"keys\":[]}", "{\"version\":1}", "{\"version\":1,\"keys\":{}}",
      "{\"version\":1,\"keys\":[1]}",
      "{\"version\":1,\"keys\":[{\"id\":\"xyz\",\"scope\":\"admin\",\"hash\":\"" "aaaa\"}]}",
      "{\"version\":1,\"keys\":[{\"id\":\"0123456789abcdef\",\"scope\":\"root\",\"hash\":\"" 
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}]}",
      "{\"version\":1,\"keys\":[{\"id\":\"0123456789abcdef\",\"scope\":\"admin\",\"hash\":\""
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"expires_at\":-1}]}",
      "{\"version\":1,\"keys\":[{\"id\":\"0123456789abcdef\",\"scope\":\"admin\",\"hash\":\""
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"rate_limit\":1.5}]}",
      "{\"version\":1,\"keys\":[{\"id\":\"0123456789abcdef\",\"scope\":\"admin\",\"hash\":\""
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"},{\"id\":\"0123456789abcdef\","
      "\"scope\":\"admin\",\"hash\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}]}",
  };
  for (const char* b : bad) {
    auto r = d::parse_key_file(b);
    EXPECT_FALSE(r.ok()) << b;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code(), r1::error_code::corrupt) << b;
    }
  }
  auto dup = d::parse_key_file(bad[sizeof bad / sizeof bad[0] - 1]);
  EXPECT_NE(dup.error().message().find("duplicate id"), std::string::npos) << dup.error().message();
}

TEST(api_keys, a_corrupt_file_stops_the_store_from_opening) {
  temp_dir dir("keys");
  std::ofstream(dir / "keys.json") << "{not json";
  auto store = d::api_key_store::open(dir / "keys.json");
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message().find("keys.json"), std::string::npos) << store.error().message();
}

TEST(api_keys, create_validates_its_arguments) {
  temp_dir dir("keys");
  auto store = d::api_key_store::open(dir / "keys.json");
  ASSERT_TRUE(store.ok());
  EXPECT_FALSE((*store)->create(d::key_scope::inference, std::string(200, 'x'), 0, 0, k_now).ok());
  EXPECT_FALSE((*store)->create(d::key_scope::inference, "", k_now - 1, 0, k_now).ok());
  EXPECT_FALSE((*store)->create(d::key_scope::inference, "", 0, -1, k_now).ok());
  // A failed save leaves the store as it was.
  temp_dir ro("keys-ro");
  auto bad = d::api_key_store::open(ro / "missing-dir/keys.json");
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE((*bad)->create(d::key_scope::admin, "", 0, 0, k_now).ok());
  EXPECT_TRUE((*bad)->list().empty());
}

TEST(api_keys, authenticate_scopes_and_reasons) {
  temp_dir dir("keys");
  auto store = d::api_key_store::open(dir / "keys.json");
  ASSERT_TRUE(store.ok());
  d::daemon_settings s;
  // No keys anywhere: authentication is off.
  EXPECT_EQ(d::authenticate(s, store->get(), "", "", false, k_now).level, d::access::admin);
  s.require_keys = true;
  auto miss = d::authenticate(s, store->get(), "", "", false, k_now);
  EXPECT_EQ(miss.level, d::access::none);
  EXPECT_EQ(miss.reason, "missing");
  // The Unix socket is trusted-local.
  EXPECT_EQ(d::authenticate(s, store->get(), "", "", true, k_now).level, d::access::admin);
  s.require_keys = false;
  auto inf = (*store)->create(d::key_scope::inference, "", 0, 7, k_now);
  auto adm = (*store)->create(d::key_scope::admin, "", k_now + 60, 0, k_now);
  ASSERT_TRUE(inf.ok() && adm.ok());
  auto a = d::authenticate(s, store->get(), "Bearer " + inf->key, "", false, k_now);
  EXPECT_EQ(a.level, d::access::inference);
  EXPECT_EQ(a.key_id, inf->record.id);
  EXPECT_EQ(a.rate_limit, 7);
  EXPECT_EQ(d::authenticate(s, store->get(), "bearer " + adm->key, "", false, k_now).level, d::access::admin);
  EXPECT_EQ(d::authenticate(s, store->get(), "", adm->key, false, k_now).level, d::access::admin);
  EXPECT_EQ(d::authenticate(s, store->get(), "", adm->key, false, k_now + 60).reason, "expired");
  EXPECT_EQ(d::authenticate(s, store->get(), "Bearer wrong", "", false, k_now).reason, "invalid");
  ASSERT_TRUE((*store)->revoke(inf->record.id, k_now).ok());
  EXPECT_EQ(d::authenticate(s, store->get(), "Bearer " + inf->key, "", false, k_now).reason, "revoked");
  // Static keys from the configuration still work alongside the store.
  s.api_key_hashes.push_back(d::hash_key("static-user"));
  auto st = d::authenticate(s, store->get(), "Bearer static-user", "", false, k_now);
  EXPECT_EQ(st.level, d::access::inference);
  EXPECT_EQ(st.key_id.rfind("config:", 0), 0u);
}
