// Weight bytes by part on a sharded tiny MoE model, checked against the tensor table.
#include <gtest/gtest.h>

#include "r1/engine/memory_parts.h"
#include "r1/gguf/model_files.h"
#include "r1/kernels/quants.h"
#include "r1/mkmodel/make_model.h"
#include "r1/test_support/temp_dir.h"

namespace r1::engine {
namespace {

TEST(memory_parts, parts_add_up_and_experts_are_counted_per_layer) {
  test_support::temp_dir dir("ds2-mem");
  auto p = mkmodel::preset("deepseek2", "tiny");
  ASSERT_TRUE(p.ok());
  mkmodel::model_spec s = *p;
  s.n_layer = 3;
  s.n_dense_lead = 1;
  s.n_expert = 8;
  s.n_split = 2;
  s.type = "Q8_0";
  auto files = mkmodel::write_model(s, dir / "m.gguf");
  ASSERT_TRUE(files.ok()) << files.error().to_string();
  auto f = gguf::model_files::open(files->front());
  ASSERT_TRUE(f.ok());
  auto mm = memory_by_part(*f);
  ASSERT_TRUE(mm.ok()) << mm.error().to_string();
  uint64_t sum = 0;
  for (const auto& t : f->tensors()) sum += t.info->size;
  EXPECT_EQ(mm->total(), sum);
  ASSERT_EQ(mm->layers.size(), 3u);
  EXPECT_GT(mm->layers[0].dense_ffn, 0u);
  EXPECT_EQ(mm->layers[0].experts, 0u);
  EXPECT_EQ(mm->layers[0].expert_bytes(), 0u);
  const gguf::tensor_info* up = f->find_tensor("blk.1.ffn_up_exps.weight");
  const gguf::tensor_info* gate = f->find_tensor("blk.1.ffn_gate_exps.weight");
  const gguf::tensor_info* down = f->find_tensor("blk.1.ffn_down_exps.weight");
  ASSERT_TRUE(up && gate && down);
  for (int il = 1; il < 3; ++il) {
    const layer_memory& l = mm->layers[static_cast<size_t>(il)];
    EXPECT_EQ(l.n_expert, 8u);
    EXPECT_EQ(l.experts, up->size + gate->size + down->size);
    EXPECT_EQ(l.expert_bytes(), (up->size + gate->size + down->size) / 8);
    EXPECT_GT(l.shared_expert, 0u);
    EXPECT_EQ(l.dense_ffn, f->find_tensor("blk.1.ffn_norm.weight")->size);
    EXPECT_EQ(l.router, f->find_tensor("blk.1.ffn_gate_inp.weight")->size +
                            f->find_tensor("blk.1.exp_probs_b.bias")->size);
  }
  const gguf::tensor_info* embd = f->find_tensor("token_embd.weight");
  EXPECT_EQ(mm->embedding, embd->size);
  EXPECT_EQ(mm->embedding_row, kernels::row_size(embd->type, static_cast<int64_t>(embd->ne[0])));
  // Two more experts per MoE layer read two more experts' bytes in each of the two layers.
  EXPECT_EQ(mm->bytes_per_token(4) - mm->bytes_per_token(2), 2 * 2 * mm->layers[1].expert_bytes());
  EXPECT_LT(mm->bytes_per_token(8), mm->total());
}

TEST(memory_parts, bad_layer_names_are_refused) {
  EXPECT_EQ(memory_by_part({{"blk.x.attn_q.weight", 10}}).error().code(), error_code::corrupt);
  EXPECT_EQ(memory_by_part({{"blk.3", 10}}).error().code(), error_code::corrupt);
  EXPECT_EQ(memory_by_part({{"blk.99999999.attn_q.weight", 10}}).error().code(), error_code::corrupt);
  auto ok = memory_by_part({{"rope_freqs.weight", 7}, {"blk.0.attn_q.weight", 5}});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->other, 7u);
  EXPECT_EQ(ok->layers[0].attention, 5u);
}

}  // namespace
}  // namespace r1::engine
