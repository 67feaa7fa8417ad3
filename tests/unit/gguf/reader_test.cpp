// The GGUF reader against valid files from the writer and hostile files built
// byte by byte: every failure must be a corrupt status naming the problem.
#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "r1/gguf/file.h"
#include "r1/gguf/writer.h"
#include "raw_gguf.h"

namespace r1::gguf {
namespace {

using testing::as_span;
using testing::raw_gguf;

result<file> parse(const raw_gguf& r) { return file::open_memory(r.span(), "t.gguf"); }

void expect_corrupt(const raw_gguf& r, std::string_view needle) {
  auto f = parse(r);
  ASSERT_FALSE(f.ok()) << "accepted a bad file, expected: " << needle;
  EXPECT_EQ(f.error().code(), error_code::corrupt) << f.error().to_string();
  EXPECT_NE(f.error().message().find(needle), std::string::npos) << f.error().message();
}

writer every_value_type() {
  writer w;
  w.set_u8("v.u8", 200);
  w.set_i8("v.i8", -100);
  w.set_u16("v.u16", 60000);
  w.set_i16("v.i16", -30000);
  w.set_u32("v.u32", 4000000000u);
  w.set_i32("v.i32", -2000000000);
  w.set_f32("v.f32", 1.5f);
  w.set_bool("v.bool", true);
  w.set_string("v.string", "h\xc3\xa9llo");
  w.set_u64("v.u64", 18000000000000000000ull);
  w.set_i64("v.i64", -9000000000000000000ll);
  w.set_f64("v.f64", -2.25);
  std::vector<std::string> strs{"a", "", "long string with spaces"};
  w.set_string_array("a.string", strs);
  std::vector<int32_t> i32s{-1, 0, 7};
  w.set_i32_array("a.i32", i32s);
  std::vector<uint32_t> u32s{1, 2, 3, 4};
  w.set_u32_array("a.u32", u32s);
  std::vector<float> f32s{0.5f, -1.0f};
  w.set_f32_array("a.f32", f32s);
  const uint8_t bools[] = {1, 0, 1};
  w.set_array_raw("a.bool", value_type::boolean, 3, bools);
  const int64_t i64s[] = {-5, 1ll << 40};
  w.set_array_raw("a.i64", value_type::i64, 2, {reinterpret_cast<const uint8_t*>(i64s), sizeof i64s});
  const double f64s[] = {3.25};
  w.set_array_raw("a.f64", value_type::f64, 1, {reinterpret_cast<const uint8_t*>(f64s), sizeof f64s});
  const uint16_t u16s[] = {1, 65535};
  w.set_array_raw("a.u16", value_type::u16, 2, {reinterpret_cast<const uint8_t*>(u16s), sizeof u16s});
  w.set_array_raw("a.empty", value_type::u8, 0, {});
  return w;
}

TEST(GgufReader, RoundTripsEveryValueType) {
  writer w = every_value_type();
  auto bytes = w.to_bytes();
  ASSERT_TRUE(bytes.ok());
  auto f = file::open_memory(as_span(*bytes));
  ASSERT_TRUE(f.ok()) << f.error().to_string();
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->metadata().size(), 21u);
  EXPECT_EQ(*f->get_uint("v.u8"), 200u);
  EXPECT_EQ(*f->get_int("v.i8"), -100);
  EXPECT_EQ(*f->get_uint("v.u16"), 60000u);
  EXPECT_EQ(*f->get_int("v.i16"), -30000);
  EXPECT_EQ(*f->get_uint("v.u32"), 4000000000u);
  EXPECT_EQ(*f->get_int("v.i32"), -2000000000);
  EXPECT_EQ(*f->get_float("v.f32"), 1.5);
  EXPECT_EQ(*f->get_bool("v.bool"), true);
  EXPECT_EQ(*f->get_string("v.string"), "h\xc3\xa9llo");
  EXPECT_EQ(*f->get_uint("v.u64"), 18000000000000000000ull);
  EXPECT_EQ(*f->get_int("v.i64"), -9000000000000000000ll);
  EXPECT_EQ(*f->get_float("v.f64"), -2.25);
  auto s = f->get_string_array("a.string");
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->size(), 3u);
  EXPECT_EQ((*s)[0], "a");
  EXPECT_EQ((*s)[1], "");
  EXPECT_EQ((*s)[2], "long string with spaces");
  EXPECT_EQ(*f->get_int_array("a.i32"), (std::vector<int64_t>{-1, 0, 7}));
  EXPECT_EQ(*f->get_int_array("a.u32"), (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(*f->get_int_array("a.i64"), (std::vector<int64_t>{-5, 1ll << 40}));
  EXPECT_EQ(*f->get_int_array("a.u16"), (std::vector<int64_t>{1, 65535}));
  EXPECT_EQ(*f->get_float_array("a.f32"), (std::vector<double>{0.5, -1.0}));
  EXPECT_EQ(*f->get_float_array("a.f64"), (std::vector<double>{3.25}));
  const kv* b = f->find("a.bool");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->elem_type, value_type::boolean);
  EXPECT_EQ(b->count, 3u);
  EXPECT_EQ(b->raw[0], 1);
  EXPECT_EQ(b->raw[1], 0);
  EXPECT_TRUE(f->get_int_array("a.empty")->empty());
  // Insertion order is kept.
  EXPECT_EQ(f->metadata()[0].key, "v.u8");
  EXPECT_EQ(f->metadata().back().key, "a.empty");
}

TEST(GgufReader, GettersNameKeyAndTypes) {
  auto bytes = every_value_type().to_bytes();
  auto f = file::open_memory(as_span(*bytes), "m.gguf");
  ASSERT_TRUE(f.ok());
  auto missing = f->get_uint("nope");
  EXPECT_EQ(missing.error().code(), error_code::not_found);
  EXPECT_NE(missing.error().message().find("'nope'"), std::string::npos);
  EXPECT_EQ(*f->get_uint_or("nope", 9), 9u);
  auto wrong = f->get_uint("v.string");
  EXPECT_EQ(wrong.error().code(), error_code::corrupt);
  EXPECT_NE(wrong.error().message().find("'v.string' has type string"), std::string::npos) << wrong.error().message();
  EXPECT_FALSE(f->get_uint("v.i8").ok());  // negative
  EXPECT_FALSE(f->get_int("v.u64").ok());  // does not fit int64
  EXPECT_FALSE(f->get_bool("v.u8").ok());
  EXPECT_FALSE(f->get_string_array("a.i32").ok());
  EXPECT_FALSE(f->get_int_array("a.string").ok());
  EXPECT_FALSE(f->get_int_array("v.u32").ok());  // scalar, not an array
  EXPECT_EQ(*f->get_float("v.i32"), -2000000000.0);  // integers convert to float
  EXPECT_EQ(f->get_uint_or("v.string", 1).error().code(), error_code::corrupt);  // present but wrong: no fallback
}

std::vector<uint8_t> f32_bytes(std::initializer_list<float> v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), std::data(v), b.size());
  return b;
}

