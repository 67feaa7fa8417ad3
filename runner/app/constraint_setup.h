// Structured output in r1-runner: a request's constraint spec compiled into the grammar the
// generator enforces, against the model's vocabulary index (built once, on the first
// constrained request, and kept for the life of the model).
//
// Thread safety: constraint_cache::vocab() may be called from any HTTP thread; the first call
// builds the index under a lock (a few hundred ms for a 150k vocabulary), later calls return it.
#pragma once

#include <memory>
#include <mutex>

#include "r1/base/status.h"
#include "r1/constrain/grammar.h"
#include "r1/constrain/vocab_index.h"
#include "r1/engine/generator.h"
#include "r1/engine/tokenizer.h"
#include "r1/runner_protocol/messages.h"

namespace r1::runner {

class constraint_cache {
 public:
  std::shared_ptr<const constrain::vocab_index> vocab(const engine::tokenizer& tok);

 private:
  std::mutex mu_;
  std::shared_ptr<const constrain::vocab_index> index_;
};

// The vocabulary as the constraint sees it: each token's bytes (control and unused tokens
// empty, so never generated under a constraint) and the end-of-generation ids.
std::shared_ptr<const constrain::vocab_index> build_vocab_index(const engine::tokenizer& tok);

// Compiles the spec into p (grammar + vocabulary index). Errors: invalid_argument naming the
// unsupported keyword or malformed field (the HTTP layer answers 400).
status apply_constraint(const constrain::spec& s, constraint_cache& cache, const engine::tokenizer& tok,
                        engine::generation_params& p);
// The request's `constraint` field, when set.
status apply_request_constraint(const runner_protocol::completion_request& r, constraint_cache& cache,
                                const engine::tokenizer& tok, engine::generation_params& p);

}  // namespace r1::runner
