// The tokenizer on a small hand-built byte-level vocabulary, where every
// expected id can be worked out by hand.
#include <gtest/gtest.h>

#include <chrono>

#include "r1/engine/tokenizer.h"
#include "r1/engine/utf8.h"

namespace r1::engine {
namespace {

// GPT-2 byte alphabet, written here independently of the library.
std::string byte_char(int b) {
  const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
  if (printable) return utf8::encode(static_cast<char32_t>(b));
  int n = 0;
  for (int x = 0; x < b; ++x) {
    const bool p = (x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE);
    if (!p) ++n;
  }
  return utf8::encode(static_cast<char32_t>(0x100 + n));
}

// ids 0..255: single bytes (id == byte value); then merged tokens and specials.
struct test_vocab {
  vocab v;
  token_id id(const std::string& text) const { return v.find(text); }
};

test_vocab make_vocab(std::string pre = "qwen2") {
  test_vocab t;
  vocab& v = t.v;
  for (int b = 0; b < 256; ++b) v.tokens.push_back(byte_char(b));
  auto add = [&](std::string text, token_type type = token_type::normal) {
    v.tokens.push_back(std::move(text));
    v.types.resize(v.tokens.size() - 1, token_type::normal);
    v.types.push_back(type);
  };
  add("he");
  add("ll");
  add("hell");
  add("hello");
  add("Ġw");
  add("Ġwo");
  add("bc");
  add("ab");
  add("<s>", token_type::control);
  add("</s>", token_type::control);
  add("<|im_end|>", token_type::control);
  add("<think>", token_type::user_defined);
  add("<|x|>", token_type::control);
  add("<|x|>y", token_type::control);
  add("unused", token_type::unused);
  v.types.resize(v.tokens.size(), token_type::normal);
  v.merges = {"h e", "l l", "he ll", "hell o", "Ġ w", "Ġw o", "b c", "a b"};
  v.pre = std::move(pre);
  v.bos = v.find("<s>");
  v.eos = v.find("</s>");
  v.add_bos = true;
  return t;
}

std::unique_ptr<tokenizer> make(const test_vocab& t) {
  auto tok = tokenizer::create(t.v);
  EXPECT_TRUE(tok.ok()) << tok.error().to_string();
  return std::move(tok).value();
}

TEST(tokenizer, merges_apply_by_rank) {
  const test_vocab t = make_vocab();
  auto tok = make(t);
  EXPECT_EQ(tok->encode("hello"), std::vector<token_id>{t.id("hello")});
  // "b c" has a lower rank than "a b", so "abc" becomes a + bc.
  EXPECT_EQ(tok->encode("abc"), (std::vector<token_id>{'a', t.id("bc")}));
  EXPECT_EQ(tok->encode("ab"), std::vector<token_id>{t.id("ab")});
  // The pre-tokenizer splits " wow" as one word; "Ġ w" then "Ġw o" apply.
  EXPECT_EQ(tok->encode("hello wow"), (std::vector<token_id>{t.id("hello"), t.id("Ġwo"), 'w'}));
}

TEST(tokenizer, bytes_outside_the_merges_map_to_byte_tokens) {
  const test_vocab t = make_vocab();
  auto tok = make(t);
  const std::string euro = "€";  // E2 82 AC
  EXPECT_EQ(tok->encode(euro), (std::vector<token_id>{0xE2, 0x82, 0xAC}));
  EXPECT_EQ(tok->encode("\n"), std::vector<token_id>{'\n'});
}

TEST(tokenizer, special_tokens_only_with_parse_special_but_user_defined_always) {
  const test_vocab t = make_vocab();
  auto tok = make(t);
  const auto plain = tok->encode("a<|im_end|>");
  EXPECT_GT(plain.size(), 2u);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), t.id("<|im_end|>")), 0);
  EXPECT_EQ(tok->encode("a<|im_end|>", {.parse_special = true}), (std::vector<token_id>{'a', t.id("<|im_end|>")}));
  EXPECT_EQ(tok->encode("<think>a"), (std::vector<token_id>{t.id("<think>"), 'a'}));
  // Longest match first: "<|x|>y" beats "<|x|>".
  EXPECT_EQ(tok->encode("<|x|>y<|x|>", {.parse_special = true}), (std::vector<token_id>{t.id("<|x|>y"), t.id("<|x|>")}));
}

TEST(tokenizer, bos_added_with_add_special) {
  const test_vocab t = make_vocab();
  auto tok = make(t);
  EXPECT_EQ(tok->encode("ab", {.add_special = true}), (std::vector<token_id>{t.id("<s>"), t.id("ab")}));
  EXPECT_EQ(tok->encode("", {.add_special = true}), std::vector<token_id>{t.id("<s>")});
  EXPECT_TRUE(tok->encode("").empty());
}

