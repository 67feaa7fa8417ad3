#include "architecture.h"

namespace r1::engine {

namespace {
const architecture* const k_table[] = {&k_arch_qwen2, &k_arch_llama, &k_arch_qwen3, &k_arch_deepseek2};
}  // namespace

const architecture* find_architecture(std::string_view name) {
  for (const architecture* a : k_table) {
    if (a->name == name) return a;
  }
  return nullptr;
}

}  // namespace r1::engine
