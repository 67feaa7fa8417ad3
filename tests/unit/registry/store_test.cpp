#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include <cstring>
#include <filesystem>
#include <thread>
#include <gtest/gtest.h>

#include "r1/base/raii.h"
#include "r1/registry/bundle.h"
#include "r1/registry/digest.h"
#include "r1/registry/model_store.h"
#include "r1/test_support/temp_dir.h"

namespace r1::registry {
namespace {

using test_support::temp_dir;
namespace fs = std::filesystem;

model_name name_of(std::string_view s) { return model_name::parse(s).value(); }

std::unique_ptr<model_store> open_store(const temp_dir& d) {
  auto s = model_store::open(d / "models");
  EXPECT_TRUE(s.ok()) << s.error().to_string();
  return std::move(s).value();
}

// A GGUF-looking file: magic, then deterministic bytes.
std::string fake_gguf(size_t n, int seed) {
  std::string s = "GGUF";
  s.resize(n);
  uint32_t x = 2463534242u + static_cast<uint32_t>(seed);
  for (size_t i = 4; i < n; ++i) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    s[i] = static_cast<char>(x);
  }
  return s;
}

std::vector<std::string> files_under(const std::string& dir) {
  std::vector<std::string> out;
  for (auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), dir).string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(blob_store, paths_only_from_valid_digests) {
  temp_dir d("store");
  auto store = open_store(d);
  for (const char* bad : {"sha256:../../etc/passwd", "sha256:..", "../../x", "sha256:/etc/passwd",
                          "sha256:ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789"}) {
    auto p = store->blobs().path_for(bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.error().code(), error_code::invalid_argument);
    EXPECT_FALSE(store->blobs().has(bad));
    EXPECT_FALSE(store->blobs().remove(bad).ok());
  }
  EXPECT_TRUE(files_under(store->root()).empty());
}

TEST(blob_store, put_stream_verifies_before_commit) {
  temp_dir d("store");
  auto store = open_store(d);
  const std::string data = fake_gguf(3 << 20, 1);
  const std::string good = sha256_of(data);
  auto reader = [&](size_t* pos) {
    return [&data, pos](void* buf, size_t cap) -> int64_t {
      size_t n = std::min(cap, data.size() - *pos);
      std::memcpy(buf, data.data() + *pos, n);
      *pos += n;
      return static_cast<int64_t>(n);
    };
  };
  size_t pos = 0;
  const std::string wrong = sha256_of("other");
  auto bad = store->blobs().put_stream(wrong, data.size(), reader(&pos));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), error_code::corrupt);
  EXPECT_NE(bad.error().message().find(wrong), std::string::npos);
  EXPECT_NE(bad.error().message().find(good), std::string::npos);
  EXPECT_TRUE(files_under(store->root()).empty()) << "a rejected blob left files behind";
  pos = 0;
  auto ok = store->blobs().put_stream(good, data.size(), reader(&pos));
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();
  EXPECT_EQ(read_file(store->blobs().path_for(good).value()).value(), data);
  pos = 0;
  auto short_size = store->blobs().put_stream(good, data.size() + 1, reader(&pos));
  EXPECT_FALSE(short_size.ok());
}

TEST(model_store, create_list_show_copy_remove) {
  temp_dir d("store");
  auto store = open_store(d);
  const std::string weights = fake_gguf(1 << 20, 2);
  ASSERT_TRUE(write_file_atomic(d / "w.gguf", weights).ok());
  auto model_layer = store->import_local_gguf(d / "w.gguf");
  ASSERT_TRUE(model_layer.ok()) << model_layer.error().to_string();
  EXPECT_EQ(model_layer->digest, sha256_of(weights));
  const model_name a = name_of("deepseek-r1:7b");
  auto m = store->create_model(a, {{std::string(media_type::model), "", model_layer->digest},
                                   {std::string(media_type::template_), "{{ .Prompt }}", ""},
                                   {std::string(media_type::params), R"({"stop":["<|User|>"]})", ""}},
                               R"({"model_family":"qwen2"})");
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(m->layers.size(), 3u);
  EXPECT_EQ(m->config.media_type, media_type::docker_config);

  auto list = store->list();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name.display(), "deepseek-r1:7b");
  EXPECT_EQ((*list)[0].size, m->total_size());
  EXPECT_EQ((*list)[0].manifest_digest, sha256_of(store->read_manifest_bytes(a).value()));

  auto shown = store->show(name_of("DeepSeek-R1:7B"));  // case-insensitive
  ASSERT_TRUE(shown.ok()) << shown.error().to_string();
  EXPECT_NE(shown->config_bytes.find("\"model_family\":\"qwen2\""), std::string::npos);
  EXPECT_NE(shown->config_bytes.find("diff_ids"), std::string::npos);
  EXPECT_EQ(read_file(shown->layer_paths[0]).value(), weights);

  ASSERT_TRUE(store->verify(a).ok());
  {  // damage the template blob in place: verify must notice
    const std::string tpath = shown->layer_paths[1];
    ASSERT_TRUE(write_file_atomic(tpath, "{{ .Evil }}").ok());
    auto v = store->verify(a);
    EXPECT_EQ(v.code(), error_code::corrupt);
    EXPECT_NE(v.message().find(m->layers[1].digest), std::string::npos) << v.message();
    ASSERT_TRUE(write_file_atomic(tpath, "{{ .Prompt }}").ok());
  }

  const model_name b = name_of("mine/r1:copy");
  ASSERT_TRUE(store->copy(a, b).ok());
  EXPECT_EQ(store->read_manifest_bytes(b).value(), store->read_manifest_bytes(a).value());
  auto blobs_before = store->blobs().list().value().size();

  ASSERT_TRUE(store->remove(a).ok());
  EXPECT_FALSE(store->has_model(a));
  EXPECT_EQ(store->blobs().list().value().size(), blobs_before) << "blobs still used by the copy must stay";
  ASSERT_TRUE(store->remove(b).ok());
  EXPECT_EQ(store->blobs().list().value().size(), 0u);
  EXPECT_EQ(store->remove(b).code(), error_code::not_found);
  EXPECT_TRUE(fs::is_empty(store->root() + "/manifests"));
}

