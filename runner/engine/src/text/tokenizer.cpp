#include "r1/engine/tokenizer.h"

#include <algorithm>
#include <array>
#include <mutex>
#include <queue>
#include <unordered_map>

#include "pre_tokenizer.h"

namespace r1::engine {
namespace {

// GPT-2 bytes_to_unicode: printable bytes map to themselves, the other 68
// (0x00-0x20, 0x7F-0xA0, 0xAD) to U+0100 + n in increasing byte order.
std::array<char32_t, 256> byte_to_cp_table() {
  std::array<char32_t, 256> t{};
  char32_t n = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    t[b] = printable ? static_cast<char32_t>(b) : 0x100 + n++;
  }
  return t;
}

std::uint64_t pair_key(token_id a, token_id b) {
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) | static_cast<std::uint32_t>(b);
}

struct merge_info {
  std::int32_t rank;
  token_id merged;
};

constexpr std::size_t word_cache_limit = 1 << 16;

}  // namespace

struct tokenizer::impl {
  engine::vocab v;
  pre_tokenizer_kind kind = pre_tokenizer_kind::qwen2;
  std::unique_ptr<detail::pre_tokenizer> pre;
  std::unordered_map<std::string, token_id> token_to_id;
  std::unordered_map<std::uint64_t, merge_info> merges;
  std::array<token_id, 256> byte_token{};
  std::array<std::string, 256> byte_text{};  // byte-mapped form of each byte
  std::vector<std::string> pieces;           // decoded bytes per token
  const std::string empty;
  // Special-token candidates keyed by first byte, longest first.
  std::array<std::vector<token_id>, 256> specials_by_byte;
  mutable std::mutex cache_mu;
  mutable std::unordered_map<std::string, std::vector<token_id>> word_cache;

  status build();
  void build_pieces(const std::array<char32_t, 256>& b2c);
  status build_merges();
  void build_specials();
  void encode_fragment(std::string_view text, std::vector<token_id>& out) const;
  void encode_word(std::string_view word, std::vector<token_id>& out) const;
  void bpe(std::string_view word, std::vector<token_id>& out) const;
};

status tokenizer::impl::build() {
  R1_RETURN_IF_ERROR(v.finalize());
  R1_ASSIGN_OR_RETURN(kind, pre_tokenizer_from_name(v.pre));
  R1_ASSIGN_OR_RETURN(pre, detail::pre_tokenizer::create(kind));
  token_to_id.reserve(v.tokens.size());
  for (std::size_t i = 0; i < v.tokens.size(); ++i) {
    if (v.types[i] == token_type::unused && v.tokens[i].empty()) continue;
    token_to_id.emplace(v.tokens[i], static_cast<token_id>(i));
  }
  const auto b2c = byte_to_cp_table();
  for (int b = 0; b < 256; ++b) {
    byte_text[b] = utf8::encode(b2c[b]);
    const auto it = token_to_id.find(byte_text[b]);
    byte_token[b] = it == token_to_id.end() ? no_token : it->second;
  }
  build_pieces(b2c);
  R1_RETURN_IF_ERROR(build_merges());
  build_specials();
  return ok_status();
}

void tokenizer::impl::build_pieces(const std::array<char32_t, 256>& b2c) {
  std::unordered_map<char32_t, unsigned char> c2b;
  for (int b = 0; b < 256; ++b) c2b.emplace(b2c[b], static_cast<unsigned char>(b));
  pieces.resize(v.tokens.size());
  for (std::size_t i = 0; i < v.tokens.size(); ++i) {
    if (v.types[i] != token_type::normal) {
      pieces[i] = v.types[i] == token_type::unused ? std::string() : v.tokens[i];
      continue;
    }
    std::string bytes;
    const std::string& t = v.tokens[i];
    std::size_t pos = 0;
    while (pos < t.size()) {
      char32_t cp = 0;
      const std::size_t n = utf8::decode(t, pos, &cp);
      const auto it = c2b.find(cp);
      if (it != c2b.end()) {
        bytes.push_back(static_cast<char>(it->second));
      } else {
        bytes.append(t, pos, n);  // not in the byte alphabet: keep as written
      }
      pos += n;
    }
    pieces[i] = std::move(bytes);
  }
}

