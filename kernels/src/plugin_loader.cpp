// Loading the GPU backend plugins of one directory (plugin_loader.h).
#include "r1/kernels/plugin_loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>

#include "r1/base/log.h"
#include "r1/base/raii.h"
#include "r1/kernels/backend_plugin.h"
#include "r1/kernels/cpu_backend.h"
#include "r1_backend_interface_key.h"

namespace r1::kernels {

namespace {

using dl_handle = unique_handle<void, ::dlclose>;
using dir_handle = unique_handle<DIR, ::closedir>;

struct candidate {
  plugin_report report;
  status why;  // the report's error as a status (ok when loaded)
  std::unique_ptr<backend> made;
  int32_t order = 0;
};

// "libr1-backend-vulkan.so" -> "vulkan"; other names lose only ".so" (and a "lib" prefix).
std::string name_from_file(std::string_view file) {
  if (file.ends_with(".so")) file.remove_suffix(3);
  for (std::string_view prefix : {"libr1-backend-", "lib"}) {
    if (file.starts_with(prefix) && file.size() > prefix.size()) {
      file.remove_prefix(prefix.size());
      break;
    }
  }
  return std::string(file);
}

// Regular files named *.so (not hidden ones), sorted. A missing directory is no plugin at all:
// normal for the default one (no backend package installed), worth a warning for one given.
std::vector<std::string> plugin_files(const std::string& dir, bool given) {
  std::vector<std::string> out;
  dir_handle d(::opendir(dir.c_str()));
  if (!d) {
    const int err = errno;
    if (err == ENOENT && !given) {
      R1_LOG(debug, "kernels") << "no backend directory " << dir << ": CPU only";
    } else if (err == ENOENT) {
      R1_LOG(warn, "kernels") << "the backend directory " << dir << " does not exist: CPU only";
    } else {
      R1_LOG(warn, "kernels") << errno_status("cannot read the backend directory " + dir, err).message();
    }
    return out;
  }
  while (const dirent* e = ::readdir(d.get())) {
    const std::string_view name = e->d_name;
    if (name.starts_with('.') || !name.ends_with(".so")) continue;
    std::string path = dir + "/" + std::string(name);
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) out.push_back(std::move(path));
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool valid_backend_name(const char* name) {
  if (name == nullptr) return false;
  const std::string_view n(name, ::strnlen(name, 33));
  if (n.empty() || n.size() > 32 || n == "cpu") return false;
  return std::all_of(n.begin(), n.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

// The plugin's descriptor once it passed the checks that need no C++ call across the boundary.
result<const r1_backend_plugin*> check_plugin(void* lib) {
  ::dlerror();
  void* sym = ::dlsym(lib, R1_BACKEND_PLUGIN_ENTRY);
  if (sym == nullptr)
    return invalid_argument("no " R1_BACKEND_PLUGIN_ENTRY "() entry point: not an r1 backend plugin");
  const r1_backend_plugin* p = reinterpret_cast<r1_backend_plugin_entry_fn>(sym)();
  if (p == nullptr) return invalid_argument(R1_BACKEND_PLUGIN_ENTRY "() returned no descriptor");
  if (p->abi_version != r1_backend_plugin_abi_version) {
    return invalid_argument(
        "plugin ABI version " + std::to_string(p->abi_version) + ", this r1-runner loads version " +
        std::to_string(r1_backend_plugin_abi_version) + ": install the plugin of the same r1 version");
  }
  const char* key = p->interface_key != nullptr ? p->interface_key : "(none)";
  if (std::strcmp(key, R1_BACKEND_INTERFACE_KEY) != 0) {
    return invalid_argument(std::string("built from another r1 build (interface key ") + key +
                            ", this r1-runner " + R1_BACKEND_INTERFACE_KEY +
                            "): install the plugin of the same r1 version");
  }
  if (!valid_backend_name(p->name)) return invalid_argument("the plugin gives no valid backend name");
  if (p->create == nullptr) return invalid_argument("the plugin has no create function");
  return p;
}

void fail(candidate& c, status why) {
  c.report.loaded = false;
  c.report.error = why.message();
  c.why = std::move(why);
}

// Loads one file; `loaded` holds the backends made so far (duplicate names are refused).
candidate load_one(const std::string& path, const std::vector<candidate>& loaded, const plugin_load_options& o) {
  candidate c;
  c.report.path = path;
  c.report.name = name_from_file(std::filesystem::path(path).filename().string());
  dl_handle lib(::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL));
  if (!lib) {
    const char* e = ::dlerror();
    fail(c, unavailable(std::string("cannot load: ") + (e != nullptr ? e : "dlopen failed")));
    return c;
  }
  result<const r1_backend_plugin*> desc = check_plugin(lib.get());
  if (!desc.ok()) {
    fail(c, desc.error());
    return c;  // nothing of the plugin ran but its static constructors: unloaded again
  }
  const r1_backend_plugin* p = *desc;
  c.report.name = p->name;
  c.order = p->order;
  for (const candidate& other : loaded) {
    if (other.made && other.report.name == c.report.name) {
      fail(c, already_exists("a backend named " + c.report.name + " is already loaded from " +
                             other.report.path));
      return c;
    }
  }
  // From here the plugin runs driver code: it stays loaded whatever create() says.
  (void)lib.release();
  const r1_backend_plugin_args args{.struct_size = sizeof(r1_backend_plugin_args),
                                    .log_level = static_cast<int32_t>(current_log_level()),
                                    .cuda_graphs = o.cuda_graphs ? 1 : 0};
  result<std::unique_ptr<backend>> made = internal_error("the plugin's create() returned no result");
  p->create(&args, &made);
  if (!made.ok()) {
    fail(c, made.error());
  } else if (*made == nullptr || (*made)->device_count() == 0) {
    fail(c, unavailable(c.report.name + ": no devices found"));
  } else {
    c.made = std::move(made).value();
    c.report.loaded = true;
  }
  return c;
}

}  // namespace

result<std::string> default_backend_dir() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return errno_status("reading /proc/self/exe (to find the backend plugins)", errno);
  const std::filesystem::path exe(std::string(buf, static_cast<size_t>(n)));
  return (exe.parent_path() / R1_BACKEND_RELATIVE_DIR).lexically_normal().string();
}

loaded_backends load_backends(const plugin_load_options& o) {
  loaded_backends out;
  std::vector<candidate> found;
  if (o.enable_gpu) {
    out.dir = o.dir;
    if (out.dir.empty()) {
      result<std::string> d = default_backend_dir();
      if (d.ok())
        out.dir = *d;
      else
        R1_LOG(warn, "kernels") << d.error().message() << ": CPU only";
    }
    if (!out.dir.empty()) {
      for (const std::string& path : plugin_files(out.dir, !o.dir.empty()))
        found.push_back(load_one(path, found, o));
    }
  }
  for (candidate& c : found) {
    if (c.report.loaded) {
      R1_LOG(info, "kernels") << "backend plugin " << c.report.name << " loaded from " << c.report.path
                              << " (" << c.made->device_count() << " device(s))";
    } else {
      R1_LOG(warn, "kernels") << "backend plugin " << c.report.path << " skipped: " << c.report.error;
    }
    out.plugins.push_back(c.report);
  }
  std::stable_sort(found.begin(), found.end(),
                   [](const candidate& a, const candidate& b) { return a.order < b.order; });
  for (candidate& c : found) {
    if (c.made)
      out.registry.add(std::move(c.made));
    else
      out.registry.add_unavailable(c.report.name, std::move(c.why));
  }
  out.registry.add(make_cpu_backend(o.cpu_threads));
  return out;
}

}  // namespace r1::kernels
