// Structured output requests (Ollama `format`, OpenAI `response_format`) turned into the
// runner's constraint field. The schema is compiled here too, so an unsupported or malformed one
// is refused with 400 before any model is loaded (the runner compiles it again for its vocabulary).
#pragma once

#include <nlohmann/json.hpp>

#include "r1/base/status.h"

namespace r1::daemon {

// null when the request asks for free text. Errors: invalid_argument naming the field or the
// unsupported schema keyword and where it is.
result<nlohmann::json> ollama_format_constraint(const nlohmann::json& format);
result<nlohmann::json> openai_response_format_constraint(const nlohmann::json& response_format);

}  // namespace r1::daemon