TEST(GgufReader, TensorsRoundTripWithAlignment) {
  for (uint32_t align : {32u, 64u, 1u}) {
    writer w;
    if (align != 32) {
      ASSERT_TRUE(w.set_alignment(align).ok());
    }
    auto a = f32_bytes({1, 2, 3});
    ASSERT_TRUE(w.add_tensor("a", tensor_type::f32, {3}, a).ok());
    std::vector<uint8_t> q(34 * 2);
    for (size_t i = 0; i < q.size(); ++i) q[i] = static_cast<uint8_t>(i * 7);
    ASSERT_TRUE(w.add_tensor("q", tensor_type::q8_0, {32, 2}, q).ok());
    ASSERT_TRUE(w.add_tensor("f", tensor_type::f16, {4, 3, 2},
                             [](uint64_t first, uint64_t n, uint8_t* dst) {
                               for (uint64_t r = 0; r < n; ++r) std::memset(dst + r * 8, static_cast<int>(first + r + 1), 8);
                               return ok_status();
                             }).ok());
    auto bytes = w.to_bytes();
    ASSERT_TRUE(bytes.ok());
    auto f = file::open_memory(as_span(*bytes));
    ASSERT_TRUE(f.ok()) << f.error().to_string();
    EXPECT_EQ(f->alignment(), align);
    EXPECT_EQ(f->data_offset() % align, 0u);
    ASSERT_EQ(f->tensors().size(), 3u);
    const tensor_info* ta = f->find_tensor("a");
    ASSERT_NE(ta, nullptr);
    EXPECT_EQ(ta->size, 12u);
    EXPECT_EQ(std::memcmp(ta->data, a.data(), 12), 0);
    const tensor_info* tq = f->find_tensor("q");
    EXPECT_EQ(tq->type, tensor_type::q8_0);
    EXPECT_EQ(tq->offset % align, 0u);
    EXPECT_EQ(tq->size, 68u);
    EXPECT_EQ(tq->row_size(), 34u);
    EXPECT_EQ(std::memcmp(tq->data, q.data(), q.size()), 0);
    const tensor_info* tf = f->find_tensor("f");
    EXPECT_EQ(tf->n_dims, 3u);
    EXPECT_EQ(tf->n_elements(), 24u);
    EXPECT_EQ(tf->shape_string(), "[4, 3, 2]");
    for (uint64_t r = 0; r < 6; ++r) EXPECT_EQ(tf->data[r * 8 + 7], r + 1);
    EXPECT_EQ(f->find_tensor("zzz"), nullptr);
  }
}

