// Writer output on disk: atomic replace, split sets and their validation.
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "r1/base/raii.h"
#include "r1/gguf/model_files.h"
#include "r1/gguf/writer.h"
#include "raw_gguf.h"

namespace r1::gguf {
namespace {

namespace fs = std::filesystem;

struct temp_dir {
  temp_dir() {
    char tmpl[] = "/tmp/r1-gguf-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~temp_dir() { fs::remove_all(path); }
  std::string path;
};

status fill_index(uint64_t first, uint64_t n, uint8_t* dst, uint64_t row_bytes, uint8_t salt) {
  for (uint64_t r = 0; r < n; ++r)
    for (uint64_t i = 0; i < row_bytes; ++i) dst[r * row_bytes + i] = static_cast<uint8_t>((first + r) * 31 + i + salt);
  return {};
}

writer model_with_tensors(int n) {
  writer w;
  w.set_string("general.architecture", "test");
  w.set_u32("test.block_count", static_cast<uint32_t>(n));
  for (int i = 0; i < n; ++i) {
    uint8_t salt = static_cast<uint8_t>(i);
    EXPECT_TRUE(w.add_tensor("blk." + std::to_string(i) + ".w", tensor_type::f32, {8, static_cast<uint64_t>(i + 1)},
                             [salt](uint64_t f, uint64_t k, uint8_t* d) { return fill_index(f, k, d, 32, salt); })
                    .ok());
  }
  return w;
}

TEST(GgufWriter, WritesAtomicallyAndReplaces) {
  temp_dir dir;
  std::string path = dir.path + "/m.gguf";
  writer w = model_with_tensors(3);
  ASSERT_TRUE(w.write(path).ok());
  w.set_u32("test.block_count", 99);  // set again: replaced in place
  ASSERT_TRUE(w.write(path).ok());
  int entries = 0;
  for (auto& e : fs::directory_iterator(dir.path)) (void)e, ++entries;
  EXPECT_EQ(entries, 1);
  auto f = file::open(path);
  ASSERT_TRUE(f.ok()) << f.error().to_string();
  EXPECT_EQ(*f->get_uint("test.block_count"), 99u);
  EXPECT_EQ(f->metadata().size(), 2u);
  const tensor_info* t = f->find_tensor("blk.2.w");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->size, 96u);
  for (uint64_t r = 0; r < 3; ++r) EXPECT_EQ(t->data[r * 32 + 5], static_cast<uint8_t>(r * 31 + 5 + 2));
  // The bytes on disk equal the in-memory serialization.
  auto disk = read_file(path);
  EXPECT_EQ(*disk, *w.to_bytes());
}

TEST(GgufWriter, RefusesBadTensors) {
  writer w;
  uint8_t four[4] = {};
  EXPECT_EQ(w.add_tensor("", tensor_type::f32, {1}, four).code(), error_code::invalid_argument);
  EXPECT_FALSE(w.add_tensor(std::string(64, 'x'), tensor_type::f32, {1}, four).ok());
  EXPECT_FALSE(w.add_tensor("a", tensor_type::f32, {}, four).ok());
  EXPECT_FALSE(w.add_tensor("a", tensor_type::f32, {1, 1, 1, 1, 1}, four).ok());
  EXPECT_FALSE(w.add_tensor("a", tensor_type::q4_k, {128}, four).ok());
  EXPECT_FALSE(w.add_tensor("a", tensor_type::f32, {2}, four).ok());  // 4 bytes for 8
  EXPECT_TRUE(w.add_tensor("a", tensor_type::f32, {1}, four).ok());
  EXPECT_FALSE(w.add_tensor("a", tensor_type::f32, {1}, four).ok());  // duplicate
  EXPECT_FALSE(w.set_alignment(24).ok());
  // A failing fill aborts the write and leaves nothing behind.
  temp_dir dir;
  writer bad;
  ASSERT_TRUE(bad.add_tensor("x", tensor_type::f32, {1}, [](uint64_t, uint64_t, uint8_t*) {
    return io_error("disk on fire");
  }).ok());
  status s = bad.write(dir.path + "/bad.gguf");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("disk on fire"), std::string::npos);
  EXPECT_TRUE(fs::is_empty(dir.path));
}

TEST(GgufWriter, SplitSetOpensAsOneModel) {
  temp_dir dir;
  writer w = model_with_tensors(7);
  auto paths = w.write_split(dir.path + "/m", 3);
  ASSERT_TRUE(paths.ok()) << paths.error().to_string();
  ASSERT_EQ(paths->size(), 3u);
  EXPECT_EQ((*paths)[0], dir.path + "/m-00001-of-00003.gguf");
  auto m = model_files::open((*paths)[0]);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(m->shards().size(), 3u);
  EXPECT_EQ(m->tensors().size(), 7u);
  EXPECT_EQ(*m->metadata().get_string("general.architecture"), "test");
  EXPECT_FALSE(m->shards()[1]->has("general.architecture"));  // only the first shard carries metadata
  EXPECT_EQ(*m->shards()[2]->get_uint("split.no"), 2u);
  for (const auto& s : m->shards()) EXPECT_FALSE(s->tensors().empty());
  for (int i = 0; i < 7; ++i) {
    const tensor_info* t = m->find_tensor("blk." + std::to_string(i) + ".w");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->data[3], static_cast<uint8_t>(3 + i));
  }
  // Opening a later shard is refused with a pointer to the first.
  auto later = model_files::open((*paths)[1]);
  EXPECT_EQ(later.error().code(), error_code::invalid_argument);
  // A missing shard is named.
  fs::remove((*paths)[2]);
  auto broken = model_files::open((*paths)[0]);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().message().find("m-00003-of-00003.gguf"), std::string::npos) << broken.error().message();
  EXPECT_FALSE(w.write_split(dir.path + "/x", 8).ok());  // more shards than tensors
}

