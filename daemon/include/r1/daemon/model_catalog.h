// The daemon's view of the local model store: a model name resolved to
// everything a request or /api/show needs (blob paths, template, system,
// params layer, messages, GGUF summary, capabilities, a memory estimate).
//
// GGUF summaries are cached by manifest digest (GGUF headers are read once per
// model version). Thread safety: all methods may be called concurrently.
// Errors: invalid_argument for a bad name, not_found for an unknown model,
// corrupt for a manifest or GGUF that does not parse.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "r1/api/ollama.h"
#include "r1/base/status.h"
#include "r1/registry/model_store.h"

namespace r1::daemon {

using json = nlohmann::json;

// What the GGUF header says (read once per model version).
struct gguf_summary {
  std::string arch;
  std::string model_name;          // general.name
  std::string file_type;           // "Q4_K_M"
  uint64_t parameter_count = 0;
  uint64_t weight_bytes = 0;
  uint32_t n_ctx_train = 0;
  uint32_t n_embd = 0;
  uint32_t n_layer = 0;
  uint64_t kv_bytes_per_token = 0; // f16 K+V over all layers
  std::string chat_template;
  bool embedding = false;          // an embedding model (pooling, no generation)
  json model_info;                 // GGUF metadata, tokenizer arrays left out
  json tokenizer_info;             // the tokenizer arrays' sizes (verbose show adds them)
};

struct model_entry {
  registry::model_name name;
  std::string display;             // "deepseek-r1:7b"
  std::string digest;              // manifest digest
  int64_t modified_unix = 0;
  uint64_t size = 0;
  std::vector<std::string> model_paths;
  std::optional<std::string> template_text;
  std::optional<std::string> system;
  std::vector<std::string> license;
  json params = json::object();    // the params layer
  std::vector<api::message> messages;
  std::shared_ptr<const gguf_summary> gguf;

  std::vector<std::string> capabilities() const;  // completion, thinking, tools, embedding
  bool has_capability(std::string_view c) const;
  // {"parent_model","format","family","families","parameter_size","quantization_level"}
  json details() const;
};

class model_catalog {
 public:
  explicit model_catalog(registry::model_store& store) : store_(store) {}

  registry::model_store& store() { return store_; }

  // Resolves a user-supplied name. `deepseek-reasoner` and `deepseek-chat`
  // (DeepSeek API names) fall back to the newest local model that can think.
  result<model_entry> resolve(std::string_view name);
  result<std::vector<model_entry>> list_entries();
  // Reads the GGUF summary of a file (no caching); for create.
  static result<gguf_summary> read_gguf(const std::string& path, uint64_t total_weight_bytes);

  // Memory for weights plus a KV cache of ctx x parallel tokens.
  static uint64_t estimate_bytes(const model_entry& m, int ctx, int parallel, const std::string& kv_type);

 private:
  result<model_entry> load_entry(const registry::model_name& name);
  registry::model_store& store_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const gguf_summary>> cache_;  // manifest digest -> summary
};

// "7.6B", "494.0M" from a parameter count.
std::string parameter_size_text(uint64_t n);

}  // namespace r1::daemon
