#include "r1/base/tensor_type.h"

#include <array>
#include <cctype>

#include "r1/base/assert.h"

namespace r1 {
namespace {
constexpr std::array<tensor_type_info, 33> k_types{{
    {tensor_type::f32, "F32", 1, 4},          {tensor_type::f16, "F16", 1, 2},
    {tensor_type::q4_0, "Q4_0", 32, 18},      {tensor_type::q4_1, "Q4_1", 32, 20},
    {tensor_type::q5_0, "Q5_0", 32, 22},      {tensor_type::q5_1, "Q5_1", 32, 24},
    {tensor_type::q8_0, "Q8_0", 32, 34},      {tensor_type::q8_1, "Q8_1", 32, 36},
    {tensor_type::q2_k, "Q2_K", 256, 84},     {tensor_type::q3_k, "Q3_K", 256, 110},
    {tensor_type::q4_k, "Q4_K", 256, 144},    {tensor_type::q5_k, "Q5_K", 256, 176},
    {tensor_type::q6_k, "Q6_K", 256, 210},    {tensor_type::q8_k, "Q8_K", 256, 292},
    {tensor_type::iq2_xxs, "IQ2_XXS", 256, 66}, {tensor_type::iq2_xs, "IQ2_XS", 256, 74},
    {tensor_type::iq3_xxs, "IQ3_XXS", 256, 98}, {tensor_type::iq1_s, "IQ1_S", 256, 50},
    {tensor_type::iq4_nl, "IQ4_NL", 32, 18},  {tensor_type::iq3_s, "IQ3_S", 256, 110},
    {tensor_type::iq2_s, "IQ2_S", 256, 82},   {tensor_type::iq4_xs, "IQ4_XS", 256, 136},
    {tensor_type::i8, "I8", 1, 1},            {tensor_type::i16, "I16", 1, 2},
    {tensor_type::i32, "I32", 1, 4},          {tensor_type::i64, "I64", 1, 8},
    {tensor_type::f64, "F64", 1, 8},          {tensor_type::iq1_m, "IQ1_M", 256, 56},
    {tensor_type::bf16, "BF16", 1, 2},        {tensor_type::tq1_0, "TQ1_0", 256, 54},
    {tensor_type::tq2_0, "TQ2_0", 256, 66},   {tensor_type::mxfp4, "MXFP4", 32, 17},
    {tensor_type::f32, "", 0, 0},  // sentinel, never matched (block_elems 0)
}};
}  // namespace

std::optional<tensor_type_info> lookup_tensor_type(uint32_t id) {
  for (const auto& t : k_types)
    if (t.block_elems != 0 && static_cast<uint32_t>(t.type) == id) return t;
  return std::nullopt;
}

const tensor_type_info& type_info(tensor_type t) {
  for (const auto& i : k_types)
    if (i.block_elems != 0 && i.type == t) return i;
  R1_ASSERT_MSG(false, "type_info of an unknown tensor_type");
  __builtin_unreachable();
}

std::optional<tensor_type> parse_tensor_type(std::string_view name) {
  for (const auto& t : k_types) {
    if (t.block_elems == 0 || t.name.size() != name.size()) continue;
    bool eq = true;
    for (size_t i = 0; i < name.size() && eq; ++i)
      eq = std::toupper(static_cast<unsigned char>(name[i])) == static_cast<unsigned char>(t.name[i]);
    if (eq) return t.type;
  }
  return std::nullopt;
}

}  // namespace r1
