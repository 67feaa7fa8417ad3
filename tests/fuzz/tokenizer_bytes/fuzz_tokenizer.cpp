// libFuzzer target: the tokenizer, detokenizer and reasoning splitter on bytes.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "r1/engine/reasoning_splitter.h"
#include "r1/engine/tokenizer.h"
#include "r1/engine/utf8.h"

namespace {

using namespace r1::engine;

// A small byte-level vocabulary: the 256 byte symbols, a few merges, and
// special tokens of each kind.
vocab make_vocab(const char* pre) {
  vocab v;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    int n = 0;
    for (int x = 0; x < b; ++x) n += !((x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE));
    v.tokens.push_back(utf8::encode(printable ? static_cast<char32_t>(b) : static_cast<char32_t>(0x100 + n)));
  }
  v.types.assign(256, token_type::normal);
  const char* merged[] = {"th", "the", "Ġt", "Ġth", "Ġthe", "in", "ing", "ĠĠ", "ĊĊ", "12", "123", "ä½", "ä½ł"};
  for (const char* m : merged) {
    v.tokens.push_back(m);
    v.types.push_back(token_type::normal);
  }
  v.merges = {"t h", "th e", "Ġ t", "Ġt h", "Ġth e", "i n", "in g", "Ġ Ġ", "Ċ Ċ", "1 2", "12 3", "ä ½", "ä½ ł"};
  const std::pair<const char*, token_type> specials[] = {
      {"<s>", token_type::control}, {"</s>", token_type::control}, {"<think>", token_type::user_defined},
      {"</think>", token_type::user_defined}, {"<｜User｜>", token_type::control}, {"<|im_end|>", token_type::control}};
  for (const auto& [text, type] : specials) {
    v.tokens.push_back(text);
    v.types.push_back(type);
  }
  v.pre = pre;
  v.bos = v.find("<s>");
  v.eos = v.find("</s>");
  return v;
}

const std::vector<std::unique_ptr<tokenizer>>& tokenizers() {
  static const std::vector<std::unique_ptr<tokenizer>> all = [] {
    std::vector<std::unique_ptr<tokenizer>> t;
    for (const char* pre : {"qwen2", "llama-bpe", "deepseek-v3"}) {
      auto tok = tokenizer::create(make_vocab(pre));
      if (!tok.ok()) __builtin_trap();
      t.push_back(std::move(tok).value());
    }
    return t;
  }();
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::string clean = utf8::sanitize(input);
  for (const auto& tok : tokenizers()) {
    for (bool special : {false, true}) {
      const auto ids = tok->encode(input, {.add_special = special, .parse_special = special});
      std::string text = tok->decode(ids, /*print_special=*/true);
      if (special && tok->add_bos()) text.erase(0, 3);
      if (text != clean) __builtin_trap();  // lossless for well-formed text
      detokenizer_stream stream(*tok, true);
      std::string streamed;
      for (token_id id : ids) streamed += stream.push(id);
      streamed += stream.finish();
      if (!utf8::is_valid(streamed)) __builtin_trap();
    }
  }
  reasoning_splitter splitter(size > 0 && (data[0] & 1));
  std::size_t pos = 0;
  while (pos < input.size()) {
    const std::size_t n = 1 + (static_cast<unsigned char>(input[pos]) % 7);
    splitter.push(std::string_view(input).substr(pos, n));
    pos += n;
  }
  splitter.finish();
  return 0;
}
