#include "r1/registry/bundle.h"

namespace r1::registry {
// Implementation follows.
}  // namespace r1::registry