status tokenizer::impl::build_merges() {
  merges.reserve(v.merges.size());
  for (std::size_t rank = 0; rank < v.merges.size(); ++rank) {
    const std::string& m = v.merges[rank];
    // Split at the first space after index 0 so a left side that is itself a
    // space-like symbol still parses.
    const std::size_t sp = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
    if (sp == std::string::npos) return corrupt("vocab: merge " + std::to_string(rank) + " has no space: '" + m + "'");
    const std::string left = m.substr(0, sp), right = m.substr(sp + 1);
    const auto l = token_to_id.find(left), r = token_to_id.find(right), both = token_to_id.find(left + right);
    if (l == token_to_id.end() || r == token_to_id.end() || both == token_to_id.end()) continue;  // can never apply
    merges.emplace(pair_key(l->second, r->second), merge_info{static_cast<std::int32_t>(rank), both->second});
  }
  return ok_status();
}

void tokenizer::impl::build_specials() {
  for (std::size_t i = 0; i < v.tokens.size(); ++i) {
    const token_type t = v.types[i];
    if (v.tokens[i].empty()) continue;
    if (t != token_type::control && t != token_type::user_defined && t != token_type::unknown) continue;
    specials_by_byte[static_cast<unsigned char>(v.tokens[i][0])].push_back(static_cast<token_id>(i));
  }
  for (auto& list : specials_by_byte) {
    std::stable_sort(list.begin(), list.end(),
                     [&](token_id a, token_id b) { return v.tokens[a].size() > v.tokens[b].size(); });
  }
}

