// Per-tensor type choice against the counts observed in real Q4_K_M files.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "r1/kernels/quant_mix.h"

namespace r1::kernels {
namespace {

struct tensor_desc {
  std::string name;
  int n_dims;
  int64_t ne0;
};

std::vector<tensor_desc> qwen2_tensors(int n_layer, int64_t n_embd, int64_t n_ff) {
  std::vector<tensor_desc> t = {{"token_embd.weight", 2, n_embd}, {"output_norm.weight", 1, n_embd},
                                {"output.weight", 2, n_embd}};
  for (int i = 0; i < n_layer; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    for (const char* n : {"attn_norm.weight", "ffn_norm.weight", "attn_q.bias", "attn_k.bias", "attn_v.bias"})
      t.push_back({b + n, 1, n_embd});
    for (const char* n : {"attn_q.weight", "attn_k.weight", "attn_v.weight", "attn_output.weight", "ffn_gate.weight",
                          "ffn_up.weight"})
      t.push_back({b + n, 2, n_embd});
    t.push_back({b + "ffn_down.weight", 2, n_ff});
  }
  return t;
}

std::map<tensor_type, int> count(file_type ft, const std::vector<tensor_desc>& ts, const mix_model& m) {
  std::map<tensor_type, int> c;
  for (const auto& d : ts) {
    auto r = choose_mix_type(ft, {d.name, d.n_dims, d.ne0, tensor_type::f32}, -1, m);
    EXPECT_TRUE(r.ok());
    ++c[*r];
  }
  return c;
}

TEST(QuantMix, Qwen2_28LayerQ4_K_MMatchesObservedCounts) {
  mix_model m{"qwen2", 28, 0, false, true};
  auto c = count(file_type::mostly_q4_k_m, qwen2_tensors(28, 1536, 8960), m);
  EXPECT_EQ(c[tensor_type::f32], 141);
  EXPECT_EQ(c[tensor_type::q4_k], 169);
  EXPECT_EQ(c[tensor_type::q6_k], 29);
}

TEST(QuantMix, MoreBitsLayersFor28Layers) {
  mix_model m{"qwen2", 28, 0, false, true};
  std::vector<int> more;
  for (int i = 0; i < 28; ++i) {
    auto r = choose_mix_type(file_type::mostly_q4_k_m, {"blk.X.attn_v.weight", 2, 1536, tensor_type::f32}, i, m);
    ASSERT_TRUE(r.ok());
    if (*r == tensor_type::q6_k) more.push_back(i);
  }
  EXPECT_EQ(more, (std::vector<int>{0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 24, 25, 26, 27}));
}

TEST(QuantMix, SpecialCases) {
  mix_model m{"qwen2", 28, 0, false, true};
  auto pick = [&](file_type ft, const char* name, int64_t ne0, const mix_model& mm) {
    auto r = choose_mix_type(ft, {name, 2, ne0, tensor_type::f32}, -1, mm);
    EXPECT_TRUE(r.ok());
    return *r;
  };
  EXPECT_EQ(pick(file_type::mostly_q4_k_m, "token_embd.weight", 1536, m), tensor_type::q4_k);
  mix_model tied = m;
  tied.has_output = false;
  EXPECT_EQ(pick(file_type::mostly_q4_k_m, "token_embd.weight", 1536, tied), tensor_type::q6_k);
  EXPECT_EQ(pick(file_type::mostly_q8_0, "output.weight", 1536, m), tensor_type::q8_0);
  EXPECT_EQ(pick(file_type::mostly_q4_0, "output.weight", 1536, m), tensor_type::q6_k);
  EXPECT_EQ(pick(file_type::mostly_f16, "blk.0.attn_q.weight", 1536, m), tensor_type::f16);
  EXPECT_EQ(pick(file_type::mostly_q5_k_m, "blk.3.attn_q.weight", 1536, m), tensor_type::q5_k);
  EXPECT_EQ(pick(file_type::mostly_q5_k_m, "blk.2.ffn_down.weight", 1536, m), tensor_type::q6_k);
  // Rows that are not whole super-blocks fall back.
  EXPECT_EQ(pick(file_type::mostly_q4_k_m, "blk.3.attn_q.weight", 128, m), tensor_type::q5_0);
  EXPECT_EQ(pick(file_type::mostly_q5_k_m, "blk.3.attn_q.weight", 128, m), tensor_type::q5_1);
  EXPECT_EQ(pick(file_type::mostly_q4_k_m, "blk.0.attn_v.weight", 128, m), tensor_type::q8_0);
  // 70B: attn_v at least Q5_K; 8 experts: attn_v Q8_0.
  mix_model big = m;
  big.is_70b = true;
  EXPECT_EQ(pick(file_type::mostly_q4_k_m, "blk.3.attn_v.weight", 8192, big), tensor_type::q5_k);
  mix_model moe = m;
  moe.n_expert = 8;
  EXPECT_EQ(pick(file_type::mostly_q4_k_m, "blk.3.attn_v.weight", 4096, moe), tensor_type::q8_0);
  // deepseek2: routers stay, MLA projections Q8_0.
  mix_model ds{"deepseek2", 61, 256, false, true};
  auto router = choose_mix_type(file_type::mostly_q4_k_m, {"blk.5.ffn_gate_inp.weight", 2, 7168, tensor_type::f32}, -1, ds);
  EXPECT_EQ(*router, tensor_type::f32);
  EXPECT_EQ(pick(file_type::mostly_q4_k_m, "blk.5.attn_kv_a_mqa.weight", 7168, ds), tensor_type::q8_0);
  EXPECT_EQ(pick(file_type::mostly_q4_k_m, "blk.10.ffn_down_exps.weight", 2048, ds), tensor_type::q4_k);
  EXPECT_EQ(pick(file_type::mostly_q4_k_m, "blk.2.ffn_down_exps.weight", 2048, ds), tensor_type::q6_k);
}

TEST(QuantMix, ParsesNames) {
  EXPECT_EQ(*parse_file_type("q4_k_m"), file_type::mostly_q4_k_m);
  EXPECT_EQ(*parse_file_type("F16"), file_type::mostly_f16);
  EXPECT_FALSE(parse_file_type("q4_k_x").ok());
  EXPECT_EQ(file_type_name(file_type::mostly_q5_k_m), "Q5_K_M");
  EXPECT_EQ(file_type_default(file_type::mostly_q4_k_s), tensor_type::q4_k);
}

}  // namespace
}  // namespace r1::kernels