TEST(GgufReader, AcceptsVersion2AndEmptyFile) {
  raw_gguf r;
  r.header(0, 1, 2).kv_u32("x", 1);
  auto f = parse(r);
  ASSERT_TRUE(f.ok()) << f.error().to_string();
  EXPECT_EQ(f->version(), 2u);
  EXPECT_TRUE(f->tensors().empty());
}

TEST(GgufReader, RejectsTruncationAtEveryByte) {
  writer w = every_value_type();
  ASSERT_TRUE(w.add_tensor("t", tensor_type::f32, {5}, f32_bytes({1, 2, 3, 4, 5})).ok());
  auto bytes = w.to_bytes();
  ASSERT_TRUE(bytes.ok());
  ASSERT_TRUE(file::open_memory(as_span(*bytes)).ok());
  // The last 12 bytes are padding after the only tensor's 20 data bytes: still valid there.
  size_t data_end = bytes->size() - 12;
  for (size_t n = 0; n < data_end; ++n) {
    auto f = file::open_memory(as_span(*bytes).first(n));
    ASSERT_FALSE(f.ok()) << "accepted a file cut at " << n << " of " << bytes->size();
    ASSERT_EQ(f.error().code(), error_code::corrupt) << f.error().to_string();
  }
}

TEST(GgufReader, RejectsBadHeaders) {
  expect_corrupt(raw_gguf().u32(0x46554748).u32(3).u64(0).u64(0), "bad magic");
  expect_corrupt(raw_gguf().header(0, 0, 1), "unsupported GGUF version 1");
  expect_corrupt(raw_gguf().header(0, 0, 4), "unsupported GGUF version 4");
  expect_corrupt(raw_gguf().header(0, 0, 0x03000000), "byte-swapped");
  expect_corrupt(raw_gguf().header(0, 1ull << 60), "metadata count");
  expect_corrupt(raw_gguf().header(1ull << 60, 0), "tensor count");
  expect_corrupt(raw_gguf().header(0, 1000).zeros(100), "metadata count 1000 cannot fit in the 100 bytes left");
  expect_corrupt(raw_gguf().header(10, 0).zeros(100), "tensor count 10 cannot fit");
  expect_corrupt(raw_gguf().header(0, (1ull << 20) + 1), "exceeds 2^20");
  expect_corrupt(raw_gguf().header((1ull << 20) + 1, 0), "exceeds 2^20");
  expect_corrupt(raw_gguf().u32(0x46554747), "truncated version");
}

TEST(GgufReader, RejectsHostileMetadata) {
  expect_corrupt(raw_gguf().header(0, 1).u64(1000).zeros(16), "string length 1000 exceeds the 16 bytes left");
  expect_corrupt(raw_gguf().header(0, 1).u64((1ull << 30) + 1).zeros(64), "exceeds 2^30");
  expect_corrupt(raw_gguf().header(0, 1).str("k").u32(13).u32(0), "unknown value type 13");
  expect_corrupt(raw_gguf().header(0, 1).str("k").u32(7).u8(2), "bool value is not 0 or 1");
  expect_corrupt(raw_gguf().header(0, 1).str("k").u32(8).u64(100).zeros(10), "'k': string length 100");
  expect_corrupt(raw_gguf().header(0, 1).str("k").u32(9).u32(9).u64(1), "arrays of arrays");
  expect_corrupt(raw_gguf().header(0, 1).str("k").u32(9).u32(77).u64(1), "unknown array element type 77");
  expect_corrupt(raw_gguf().header(0, 1).str("k").u32(9).u32(4).u64(1000).zeros(16), "does not fit");
  expect_corrupt(raw_gguf().header(0, 1).str("k").u32(9).u32(4).u64(1ull << 31), "exceeds 2^30");
  expect_corrupt(raw_gguf().header(0, 1).str("k").u32(9).u32(8).u64(1ull << 29).zeros(64), "strings does not fit");
  expect_corrupt(raw_gguf().header(0, 1).str("k").u32(9).u32(8).u64(2).str("a").u64(5), "'k'[1]: string length 5");
  expect_corrupt(raw_gguf().header(0, 1).str("k").u32(9).u32(7).u64(2).u8(1).u8(3), "'k'[1]: bool");
  expect_corrupt(raw_gguf().header(0, 2).kv_u32("dup", 1).kv_u32("dup", 2), "duplicate key 'dup'");
}