void tokenizer::impl::bpe(std::string_view word, std::vector<token_id>& out) const {
  struct symbol {
    token_id id;
    int prev, next;
  };
  struct candidate {
    std::int32_t rank;
    int left;
    token_id left_id, right_id;
    bool operator>(const candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  std::vector<symbol> syms;
  syms.reserve(word.size());
  for (char c : word) {
    const token_id id = byte_token[static_cast<unsigned char>(c)];
    if (id == no_token) continue;  // the vocab has no token for this byte: drop it
    const int n = static_cast<int>(syms.size());
    syms.push_back({id, n - 1, n + 1});
  }
  if (syms.empty()) return;
  syms.back().next = -1;
  std::priority_queue<candidate, std::vector<candidate>, std::greater<>> heap;
  auto try_push = [&](int left) {
    if (left < 0 || syms[left].next < 0) return;
    const auto it = merges.find(pair_key(syms[left].id, syms[syms[left].next].id));
    if (it != merges.end()) heap.push({it->second.rank, left, syms[left].id, syms[syms[left].next].id});
  };
  for (int i = 0; i + 1 < static_cast<int>(syms.size()); ++i) try_push(i);
  while (!heap.empty()) {
    const candidate c = heap.top();
    heap.pop();
    symbol& l = syms[c.left];
    if (l.id != c.left_id || l.next < 0 || syms[l.next].id != c.right_id) continue;  // stale
    const int right = l.next;
    l.id = merges.at(pair_key(c.left_id, c.right_id)).merged;
    l.next = syms[right].next;
    if (l.next >= 0) syms[l.next].prev = c.left;
    syms[right].id = no_token;  // dead
    try_push(l.prev);
    try_push(c.left);
  }
  for (int i = 0; i >= 0; i = syms[i].next) out.push_back(syms[i].id);
}

void tokenizer::impl::encode_word(std::string_view word, std::vector<token_id>& out) const {
  if (kind == pre_tokenizer_kind::llama3) {
    // ignore_merges: a word that is itself a token is emitted whole.
    std::string mapped;
    for (char c : word) mapped += byte_text[static_cast<unsigned char>(c)];
    const auto it = token_to_id.find(mapped);
    if (it != token_to_id.end()) {
      out.push_back(it->second);
      return;
    }
  }
  std::string key(word);
  {
    std::lock_guard<std::mutex> lock(cache_mu);
    const auto it = word_cache.find(key);
    if (it != word_cache.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<token_id> ids;
  bpe(word, ids);
  out.insert(out.end(), ids.begin(), ids.end());
  std::lock_guard<std::mutex> lock(cache_mu);
  if (word_cache.size() >= word_cache_limit) word_cache.clear();
  word_cache.emplace(std::move(key), std::move(ids));
}

void tokenizer::impl::encode_fragment(std::string_view text, std::vector<token_id>& out) const {
  if (text.empty()) return;
  std::vector<std::string_view> words;
  pre->split(text, words);
  for (std::string_view w : words) encode_word(w, out);
}

tokenizer::tokenizer() : impl_(std::make_unique<impl>()) {}
tokenizer::~tokenizer() = default;

result<std::unique_ptr<tokenizer>> tokenizer::create(engine::vocab v) {
  std::unique_ptr<tokenizer> t(new tokenizer());
  t->impl_->v = std::move(v);
  R1_RETURN_IF_ERROR(t->impl_->build());
  return t;
}

std::vector<token_id> tokenizer::encode(std::string_view raw, encode_options options) const {
  const impl& m = *impl_;
  const std::string text = utf8::sanitize(raw);
  std::vector<token_id> out;
  out.reserve(text.size() / 3 + 2);
  if (options.add_special && m.v.add_bos.value_or(false) && m.v.bos != no_token) out.push_back(m.v.bos);
  // Leftmost-longest scan for special tokens; text between them is BPE'd.
  std::size_t start = 0, pos = 0;
  while (pos < text.size()) {
    token_id hit = no_token;
    for (token_id id : m.specials_by_byte[static_cast<unsigned char>(text[pos])]) {
      const token_type t = m.v.types[id];
      if (!options.parse_special && t != token_type::user_defined) continue;
      if (text.compare(pos, m.v.tokens[id].size(), m.v.tokens[id]) == 0) {
        hit = id;
        break;
      }
    }
    if (hit == no_token) {
      ++pos;
      continue;
    }
    m.encode_fragment(std::string_view(text).substr(start, pos - start), out);
    out.push_back(hit);
    pos += m.v.tokens[hit].size();
    start = pos;
  }
  m.encode_fragment(std::string_view(text).substr(start), out);
  if (options.add_special && m.v.add_eos && m.v.eos != no_token) out.push_back(m.v.eos);
  return out;
}

const std::string& tokenizer::token_piece(token_id id, bool print_special) const {
  const impl& m = *impl_;
  if (id < 0 || static_cast<std::size_t>(id) >= m.pieces.size()) return m.empty;
  const token_type t = m.v.types[id];
  if ((t == token_type::control || t == token_type::unknown) && !print_special) return m.empty;
  return m.pieces[id];
}

std::string tokenizer::decode(const std::vector<token_id>& ids, bool print_special) const {
  std::string bytes;
  for (token_id id : ids) bytes += token_piece(id, print_special);
  return utf8::sanitize(bytes);
}

const vocab& tokenizer::vocab() const { return impl_->v; }
std::size_t tokenizer::size() const { return impl_->v.tokens.size(); }
token_id tokenizer::bos() const { return impl_->v.bos; }
token_id tokenizer::eos() const { return impl_->v.eos; }
bool tokenizer::add_bos() const { return impl_->v.add_bos.value_or(false); }
bool tokenizer::is_eog(token_id id) const { return impl_->v.is_eog(id); }

token_type tokenizer::type(token_id id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= impl_->v.types.size()) return token_type::undefined;
  return impl_->v.types[id];
}

token_id tokenizer::find(std::string_view text) const {
  const auto it = impl_->token_to_id.find(std::string(text));
  return it == impl_->token_to_id.end() ? no_token : it->second;
}

std::string_view strip_template_specials(std::string_view rendered, const tokenizer& tok) {
  if (!tok.add_bos()) return rendered;
  const engine::vocab& v = tok.vocab();
  if (v.bos != no_token) {
    const std::string& b = v.tokens[v.bos];
    if (!b.empty() && rendered.substr(0, b.size()) == b) rendered.remove_prefix(b.size());
  }
  if (v.eos != no_token) {
    const std::string& e = v.tokens[v.eos];
    if (!e.empty() && rendered.size() >= e.size() && rendered.substr(rendered.size() - e.size()) == e) {
      rendered.remove_suffix(e.size());
    }
  }
  return rendered;
}

std::vector<token_id> encode_rendered_prompt(std::string_view rendered, const tokenizer& tok) {
  return tok.encode(strip_template_specials(rendered, tok), {.add_special = true, .parse_special = true});
}

std::string detokenizer_stream::push(token_id id) { return utf8_.push(tok_.token_piece(id, print_special_)); }

std::string detokenizer_stream::finish() { return utf8_.finish(); }

}  // namespace r1::engine
