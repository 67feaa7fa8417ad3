// Random JSON Schemas for the constrained-decoding tests: every supported feature (types and
// type lists, nested objects with required/optional properties, additionalProperties, arrays
// with bounds, enum, const, anyOf/oneOf, string lengths and formats, local $refs), seeded.
#pragma once

#include <cstdint>
#include <random>

#include <nlohmann/json.hpp>

namespace r1::constrain_test {

struct random_schema_options {
  int max_depth = 3;
  bool bounded = true;  // strings and arrays mostly get maxima, so outputs stay short
};

nlohmann::json random_schema(std::mt19937& rng, const random_schema_options& o = {});

}  // namespace r1::constrain_test