TEST(tokenizer, rendered_prompt_gets_exactly_one_bos) {
  const test_vocab t = make_vocab();
  auto tok = make(t);
  const auto ids = encode_rendered_prompt("<s>hello</s>", *tok);
  EXPECT_EQ(ids, (std::vector<token_id>{t.id("<s>"), t.id("hello")}));
  EXPECT_EQ(encode_rendered_prompt("hello", *tok), (std::vector<token_id>{t.id("<s>"), t.id("hello")}));
  EXPECT_EQ(strip_template_specials("<s><s>x", *tok), "<s>x");  // only one is ours to remove
  test_vocab no_bos = make_vocab();
  no_bos.v.add_bos = false;
  auto tok2 = make(no_bos);
  EXPECT_EQ(strip_template_specials("<s>x</s>", *tok2), "<s>x</s>");
  EXPECT_EQ(encode_rendered_prompt("<s>x", *tok2), (std::vector<token_id>{t.id("<s>"), 'x'}));
}

TEST(tokenizer, decode_hides_control_tokens_unless_asked) {
  const test_vocab t = make_vocab();
  auto tok = make(t);
  const std::vector<token_id> ids = {t.id("<s>"), t.id("hello"), t.id("Ġwo"), t.id("<think>"), t.id("unused")};
  EXPECT_EQ(tok->decode(ids), "hello wo<think>");
  EXPECT_EQ(tok->decode(ids, true), "<s>hello wo<think>");
  EXPECT_EQ(tok->token_piece(-1), "");
  EXPECT_EQ(tok->token_piece(100000), "");
}

TEST(tokenizer, detokenizer_stream_holds_back_split_characters) {
  const test_vocab t = make_vocab();
  auto tok = make(t);
  detokenizer_stream s(*tok);
  EXPECT_EQ(s.push('a'), "a");
  EXPECT_EQ(s.push(0xE2), "");
  EXPECT_EQ(s.push(0x82), "");
  EXPECT_EQ(s.push(0xAC), "€");
  EXPECT_EQ(s.push(0xF0), "");
  EXPECT_EQ(s.finish(), "\xEF\xBF\xBD");  // cut short at the end: one replacement character
}

TEST(tokenizer, ill_formed_input_is_tokenized_as_replacement_characters) {
  const test_vocab t = make_vocab();
  auto tok = make(t);
  EXPECT_EQ(tok->encode("a\xFF" "b"), tok->encode("a\xEF\xBF\xBD" "b"));
  EXPECT_EQ(tok->decode(tok->encode("x\xC3")), "x\xEF\xBF\xBD");
}

TEST(tokenizer, llama3_emits_whole_words_that_are_tokens) {
  // With ignore_merges a word in the vocab is one token even without a merge path.
  test_vocab t = make_vocab("llama-bpe");
  t.v.tokens.push_back("xyz");
  t.v.types.push_back(token_type::normal);
  auto tok = make(t);
  EXPECT_EQ(tok->encode("xyz"), std::vector<token_id>{t.id("xyz")});
  auto qwen = make(make_vocab());
  EXPECT_EQ(qwen->encode("xyz"), (std::vector<token_id>{'x', 'y', 'z'}));
}

TEST(tokenizer, digits_split_per_pre_tokenizer) {
  // With a "1 2" merge, qwen2 (one digit per word) cannot merge, llama-bpe
  // (up to three digits per word) and deepseek-v3 can.
  auto with_12 = [](const char* pre) {
    test_vocab t = make_vocab(pre);
    t.v.tokens.push_back("12");
    t.v.types.push_back(token_type::normal);
    t.v.merges.push_back("1 2");
    return t;
  };
  const test_vocab q = with_12("qwen2"), l = with_12("llama-bpe"), d = with_12("deepseek-v3");
  EXPECT_EQ(make(q)->encode("12"), (std::vector<token_id>{'1', '2'}));
  EXPECT_EQ(make(l)->encode("12"), std::vector<token_id>{l.id("12")});
  EXPECT_EQ(make(d)->encode("12"), std::vector<token_id>{d.id("12")});
  // Groups of three: "1212" is "121" + "2" for llama-bpe, so only one merge applies.
  EXPECT_EQ(make(l)->encode("1212"), (std::vector<token_id>{l.id("12"), '1', '2'}));
}

