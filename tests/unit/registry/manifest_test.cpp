#include "r1/registry/manifest.h"

#include <gtest/gtest.h>

#include "r1/registry/auth_challenge.h"
#include "r1/registry/digest.h"

namespace r1::registry {
namespace {

// The deepseek-r1:7b manifest as served by registry.ollama.ai in early 2025.
constexpr const char* ollama_7b = R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
 "config":{"mediaType":"application/vnd.docker.container.image.v1+json",
           "digest":"sha256:40fb844194b25e429204e5163fb379ab462978a262b86aadd73d8944445c09fd","size":487},
 "layers":[
  {"mediaType":"application/vnd.ollama.image.model",
   "digest":"sha256:96c415656d377afbff962f6cdb2394ab092ccbcbaab4b82525bc4ca800fe8a49","size":4683073184},
  {"mediaType":"application/vnd.ollama.image.template",
   "digest":"sha256:369ca498f347f710d068cbb38bf0b8692dd3fa30f30ca2ff755e211c94768150","size":387},
  {"mediaType":"application/vnd.ollama.image.license",
   "digest":"sha256:6e4c38e1172f42fdbff13edf9a7a017679fb82b0fde415a3e8b3c31c6ed4a4e4","size":1065},
  {"mediaType":"application/vnd.ollama.image.params",
   "digest":"sha256:f4d24e9138dd4603380add165d2b0d970bef471fac194b436ebd50e6147c6588","size":148}]})";

TEST(digest, validation) {
  EXPECT_TRUE(is_valid_digest("sha256:" + std::string(64, 'a')));
  EXPECT_FALSE(is_valid_digest("sha256:" + std::string(64, 'A')));
  EXPECT_FALSE(is_valid_digest("sha256:" + std::string(63, 'a')));
  EXPECT_FALSE(is_valid_digest("sha256:../../etc/passwd"));
  EXPECT_FALSE(is_valid_digest("sha512:" + std::string(64, 'a')));
  EXPECT_FALSE(is_valid_digest("sha256-" + std::string(64, 'a')));
  auto v = validate_digest("sha256:../../etc");
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().message().find("64 lower-case hex"), std::string::npos);
}

TEST(digest, sha256_known_answers) {
  EXPECT_EQ(sha256_of(""), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_of("abc"), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  sha256_hasher h;
  h.update("a");
  h.update("bc");
  EXPECT_EQ(h.finish(), sha256_of("abc"));
}

TEST(manifest, parses_ollama_manifest) {
  auto m = manifest::parse(ollama_7b);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(m->layers.size(), 4u);
  EXPECT_EQ(m->total_size(), 4683075271ull);
  EXPECT_EQ(m->layers_of(media_type::model).size(), 1u);
  EXPECT_EQ(m->layers_of(media_type::model)[0].size, 4683073184ull);
  EXPECT_EQ(m->blobs().front().digest, m->config.digest);
  auto again = manifest::parse(m->serialize());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->total_size(), m->total_size());
  EXPECT_EQ(again->layers[3].media_type, media_type::params);
}

TEST(manifest, sharded_model_layers_keep_order) {
  manifest m;
  m.config = {std::string(media_type::docker_config), sha256_of("c"), 1, "", {}};
  for (int i = 0; i < 3; ++i)
    m.layers.push_back({std::string(media_type::model), sha256_of(std::to_string(i)), uint64_t(i + 1), "",
                        {{"org.opencontainers.image.title", "m-0000" + std::to_string(i + 1) + "-of-00003.gguf"}}});
  auto p = manifest::parse(m.serialize());
  ASSERT_TRUE(p.ok());
  auto shards = p->layers_of(media_type::model);
  ASSERT_EQ(shards.size(), 3u);
  EXPECT_EQ(shards[2].annotations.at("org.opencontainers.image.title"), "m-00003-of-00003.gguf");
}

TEST(manifest, rejects_bad_input_with_a_reason) {
  const std::string good_digest = sha256_of("x");
  auto with_layer = [&](const std::string& layer) {
    return R"({"schemaVersion":2,"config":{"mediaType":"a","digest":")" + good_digest + R"(","size":1},"layers":[)" +
           layer + "]}";
  };
  struct bad {
    std::string text;
    const char* fragment;
  };
  std::vector<bad> cases = {
      {"not json", "not valid JSON"},
      {"[]", "not an object"},
      {R"({"schemaVersion":1})", "schemaVersion"},
      {R"({"schemaVersion":2,"layers":[]})", "config"},
      {with_layer(R"({"mediaType":"m","digest":"sha256:../../etc/passwd","size":1})"), "layer 0"},
      {with_layer(R"({"mediaType":"m","digest":")" + good_digest + R"(","size":-5})"), "negative"},
      {with_layer(R"({"mediaType":"m","digest":")" + good_digest + R"(","size":"5"})"), "not an integer"},
      {with_layer(R"({"mediaType":"m","digest":")" + good_digest + R"(","size":1e3})"), "not an integer"},
      {with_layer(R"({"mediaType":7,"digest":")" + good_digest + R"(","size":1})"), "not a string"},
      {with_layer(R"({"mediaType":"m","digest":")" + good_digest + R"(","size":99999999999999999999})"), "size"},
      {R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})", "index"},
      {std::string(40, '[') + std::string(40, ']'), "deeper"},
  };
  for (const auto& b : cases) {
    auto m = manifest::parse(b.text);
    ASSERT_FALSE(m.ok()) << b.text;
    EXPECT_EQ(m.error().code(), error_code::corrupt) << b.text;
    EXPECT_NE(m.error().message().find(b.fragment), std::string::npos) << b.text << " -> " << m.error().message();
  }
  auto big = manifest::parse(std::string(max_manifest_bytes + 1, ' '));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code(), error_code::resource_exhausted);
}

TEST(auth_challenge, parses_bearer_with_quotes_and_commas) {
  auto c = auth_challenge::parse(
      R"(Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push")");
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->scheme, "bearer");
  EXPECT_EQ(c->param("realm"), "https://auth.example/token");
  EXPECT_EQ(c->param("service"), "registry.example");
  EXPECT_EQ(c->param("scope"), "repository:a/b:pull,push");
  auto b = auth_challenge::parse(R"(Basic realm="Registry Realm")");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->scheme, "basic");
  auto esc = auth_challenge::parse(R"(Bearer realm="a\"b", service=svc)");
  ASSERT_TRUE(esc.ok());
  EXPECT_EQ(esc->param("realm"), "a\"b");
  EXPECT_EQ(esc->param("service"), "svc");
}

TEST(auth_challenge, rejects_malformed) {
  for (const char* h : {"", R"(Bearer realm="unterminated)", R"(Bearer realm="a",realm="b")", "Bearer realm=\"a\x01\"",
                        R"(Bearer realm="a" service="b")"}) {
    EXPECT_FALSE(auth_challenge::parse(h).ok()) << h;
  }
}

}  // namespace
}  // namespace r1::registry
