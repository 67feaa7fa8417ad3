#include "r1/registry/registry_client.h"

namespace r1::registry {
// Implementation follows.
}  // namespace r1::registry
