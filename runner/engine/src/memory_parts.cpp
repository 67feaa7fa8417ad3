#include "r1/engine/memory_parts.h"

#include <charconv>
#include <string_view>

#include "r1/gguf/model_files.h"

namespace r1::engine {
namespace {

bool has(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

status add(model_memory& m, const tensor_bytes& t) {
  const std::string_view name = t.name;
  if (name.rfind("token_embd.", 0) == 0) {
    m.embedding += t.bytes;
    if (t.rows) m.embedding_row = t.bytes / t.rows;
    return ok_status();
  }
  if (name.rfind("output", 0) == 0) {
    m.output += t.bytes;
    return ok_status();
  }
  if (name.rfind("blk.", 0) != 0) {
    m.other += t.bytes;
    return ok_status();
  }
  uint32_t il = 0;
  const char* b = name.data() + 4;
  const char* e = name.data() + name.size();
  auto [p, ec] = std::from_chars(b, e, il);
  if (ec != std::errc() || p == b || p == e || *p != '.' || il >= (1u << 16)) {
    return corrupt("tensor " + t.name + ": no layer index");
  }
  if (m.layers.size() <= il) m.layers.resize(il + 1);
  layer_memory& l = m.layers[il];
  const std::string_view what = name.substr(static_cast<size_t>(p - name.data()) + 1);
  if (has(what, "_exps")) {
    l.experts += t.bytes;
    l.n_expert = t.n_mat;
  } else if (has(what, "_shexp")) {
    l.shared_expert += t.bytes;
  } else if (has(what, "ffn_gate_inp") || has(what, "exp_probs_b")) {
    l.router += t.bytes;
  } else if (what.rfind("ffn_", 0) == 0) {
    l.dense_ffn += t.bytes;  // dense gate/up/down and the FFN norm
  } else {
    l.attention += t.bytes;
  }
  return ok_status();
}

}  // namespace

uint64_t model_memory::total() const {
  uint64_t s = embedding + output + other;
  for (const layer_memory& l : layers) s += l.always() + l.experts;
  return s;
}

uint64_t model_memory::experts() const {
  uint64_t s = 0;
  for (const layer_memory& l : layers) s += l.experts;
  return s;
}

uint64_t model_memory::bytes_per_token(uint32_t n_used) const {
  uint64_t s = embedding_row + output;
  for (const layer_memory& l : layers) s += l.always() + static_cast<uint64_t>(n_used) * l.expert_bytes();
  return s;
}

result<model_memory> memory_by_part(const std::vector<tensor_bytes>& tensors) {
  model_memory m;
  for (const tensor_bytes& t : tensors) R1_RETURN_IF_ERROR(add(m, t));
  return m;
}

result<model_memory> memory_by_part(const gguf::model_files& files) {
  std::vector<tensor_bytes> ts;
  for (const gguf::tensor_ref& r : files.tensors()) {
    const gguf::tensor_info& t = *r.info;
    ts.push_back({std::string(t.name), t.size, t.n_dims > 1 ? t.ne[1] : 1,
                  t.n_dims > 2 ? static_cast<uint32_t>(t.ne[2]) : 1u});
  }
  return memory_by_part(ts);
}

}  // namespace r1::engine
