// Plugins that must be refused, built from this one file with one of these defines:
//   R1_TEST_PLUGIN_NO_ENTRY    a shared object without the entry point
//   R1_TEST_PLUGIN_OLD_ABI     the entry point with another ABI version
//   R1_TEST_PLUGIN_OTHER_BUILD the right ABI version, another build's interface key
//   R1_TEST_PLUGIN_NO_DRIVER   create() fails as a backend without its driver does
//   R1_TEST_PLUGIN_NO_DEVICES  create() gives a backend without devices
// The loader must skip each with its reason and the runner must go on serving.
#include <cstdlib>

#include "r1/kernels/backend_plugin.h"
#include "r1_backend_interface_key.h"

#if defined(R1_TEST_PLUGIN_NO_ENTRY)

extern "C" __attribute__((visibility("default"))) int r1_test_not_a_backend() { return 42; }

#elif defined(R1_TEST_PLUGIN_NO_DEVICES)

namespace {
class no_devices final : public r1::kernels::backend {
 public:
  std::string_view name() const override { return "nodevices"; }
  size_t device_count() const override { return 0; }
  r1::kernels::device& device_at(size_t) override { std::abort(); }
};
}  // namespace
R1_BACKEND_PLUGIN("nodevices", 30, std::unique_ptr<r1::kernels::backend>(std::make_unique<no_devices>()))

#elif defined(R1_TEST_PLUGIN_NO_DRIVER)

R1_BACKEND_PLUGIN("nodriver", 30, r1::unavailable("test plugin: no driver for this device"))

#else

namespace {
void never_called(const r1_backend_plugin_args*, r1::result<std::unique_ptr<r1::kernels::backend> >* out) {
  *out = r1::internal_error("a refused plugin's create() was called");
}
#if defined(R1_TEST_PLUGIN_OLD_ABI)
const r1_backend_plugin desc{999, R1_BACKEND_INTERFACE_KEY, "oldabi", 30, &never_called};
#else
const r1_backend_plugin desc{r1_backend_plugin_abi_version, "0123456789abcdef", "otherbuild", 30,
                             &never_called};
#endif
}  // namespace
extern "C" __attribute__((visibility("default"))) const r1_backend_plugin* r1_backend_plugin_v1() {
  return &desc;
}

#endif
