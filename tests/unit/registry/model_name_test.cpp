#include "r1/registry/model_name.h"

#include <gtest/gtest.h>

namespace r1::registry {
namespace {

model_name must(std::string_view s) {
  auto n = model_name::parse(s);
  EXPECT_TRUE(n.ok()) << s << ": " << n.error().to_string();
  return n.ok() ? *n : model_name{};
}

TEST(model_name, defaults_fill_host_namespace_and_tag) {
  model_name n = must("deepseek-r1");
  EXPECT_EQ(n.host, "registry.ollama.ai");
  EXPECT_EQ(n.name_space, "library");
  EXPECT_EQ(n.model, "deepseek-r1");
  EXPECT_EQ(n.tag, "latest");
  EXPECT_EQ(n.display(), "deepseek-r1:latest");
  EXPECT_EQ(n.full(), "registry.ollama.ai/library/deepseek-r1:latest");
  EXPECT_EQ(n.manifest_rel_path(), "manifests/registry.ollama.ai/library/deepseek-r1/latest");
  EXPECT_EQ(n.repository(), "library/deepseek-r1");
}

TEST(model_name, every_deepseek_tag_parses) {
  for (const char* tag : {"1.5b", "7b", "8b", "14b", "32b", "70b", "671b", "7b-qwen-distill-q4_K_M", "8b-0528-qwen3-q4_K_M"}) {
    model_name n = must(std::string("deepseek-r1:") + tag);
    EXPECT_EQ(n.tag, tag);
    EXPECT_EQ(n.display(), std::string("deepseek-r1:") + tag);
  }
}

TEST(model_name, namespace_host_and_port) {
  model_name u = must("user/m:q4");
  EXPECT_EQ(u.name_space, "user");
  EXPECT_EQ(u.display(), "user/m:q4");
  model_name p = must("localhost:5000/team/m");
  EXPECT_EQ(p.host, "localhost:5000");
  EXPECT_EQ(p.tag, "latest");
  EXPECT_EQ(p.display(), "localhost:5000/team/m:latest");
  model_name pt = must("127.0.0.1:5000/team/m:v1");
  EXPECT_EQ(pt.host, "127.0.0.1:5000");
  EXPECT_EQ(pt.tag, "v1");
  model_name s = must("http://mirror.corp:8080/ns/m:1");
  EXPECT_EQ(s.scheme, "http");
  EXPECT_EQ(s.host, "mirror.corp:8080");
}

TEST(model_name, hugging_face_names) {
  model_name n = must("hf.co/bartowski/DeepSeek-R1-Distill-Qwen-7B-GGUF:Q4_K_M");
  EXPECT_EQ(n.host, "hf.co");
  EXPECT_EQ(n.name_space, "bartowski");
  EXPECT_EQ(n.model, "DeepSeek-R1-Distill-Qwen-7B-GGUF");
  EXPECT_EQ(n.tag, "Q4_K_M");
  EXPECT_EQ(n.display(), "hf.co/bartowski/DeepSeek-R1-Distill-Qwen-7B-GGUF:Q4_K_M");
  EXPECT_EQ(n.repository(), "bartowski/DeepSeek-R1-Distill-Qwen-7B-GGUF");
  EXPECT_EQ(must("Team/Model:x").repository(), "team/model");
}

TEST(model_name, digest_references) {
  const std::string hex(64, 'a');
  const std::string d = "sha256:" + hex;
  model_name n = must("deepseek-r1@" + d);
  EXPECT_EQ(n.digest, d);
  EXPECT_EQ(n.tag, "");
  EXPECT_EQ(n.model, "deepseek-r1");
  EXPECT_EQ(n.reference(), d);
  EXPECT_EQ(n.display(), "deepseek-r1@" + d);
  EXPECT_EQ(n.full(), "registry.ollama.ai/library/deepseek-r1@" + d);
  EXPECT_EQ(n.manifest_rel_path(), "manifests/registry.ollama.ai/library/deepseek-r1/sha256-" + hex);

  model_name t = must("localhost:5000/ns/m:v1@" + d);  // tag and digest: the digest selects
  EXPECT_EQ(t.host, "localhost:5000");
  EXPECT_EQ(t.tag, "v1");
  EXPECT_EQ(t.digest, d);
  EXPECT_EQ(t.reference(), d);
  EXPECT_EQ(t.full(), "localhost:5000/ns/m:v1@" + d);
  EXPECT_EQ(t.manifest_rel_path(), "manifests/localhost:5000/ns/m/sha256-" + hex);
  EXPECT_TRUE(t.same_as(must("localhost:5000/ns/m@" + d)));
  EXPECT_FALSE(t.same_as(must("localhost:5000/ns/m:v1")));

  // The store's spelling parses back into the digest form.
  model_name stored = must("localhost:5000/ns/m:sha256-" + hex);
  EXPECT_EQ(stored.digest, d);
  EXPECT_EQ(stored.tag, "");
  EXPECT_TRUE(stored.same_as(t));
  // Not a digest spelling: stays a tag.
  EXPECT_EQ(must("m:sha256-abc").tag, "sha256-abc");
  EXPECT_EQ(must("m:sha256-abc").digest, "");
  // Round trips.
  for (const model_name& x : {n, t, stored}) {
    EXPECT_TRUE(must(x.full()).same_as(x)) << x.full();
    EXPECT_TRUE(must(x.display()).same_as(x)) << x.display();
  }
}

TEST(model_name, bad_digests_say_what_is_wrong) {
  const std::string hex(64, 'b');
  struct bad {
    std::string text;
    const char* fragment;
  };
  for (const bad& b : {bad{"m@", "after '@' is empty"}, bad{"@sha256:" + hex, "no model name"},
                       bad{"m@sha512:" + hex, "must be sha256:<64 hex digits>"},
                       bad{"m@sha256:" + hex.substr(1), "64 lower-case hex"},
                       bad{"m@sha256:" + std::string(64, 'B'), "64 lower-case hex"},
                       bad{"m@sha256:../../etc/passwd", "64 lower-case hex"},
                       bad{"m@sha256:" + hex + "@sha256:" + hex, "second '@'"},
                       bad{"m:@sha256:" + hex, "tag after ':' is empty"},
                       bad{"ns/m:v/1@sha256:" + hex, "namespace"}}) {
    auto n = model_name::parse(b.text);
    ASSERT_FALSE(n.ok()) << b.text;
    EXPECT_EQ(n.error().code(), error_code::invalid_argument);
    EXPECT_NE(n.error().message().find(b.fragment), std::string::npos) << b.text << " -> " << n.error().message();
  }
}

TEST(model_name, comparison_is_case_insensitive) {
  EXPECT_TRUE(must("DeepSeek-R1:7B").same_as(must("deepseek-r1:7b")));
  EXPECT_FALSE(must("deepseek-r1:7b").same_as(must("deepseek-r1:8b")));
}

TEST(model_name, invalid_names_say_what_is_wrong) {
  struct bad {
    const char* text;
    const char* fragment;
  };
  for (const bad& b : {bad{"", "empty"}, bad{"m:", "tag after ':' is empty"}, bad{"a/b/c/d", "too many '/'"},
                       bad{"ns/-m", "model '-m' must start"}, bad{"m:t@g", "digest"},
                       bad{"m@sha256:abc", "digest"}, bad{"ns/m:ta g", "tag 'ta g' contains ' '"},
                       bad{"h/ns.x/m", "namespace 'ns.x' contains '.'"}, bad{"h/n/..", "model '..' must start"},
                       bad{"h/n/a..b", "'..' is not allowed"}, bad{"ftp://h/n/m", "scheme"},
                       bad{"h/n//m", "too many"}, bad{"/m", "namespace"}}) {
    auto n = model_name::parse(b.text);
    ASSERT_FALSE(n.ok()) << b.text;
    EXPECT_EQ(n.error().code(), error_code::invalid_argument);
    EXPECT_NE(n.error().message().find(b.fragment), std::string::npos) << b.text << " -> " << n.error().message();
  }
  EXPECT_FALSE(model_name::parse(std::string(81, 'a')).ok());
  EXPECT_TRUE(model_name::parse(std::string(80, 'a')).ok());
}

TEST(model_name, loopback_hosts) {
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_TRUE(is_loopback_host("localhost:5000"));
  EXPECT_TRUE(is_loopback_host("127.0.0.1:5000"));
  EXPECT_TRUE(is_loopback_host("127.1.2.3"));
  EXPECT_TRUE(is_loopback_host("a.localhost"));
  EXPECT_TRUE(is_loopback_host("[::1]:80"));
  EXPECT_FALSE(is_loopback_host("127.0.0.1.evil.com"));
  EXPECT_FALSE(is_loopback_host("registry.ollama.ai"));
  EXPECT_FALSE(is_loopback_host("localhost.evil.com"));
  EXPECT_FALSE(is_loopback_host("128.0.0.1"));
}

}  // namespace
}  // namespace r1::registry
