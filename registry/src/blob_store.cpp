#include "r1/registry/blob_store.h"

namespace r1::registry {
// Implementation follows.
}  // namespace r1::registry