TEST(model_store, local_gguf_import_is_a_hard_link) {
  temp_dir d("store");
  auto store = open_store(d);
  ASSERT_TRUE(write_file_atomic(d / "big.gguf", fake_gguf(4 << 20, 3)).ok());
  struct utimbuf two_hours_ago{time(nullptr) - 7200, time(nullptr) - 7200};
  ASSERT_EQ(::utime((d / "big.gguf").c_str(), &two_hours_ago), 0);
  auto layer = store->import_local_gguf(d / "big.gguf");
  ASSERT_TRUE(layer.ok()) << layer.error().to_string();
  struct stat src, blob;
  ASSERT_EQ(::stat((d / "big.gguf").c_str(), &src), 0);
  ASSERT_EQ(::stat(store->blobs().path_for(layer->digest).value().c_str(), &blob), 0);
  EXPECT_EQ(src.st_ino, blob.st_ino) << "the blob should share the file's storage, not copy it";
  EXPECT_EQ(src.st_nlink, 2u);
  // Not yet referenced by a manifest, and its mtime is old: the link is fresh, so prune keeps it.
  ASSERT_TRUE(store->prune(3600).ok());
  EXPECT_TRUE(store->blobs().has(layer->digest));
  ASSERT_TRUE(write_file_atomic(d / "not.gguf", "hello").ok());
  auto bad = store->import_local_gguf(d / "not.gguf");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("magic"), std::string::npos);
}

TEST(model_store, write_manifest_requires_every_blob) {
  temp_dir d("store");
  auto store = open_store(d);
  manifest m;
  m.config = {std::string(media_type::docker_config), sha256_of("{}"), 2, "", {}};
  auto s = store->write_manifest(name_of("x:y"), m.serialize());
  EXPECT_EQ(s.code(), error_code::not_found);
  EXPECT_FALSE(store->has_model(name_of("x:y")));
  ASSERT_TRUE(store->blobs().put_bytes("{}").ok());
  m.config.size = 3;  // wrong size
  EXPECT_EQ(store->write_manifest(name_of("x:y"), m.serialize()).code(), error_code::corrupt);
  m.config.size = 2;
  EXPECT_TRUE(store->write_manifest(name_of("x:y"), m.serialize()).ok());
}

TEST(model_store, prune_respects_references_and_grace) {
  temp_dir d("store");
  auto store = open_store(d);
  auto m = store->create_model(name_of("keep:1"), {{std::string(media_type::system), "be brief", ""}});
  ASSERT_TRUE(m.ok());
  auto orphan = store->blobs().put_bytes("orphan");
  ASSERT_TRUE(orphan.ok());
  const std::string partial = store->blobs().partial_path_for(sha256_of("p")).value();
  ASSERT_TRUE(write_file_atomic(partial, std::string(1000, 'x')).ok());
  auto young = store->prune(3600);
  ASSERT_TRUE(young.ok());
  EXPECT_TRUE(young->removed_blobs.empty());
  EXPECT_TRUE(young->removed_partials.empty());
  // Age is max(mtime, ctime) and ctime cannot be set back, so a grace of 0
  // (cutoff = now) stands in for "everything is old enough".
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto usage = store->disk_usage();
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(usage->unreferenced_bytes, 6u);
  EXPECT_GE(usage->partial_bytes, 1000u);
  EXPECT_EQ(usage->model_count, 1u);
  auto old = store->prune(0);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->removed_blobs, std::vector<std::string>{*orphan});
  EXPECT_EQ(old->removed_partials.size(), 1u);
  EXPECT_TRUE(store->blobs().has(m->config.digest));
  EXPECT_TRUE(store->blobs().has(m->layers[0].digest));
  // A corrupt manifest stops pruning altogether.
  ASSERT_TRUE(write_file_atomic(store->root() + "/manifests/registry.ollama.ai/library/keep/2", "{").ok());
  EXPECT_FALSE(store->prune(0).ok());
  EXPECT_TRUE(store->blobs().has(m->config.digest));
}

