#include "r1/daemon/model_catalog.h"

#include <algorithm>
#include <cstdio>

#include "r1/api/json_util.h"
#include "r1/base/log.h"
#include "r1/base/raii.h"
#include "r1/gguf/file.h"
#include "r1/gguf/model_params.h"
#include "r1/registry/manifest.h"

namespace r1::daemon {

namespace mt = registry::media_type;

std::string parameter_size_text(uint64_t n) {
  char buf[32];
  if (n >= 1000000000ull) std::snprintf(buf, sizeof buf, "%.1fB", static_cast<double>(n) / 1e9);
  else if (n >= 1000000ull) std::snprintf(buf, sizeof buf, "%.1fM", static_cast<double>(n) / 1e6);
  else std::snprintf(buf, sizeof buf, "%.1fK", static_cast<double>(n) / 1e3);
  return buf;
}

namespace {

json kv_to_json(const gguf::kv& v) {
  using gguf::value_type;
  switch (v.type) {
    case value_type::string: return std::string(v.str);
    case value_type::boolean: return v.as_bool().value_or(false);
    case value_type::f32:
    case value_type::f64: return v.as_float().value_or(0.0);
    case value_type::array: {
      if (v.count > 64) return nullptr;  // tokenizer vocabularies and merges: left out
      json arr = json::array();
      for (uint64_t i = 0; i < v.count; ++i) {
        if (v.elem_type == value_type::string && i < v.strings.size()) arr.push_back(std::string(v.strings[i]));
        else if (v.elem_type == value_type::f32 || v.elem_type == value_type::f64) arr.push_back(v.float_at(i).value_or(0.0));
        else arr.push_back(v.int_at(i).value_or(0));
      }
      return arr;
    }
    default:
      if (auto u = v.as_uint()) return *u;
      if (auto i = v.as_int()) return *i;
      return nullptr;
  }
}

bool contains(const std::string& hay, std::string_view needle) { return hay.find(needle) != std::string::npos; }

}  // namespace

result<gguf_summary> model_catalog::read_gguf(const std::string& path, uint64_t total_weight_bytes) {
  R1_ASSIGN_OR_RETURN(gguf::file f, gguf::file::open(path));
  gguf_summary s;
  s.arch = std::string(f.get_string_or("general.architecture", "").value_or(""));
  s.model_name = std::string(f.get_string_or("general.name", "").value_or(""));
  s.chat_template = std::string(f.get_string_or("tokenizer.chat_template", "").value_or(""));
  const std::string a = s.arch;
  s.n_ctx_train = static_cast<uint32_t>(f.get_uint_or(a + ".context_length", 0).value_or(0));
  s.n_embd = static_cast<uint32_t>(f.get_uint_or(a + ".embedding_length", 0).value_or(0));
  s.n_layer = static_cast<uint32_t>(f.get_uint_or(a + ".block_count", 0).value_or(0));
  uint64_t params = 0, bytes = 0;
  for (const auto& t : f.tensors()) {
    params += t.n_elements();
    bytes += t.size;
  }
  s.parameter_count = params;
  s.weight_bytes = std::max(bytes, total_weight_bytes);
  if (f.has("general.file_type")) {
    s.file_type = std::string(gguf::file_type_name(static_cast<uint32_t>(f.get_uint_or("general.file_type", 0).value_or(0))));
  } else {
    s.file_type = "unknown";
  }
  auto mp = gguf::resolve_params(f);
  if (mp.ok()) {
    s.kv_bytes_per_token = gguf::kv_bytes_per_token(*mp);
  } else {
    // Architectures the runner does not know still get a rough estimate.
    s.kv_bytes_per_token = uint64_t{2} * s.n_layer * s.n_embd * 2;
  }
  s.embedding = f.has(a + ".pooling_type") || a == "bert" || a == "nomic-bert";
  s.model_info = json::object();
  s.tokenizer_info = json::object();
  for (const auto& kv : f.metadata()) {
    std::string key(kv.key);
    if (kv.type == gguf::value_type::array && kv.count > 64) s.tokenizer_info[key] = kv.count;
    s.model_info[key] = kv_to_json(kv);
  }
  s.model_info["general.parameter_count"] = params;
  return s;
}

uint64_t model_catalog::estimate_bytes(const model_entry& m, int ctx, int parallel, const std::string& kv_type) {
  if (!m.gguf) return 0;
  uint64_t per_token = m.gguf->kv_bytes_per_token;
  if (kv_type == "f32") per_token *= 2;
  else if (kv_type == "q8_0") per_token = per_token * 17 / 32;
  uint64_t kv = per_token * static_cast<uint64_t>(ctx) * static_cast<uint64_t>(parallel);
  // Compute scratch: roughly one batch of activations plus the logits.
  uint64_t scratch = uint64_t{64} << 20;
  return m.gguf->weight_bytes + kv + scratch;
}

std::vector<std::string> model_entry::capabilities() const {
  std::vector<std::string> caps;
  if (gguf && gguf->embedding) {
    caps.push_back("embedding");
    return caps;
  }
  caps.push_back("completion");
  const std::string& tmpl = gguf ? gguf->chat_template : std::string();
  if (contains(tmpl, "tools") || contains(tmpl, "tool_calls")) caps.push_back("tools");
  if (contains(tmpl, "<think>") || contains(tmpl, "</think>")) caps.push_back("thinking");
  return caps;
}

bool model_entry::has_capability(std::string_view c) const {
  auto caps = capabilities();
  return std::find(caps.begin(), caps.end(), c) != caps.end();
}

json model_entry::details() const {
  std::string family = gguf ? gguf->arch : "";
  return {{"parent_model", ""},
          {"format", "gguf"},
          {"family", family},
          {"families", family.empty() ? json(nullptr) : json::array({family})},
          {"parameter_size", gguf ? parameter_size_text(gguf->parameter_count) : ""},
          {"quantization_level", gguf ? gguf->file_type : ""}};
}

result<model_entry> model_catalog::load_entry(const registry::model_name& name) {
  R1_ASSIGN_OR_RETURN(auto d, store_.show(name));
  model_entry m;
  m.name = d.info.name;
  m.display = d.info.name.display();
  m.digest = d.info.manifest_digest;
  m.modified_unix = d.info.modified_unix;
  m.size = d.info.size;
  uint64_t model_bytes = 0;
  for (size_t i = 0; i < d.man.layers.size() && i < d.layer_paths.size(); ++i) {
    const auto& layer = d.man.layers[i];
    const std::string& path = d.layer_paths[i];
    if (layer.media_type == mt::model) {
      m.model_paths.push_back(path);
      model_bytes += layer.size;
      continue;
    }
    if (layer.size > (size_t{16} << 20)) continue;  // text layers are small; skip anything odd
    R1_ASSIGN_OR_RETURN(std::string text, read_file(path, size_t{16} << 20));
    if (layer.media_type == mt::template_ || layer.media_type == mt::prompt) {
      m.template_text = text;
    } else if (layer.media_type == mt::system) {
      m.system = text;
    } else if (layer.media_type == mt::license) {
      m.license.push_back(text);
    } else if (layer.media_type == mt::params) {
      auto j = api::parse_json(text, "params layer of " + m.display);
      if (j.ok() && j->is_object()) {
        m.params = *j;
      } else {
        R1_LOG(warn, "catalog") << m.display << ": params layer is not a JSON object; ignored";
      }
    } else if (layer.media_type == mt::messages) {
      auto j = api::parse_json(text, "messages layer of " + m.display);
      if (j.ok() && j->is_array()) {
        for (const auto& e : *j) {
          auto msg = api::parse_message(e, "messages layer of " + m.display);
          if (msg.ok()) m.messages.push_back(*msg);
        }
      }
    }
  }
  if (m.model_paths.empty()) return corrupt("model " + m.display + " has no model layer");
  std::shared_ptr<const gguf_summary> cached;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = cache_.find(m.digest);
    if (it != cache_.end()) cached = it->second;
  }
  if (!cached) {
    auto s = read_gguf(m.model_paths.front(), model_bytes);
    if (!s.ok()) return s.error().with_context("model " + m.display);
    cached = std::make_shared<const gguf_summary>(std::move(*s));
    std::lock_guard<std::mutex> lk(mu_);
    cache_[m.digest] = cached;
  }
  m.gguf = cached;
  return m;
}

result<model_entry> model_catalog::resolve(std::string_view text) {
  auto name = registry::model_name::parse(text);
  if (!name.ok()) return name.error();
  auto m = load_entry(*name);
  if (m.ok() || m.error().code() != error_code::not_found) return m;
  if (text != "deepseek-reasoner" && text != "deepseek-chat") return not_found("model '" + std::string(text) + "' not found");
  // DeepSeek API model names: the newest local model that can think (any model for deepseek-chat).
  R1_ASSIGN_OR_RETURN(auto all, list_entries());
  for (auto& e : all)
    if (text == "deepseek-chat" || e.has_capability("thinking")) return e;
  return not_found("model '" + std::string(text) + "' not found (no local reasoning model to stand in for it)");
}

result<std::vector<model_entry>> model_catalog::list_entries() {
  R1_ASSIGN_OR_RETURN(auto infos, store_.list());
  std::vector<model_entry> out;
  for (const auto& info : infos) {
    auto e = load_entry(info.name);
    if (e.ok()) {
      out.push_back(std::move(*e));
    } else {
      R1_LOG(warn, "catalog") << info.name.display() << ": " << e.error().message();
    }
  }
  return out;
}

}  // namespace r1::daemon