TEST(GgufWriter, SplitSetsThatDisagreeAreRefused) {
  temp_dir dir;
  auto shard = [&](uint32_t no, uint32_t count, int32_t total, const char* tensor, const std::string& path) {
    writer w;
    w.set_u16("split.no", static_cast<uint16_t>(no));
    w.set_u16("split.count", static_cast<uint16_t>(count));
    w.set_i32("split.tensors.count", total);
    uint8_t b[4] = {};
    EXPECT_TRUE(w.add_tensor(tensor, tensor_type::f32, {1}, b).ok());
    EXPECT_TRUE(w.write(path).ok());
  };
  std::string p1 = dir.path + "/s-00001-of-00002.gguf", p2 = dir.path + "/s-00002-of-00002.gguf";
  shard(0, 2, 2, "a", p1);
  shard(1, 2, 2, "a", p2);
  auto dup = model_files::open(p1);
  EXPECT_NE(dup.error().message().find("tensor 'a' also appears"), std::string::npos) << dup.error().message();
  shard(0, 2, 3, "a", p1);
  shard(1, 2, 3, "b", p2);
  auto count = model_files::open(p1);
  EXPECT_NE(count.error().message().find("split.tensors.count is 3"), std::string::npos) << count.error().message();
  shard(0, 2, 2, "a", p1);
  shard(0, 2, 2, "b", p2);
  auto no = model_files::open(p1);
  EXPECT_NE(no.error().message().find("expected 1 / 2"), std::string::npos) << no.error().message();
  std::string odd = dir.path + "/renamed.gguf";
  shard(0, 2, 2, "a", odd);
  EXPECT_EQ(model_files::open(odd).error().code(), error_code::corrupt);
}

TEST(GgufWriter, ParsesSplitPaths) {
  std::string prefix;
  uint32_t idx = 0, cnt = 0;
  EXPECT_TRUE(parse_split_path("/m/DeepSeek-R1-Q4_K_M-00002-of-00009.gguf", &prefix, &idx, &cnt));
  EXPECT_EQ(prefix, "/m/DeepSeek-R1-Q4_K_M");
  EXPECT_EQ(idx, 2u);
  EXPECT_EQ(cnt, 9u);
  EXPECT_FALSE(parse_split_path("m-0001-of-00009.gguf", &prefix, &idx, &cnt));
  EXPECT_FALSE(parse_split_path("m-00001-of-00009.bin", &prefix, &idx, &cnt));
  EXPECT_FALSE(parse_split_path("m.gguf", &prefix, &idx, &cnt));
  EXPECT_EQ(writer::split_path("a/b", 1, 12), "a/b-00001-of-00012.gguf");
}

}  // namespace
}  // namespace r1::gguf