TEST(GgufReader, ChecksAlignmentKey) {
  expect_corrupt(raw_gguf().header(0, 1).kv_u32("general.alignment", 48), "not a power of two");
  expect_corrupt(raw_gguf().header(0, 1).kv_u32("general.alignment", 0), "not a power of two");
  expect_corrupt(raw_gguf().header(0, 1).str("general.alignment").u32(10).u64(32), "expected u32");
  raw_gguf ok;
  ok.header(1, 1).kv_u32("general.alignment", 64).tensor("t", {4}, 0, 0).pad(64).zeros(16);
  auto f = parse(ok);
  ASSERT_TRUE(f.ok()) << f.error().to_string();
  EXPECT_EQ(f->data_offset() % 64, 0u);
  EXPECT_EQ(f->alignment(), 64u);
}

TEST(GgufReader, RejectsHostileTensorInfos) {
  auto one = [](std::vector<uint64_t> ne, uint32_t type, uint64_t offset = 0, std::string name = "w") {
    raw_gguf r;
    r.header(1, 0).tensor(name, std::move(ne), type, offset).pad().zeros(64);
    return r;
  };
  expect_corrupt(one({}, 0), "n_dims 0");
  expect_corrupt(one({1, 1, 1, 1, 1}, 0), "n_dims 5");
  expect_corrupt(one({4}, 4), "unknown or retired tensor type 4");
  expect_corrupt(one({4}, 31), "retired tensor type 31");
  expect_corrupt(one({4}, 1000), "tensor type 1000");
  expect_corrupt(one({1ull << 63}, 0), "dimension 0 is negative");
  expect_corrupt(one({1ull << 32, 1ull << 32, 1ull << 32}, 0), "overflows");
  expect_corrupt(one({1ull << 40, 1ull << 22}, 0), "byte size");
  expect_corrupt(one({33}, 8), "not a multiple of the Q8_0 block size 32");
  expect_corrupt(one({4}, 0, 32), "offset 32 is not the expected 0");
  expect_corrupt(one({1000}, 0), "runs past the end of the file");
  expect_corrupt(one({4}, 0, 0, std::string(64, 'n')), "longer than 63");
  raw_gguf dup;
  dup.header(2, 0).tensor("w", {4}, 0, 0).tensor("w", {4}, 0, 32).pad().zeros(64);
  expect_corrupt(dup, "duplicate tensor name 'w'");
  raw_gguf order;
  order.header(2, 0).tensor("a", {4}, 0, 32).tensor("b", {4}, 0, 0).pad().zeros(64);
  expect_corrupt(order, "tensor 'a': offset 32");
  raw_gguf nodata;  // tensor infos end exactly at EOF: the padded data start lies beyond it
  nodata.header(1, 0).tensor("a", {4}, 0, 0).u8(0);
  expect_corrupt(nodata, "past the end of the file");
}

TEST(GgufReader, AcceptsZeroSizedTensorsAndNamesErrorsWithPath) {
  raw_gguf r;
  r.header(2, 0).tensor("empty", {0, 4}, 0, 0).tensor("one", {1}, 0, 0).pad().zeros(4);
  auto f = parse(r);
  ASSERT_TRUE(f.ok()) << f.error().to_string();
  EXPECT_EQ(f->find_tensor("empty")->size, 0u);
  EXPECT_EQ(f->find_tensor("empty")->data, nullptr);
  auto bad = file::open_memory(raw_gguf().u32(1).span(), "some/where.gguf");
  EXPECT_NE(bad.error().message().find("some/where.gguf"), std::string::npos);
  auto missing = file::open("/nonexistent/r1/model.gguf");
  EXPECT_EQ(missing.error().code(), error_code::not_found);
}

}  // namespace
}  // namespace r1::gguf