TEST(tokenizer, pathological_inputs_stay_linear) {
  // Long runs that stress the split regexes and the BPE heap; each must be fast.
  const std::vector<std::string> inputs = {
      std::string(200000, ' ') + "x", std::string(200000, '\n'), std::string(200000, 'a'),
      [] { std::string s; for (int i = 0; i < 50000; ++i) s += " \n\t"; return s; }(),
      [] { std::string s; for (int i = 0; i < 50000; ++i) s += "'s1"; return s; }(),
      [] { std::string s; for (int i = 0; i < 40000; ++i) s += "<|x|"; return s; }(),
      std::string(100000, '\xE4'),
  };
  for (const char* pre : {"qwen2", "llama-bpe", "deepseek-v3"}) {
    auto tok = make(make_vocab(pre));
    for (const std::string& in : inputs) {
      const auto t0 = std::chrono::steady_clock::now();
      const auto ids = tok->encode(in, {.parse_special = true});
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      EXPECT_FALSE(ids.empty());
      EXPECT_LT(secs, 5.0) << pre << " input of " << in.size() << " bytes";
      EXPECT_EQ(tok->decode(ids, true), utf8::sanitize(in));
    }
  }
}

TEST(vocab, end_of_generation_set) {
  test_vocab t = make_vocab();
  ASSERT_TRUE(t.v.finalize().ok());
  EXPECT_TRUE(t.v.is_eog(t.id("</s>")));
  EXPECT_TRUE(t.v.is_eog(t.id("<|im_end|>")));  // by its text
  EXPECT_FALSE(t.v.is_eog(t.id("<s>")));
  EXPECT_FALSE(t.v.is_eog(t.id("hello")));
}

TEST(vocab, finalize_rejects_inconsistent_vocabularies) {
  test_vocab t = make_vocab();
  t.v.types.pop_back();
  EXPECT_EQ(t.v.finalize().code(), error_code::corrupt);
  t = make_vocab();
  t.v.bos = 999999;
  EXPECT_EQ(t.v.finalize().code(), error_code::corrupt);
  t = make_vocab();
  t.v.pre = "gpt-4o";
  EXPECT_EQ(t.v.finalize().code(), error_code::invalid_argument);
  t = make_vocab();
  t.v.merges.push_back("nospace");
  EXPECT_EQ(tokenizer::create(t.v).error().code(), error_code::corrupt);
  EXPECT_EQ(vocab().finalize().code(), error_code::corrupt);
}

TEST(vocab, from_tokenizer_json) {
  const std::string json = R"({
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "Ġ": 3},
              "merges": [["a", "b"]]},
    "added_tokens": [{"id": 4, "content": "<|end|>", "special": false},
                     {"id": 5, "content": "<think>", "special": false},
                     {"id": 6, "content": "[BOS]", "special": true}],
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
      {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}},
      {"type": "ByteLevel"}]}
  })";
  auto v = vocab_from_tokenizer_json(json, R"({"bos_token": {"content": "[BOS]"}, "add_bos_token": true,
                                               "eos_token": "<|end|>", "chat_template": "{{ x }}"})");
  ASSERT_TRUE(v.ok()) << v.error().to_string();
  EXPECT_EQ(v->pre, "qwen2");
  EXPECT_EQ(v->tokens.size(), 7u);
  EXPECT_EQ(v->types[4], token_type::control);       // looks special
  EXPECT_EQ(v->types[5], token_type::user_defined);  // plain added token
  EXPECT_EQ(v->types[6], token_type::control);       // HF special
  EXPECT_EQ(v->merges, std::vector<std::string>{"a b"});
  EXPECT_EQ(v->bos, 6);
  EXPECT_EQ(v->eos, 4);
  EXPECT_TRUE(v->add_bos.value());
  EXPECT_EQ(v->chat_template, "{{ x }}");
  auto tok = tokenizer::create(std::move(v).value());
  ASSERT_TRUE(tok.ok());
  EXPECT_EQ((*tok)->encode("ab", {.add_special = true}), (std::vector<token_id>{6, 2}));

  EXPECT_EQ(vocab_from_tokenizer_json("{").error().code(), error_code::corrupt);
  EXPECT_EQ(vocab_from_tokenizer_json(R"({"model": {"vocab": []}})").error().code(), error_code::corrupt);
  EXPECT_EQ(vocab_from_tokenizer_json(R"({"model": {"vocab": {"a": "x"}, "merges": []}})").error().code(),
            error_code::corrupt);
  EXPECT_EQ(vocab_from_tokenizer_json(R"({"model": {"vocab": {"a": 0}, "merges": [1]}})").error().code(),
            error_code::corrupt);
  // Unknown splitter: refused rather than silently degraded.
  EXPECT_EQ(vocab_from_tokenizer_json(R"({"model": {"vocab": {"a": 0}, "merges": []}})").error().code(),
            error_code::corrupt);
}

}  // namespace
}  // namespace r1::engine
