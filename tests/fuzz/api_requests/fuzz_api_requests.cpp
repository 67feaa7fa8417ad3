#include <cstddef>
#include <cstdint>
#include <string_view>

#include "r1/api/json_util.h"
#include "r1/api/ollama.h"
#include "r1/api/openai.h"
#include "r1/api/options.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace api = r1::api;
  auto j = api::parse_json(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!j.ok()) return 0;
  (void)api::dump(*j);
  if (auto q = api::parse_generate_request(*j); q.ok()) {
    api::model_options o;
    (void)api::apply_options(q->options, &o, nullptr);
  }
  if (auto q = api::parse_chat_request(*j); q.ok()) {
    api::model_options o;
    std::vector<std::string> ignored;
    (void)api::apply_options(q->options, &o, &ignored, true);
  }
  (void)api::parse_embed_request(*j);
  (void)api::parse_embeddings_request(*j);
  (void)api::parse_model_request(*j, "pull");
  (void)api::parse_copy_request(*j);
  (void)api::parse_create_request(*j);
  (void)api::parse_bench_request(*j);
  if (auto q = api::parse_openai_chat_request(*j); q.ok()) (void)api::to_options(q->sampling);
  (void)api::parse_openai_completion_request(*j);
  (void)api::parse_openai_embedding_request(*j);
  (void)api::parse_keep_alive(*j);
  (void)api::parse_think(*j);
  return 0;
}
