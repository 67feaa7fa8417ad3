// R1_ASSERT: for programmer errors only (broken invariants of our own code).
// Never for input, files, network data or runner output: those return a status.
#pragma once

namespace r1::detail {
[[noreturn]] void assert_failed(const char* expr, const char* file, int line, const char* msg);
}

#define R1_ASSERT(cond)                                                     \
  do {                                                                      \
    if (!(cond)) [[unlikely]]                                               \
      ::r1::detail::assert_failed(#cond, __FILE__, __LINE__, nullptr);      \
  } while (0)

#define R1_ASSERT_MSG(cond, msg)                                            \
  do {                                                                      \
    if (!(cond)) [[unlikely]]                                               \
      ::r1::detail::assert_failed(#cond, __FILE__, __LINE__, (msg));        \
  } while (0)
