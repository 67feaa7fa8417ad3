#include "architecture.h"

namespace r1::engine {

namespace {
// The seam for the full R1: recognised, refused clearly until src/models/deepseek2.cpp lands.
const architecture k_arch_deepseek2{"deepseek2", false, nullptr, nullptr};
const architecture* const k_table[] = {&k_arch_qwen2, &k_arch_llama, &k_arch_qwen3, &k_arch_deepseek2};
}  // namespace

const architecture* find_architecture(std::string_view name) {
  for (const architecture* a : k_table) {
    if (a->name == name) return a;
  }
  return nullptr;
}

}  // namespace r1::engine