TEST(bundle, export_import_round_trip_plain_and_zstd) {
  for (auto comp : {bundle_compression::none, bundle_compression::zstd}) {
    temp_dir d("bundle");
    auto src = open_store(d);
    ASSERT_TRUE(write_file_atomic(d / "w.gguf", fake_gguf(2 << 20, 4)).ok());
    auto w = src->import_local_gguf(d / "w.gguf");
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(src->create_model(name_of("a:1"), {{std::string(media_type::model), "", w->digest}}).ok());
    ASSERT_TRUE(src->create_model(name_of("hf.co/u/b:Q4_K_M"), {{std::string(media_type::model), "", w->digest},
                                                                 {std::string(media_type::license), "MIT", ""}})
                    .ok());
    const std::string archive = d / "models.tar";
    ASSERT_TRUE(export_models(*src, {name_of("a:1"), name_of("hf.co/u/b:Q4_K_M")}, archive, {comp}).ok());
    auto dst = model_store::open(d / "other");
    ASSERT_TRUE(dst.ok());
    auto names = import_models(**dst, archive);
    ASSERT_TRUE(names.ok()) << names.error().to_string();
    EXPECT_EQ(names->size(), 2u);
    for (const char* n : {"a:1", "hf.co/u/b:Q4_K_M"}) {
      EXPECT_EQ((*dst)->read_manifest_bytes(name_of(n)).value(), src->read_manifest_bytes(name_of(n)).value());
    }
    EXPECT_EQ(read_file((*dst)->blobs().path_for(w->digest).value()).value(), read_file(d / "w.gguf").value());
  }
}

// Writes a tar with the given entries (path -> content); a "->" in the content makes a symlink.
void write_tar(const std::string& path, const std::vector<std::pair<std::string, std::string>>& entries) {
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK);
  for (const auto& [name, content] : entries) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    if (content.rfind("->", 0) == 0) {
      archive_entry_set_filetype(e, AE_IFLNK);
      archive_entry_set_symlink(e, content.substr(2).c_str());
      archive_entry_set_size(e, 0);
      archive_write_header(a, e);
    } else {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, 0644);
      archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
      archive_write_header(a, e);
      archive_write_data(a, content.data(), content.size());
    }
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

TEST(bundle, import_refuses_unsafe_or_lying_archives_and_commits_nothing) {
  temp_dir d("bundle");
  const std::string blob = "weights";
  const std::string digest = sha256_of(blob);
  const std::string cfg = "{}";
  manifest m;
  m.config = {std::string(media_type::docker_config), sha256_of(cfg), cfg.size(), "", {}};
  m.layers.push_back({std::string(media_type::model), digest, blob.size(), "", {}});
  const std::string man = m.serialize();
  const std::string mpath = "manifests/registry.ollama.ai/library/m/latest";
  const std::string cpath = "blobs/sha256-" + sha256_of(cfg).substr(7);
  const std::string bpath = "blobs/sha256-" + digest.substr(7);
  struct bad_case {
    const char* what;
    std::vector<std::pair<std::string, std::string>> entries;
  };
  std::vector<bad_case> cases = {
      {"dot-dot path", {{"../evil", "x"}, {mpath, man}, {cpath, cfg}, {bpath, blob}}},
      {"absolute path", {{"/tmp/evil", "x"}, {mpath, man}, {cpath, cfg}, {bpath, blob}}},
      {"symlink", {{"blobs/sha256-" + std::string(64, 'a'), "->/etc/passwd"}, {mpath, man}, {cpath, cfg}, {bpath, blob}}},
      {"traversal digest", {{"blobs/sha256-../../x", "x"}, {mpath, man}}},
      {"wrong blob content", {{mpath, man}, {cpath, cfg}, {bpath, "tampered"}}},
      {"missing blob", {{mpath, man}, {cpath, cfg}}},
      {"unexpected file", {{"README", "hi"}, {mpath, man}, {cpath, cfg}, {bpath, blob}}},
  };
  for (const auto& c : cases) {
    auto store = model_store::open(d / (std::string("s-") + std::to_string(&c - cases.data())));
    ASSERT_TRUE(store.ok());
    const std::string archive = d / "bad.tar";
    write_tar(archive, c.entries);
    auto r = import_models(**store, archive);
    EXPECT_FALSE(r.ok()) << c.what;
    EXPECT_TRUE(files_under((*store)->root()).empty()) << c.what << ": import left files in the store";
  }
  auto store = model_store::open(d / "good");
  write_tar(d / "good.tar", {{mpath, man}, {cpath, cfg}, {bpath, blob}});
  auto ok = import_models(**store, d / "good.tar");
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();
  EXPECT_TRUE((*store)->has_model(name_of("m")));
}

}  // namespace
}  // namespace r1::registry
