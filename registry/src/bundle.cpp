#include "r1/registry/bundle.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "r1/base/log.h"
#include "r1/base/raii.h"
#include "r1/registry/digest.h"

namespace r1::registry {

namespace {

using archive_writer = unique_handle<struct archive, archive_write_free>;
using archive_reader = unique_handle<struct archive, archive_read_free>;
using entry_handle = unique_handle<struct archive_entry, archive_entry_free>;
constexpr size_t chunk_bytes = size_t{1} << 20;

status archive_error(struct archive* a, const std::string& what) {
  const char* msg = archive_error_string(a);
  return io_error(what + ": " + (msg ? msg : "libarchive error"));
}

status write_entry_bytes(struct archive* a, const std::string& name, std::string_view bytes) {
  entry_handle e(archive_entry_new());
  archive_entry_set_pathname(e.get(), name.c_str());
  archive_entry_set_size(e.get(), static_cast<la_int64_t>(bytes.size()));
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), 0644);
  if (archive_write_header(a, e.get()) != ARCHIVE_OK) return archive_error(a, "write " + name);
  if (!bytes.empty() && archive_write_data(a, bytes.data(), bytes.size()) != static_cast<la_ssize_t>(bytes.size()))
    return archive_error(a, "write " + name);
  return {};
}

status write_entry_file(struct archive* a, const std::string& name, const std::string& path, uint64_t size) {
  R1_ASSIGN_OR_RETURN(unique_fd fd, open_fd(path, O_RDONLY));
  entry_handle e(archive_entry_new());
  archive_entry_set_pathname(e.get(), name.c_str());
  archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), 0644);
  if (archive_write_header(a, e.get()) != ARCHIVE_OK) return archive_error(a, "write " + name);
  std::vector<char> buf(chunk_bytes);
  uint64_t left = size;
  while (left > 0) {
    ssize_t n = ::read(fd.get(), buf.data(), static_cast<size_t>(std::min<uint64_t>(left, buf.size())));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno_status("read " + path, errno) : corrupt(path + " is shorter than expected");
    if (archive_write_data(a, buf.data(), static_cast<size_t>(n)) != n) return archive_error(a, "write " + name);
    left -= static_cast<uint64_t>(n);
  }
  return {};
}

// What an archive entry is, judged by its path alone; everything else is refused.
enum class entry_kind { index, manifest, blob, unsafe };

entry_kind classify(const std::string& path, model_name* name, std::string* digest) {
  if (path == "index.json") return entry_kind::index;
  if (path.empty() || path[0] == '/' || path.find("..") != std::string::npos || path.find("//") != std::string::npos ||
      path.find('\\') != std::string::npos)
    return entry_kind::unsafe;
  if (path.rfind("blobs/sha256-", 0) == 0) {
    std::string d = "sha256:" + path.substr(13);
    if (!is_valid_digest(d)) return entry_kind::unsafe;
    *digest = d;
    return entry_kind::blob;
  }
  if (path.rfind("manifests/", 0) == 0) {
    std::vector<std::string> parts;
    size_t p = 10;
    while (p <= path.size()) {
      size_t e = path.find('/', p);
      if (e == std::string::npos) e = path.size();
      parts.push_back(path.substr(p, e - p));
      p = e + 1;
    }
    if (parts.size() != 4) return entry_kind::unsafe;
    auto n = model_name::parse(parts[0] + "/" + parts[1] + "/" + parts[2] + ":" + parts[3]);
    if (!n.ok() || n->manifest_rel_path() != path) return entry_kind::unsafe;
    *name = std::move(n).value();
    return entry_kind::manifest;
  }
  return entry_kind::unsafe;
}

result<std::string> read_entry_bytes(struct archive* a, const std::string& path, int64_t size) {
  if (size < 0 || static_cast<uint64_t>(size) > max_manifest_bytes)
    return corrupt("bundle entry " + path + " is larger than " + std::to_string(max_manifest_bytes) + " bytes");
  std::string out(static_cast<size_t>(size), '\0');
  size_t got = 0;
  while (got < out.size()) {
    la_ssize_t n = archive_read_data(a, out.data() + got, out.size() - got);
    if (n < 0) return archive_error(a, "read " + path);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got != out.size()) return corrupt("bundle entry " + path + " is truncated");
  return out;
}

// A blob entry streamed into a temp file in the store and hashed on the way.
status stage_blob(struct archive* a, blob_store& blobs, const std::string& digest, const std::string& temp) {
  R1_ASSIGN_OR_RETURN(unique_fd fd, open_fd(temp, O_WRONLY | O_CREAT | O_EXCL, 0644));
  sha256_hasher hasher;
  std::vector<char> buf(chunk_bytes);
  for (;;) {
    la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
    if (n < 0) return archive_error(a, "read blob " + digest);
    if (n == 0) break;
    hasher.update(buf.data(), static_cast<size_t>(n));
    R1_RETURN_IF_ERROR(write_all(fd.get(), buf.data(), static_cast<size_t>(n), temp));
  }
  (void)blobs;
  const std::string actual = hasher.finish();
  if (actual != digest)
    return corrupt("bundle blob " + digest + ": digest mismatch (content hashes to " + actual + ")");
  return {};
}

}  // namespace

status export_models(const model_store& store, const std::vector<model_name>& names, const std::string& archive_path,
                     const export_options& options) {
  if (names.empty()) return invalid_argument("export: no models named");
  std::vector<std::pair<model_name, std::string>> manifests;
  std::map<std::string, uint64_t> blobs;
  nlohmann::json index = {{"format", "r1-bundle"}, {"version", 1}, {"models", nlohmann::json::array()}};
  for (const auto& n : names) {
    R1_ASSIGN_OR_RETURN(std::string bytes, store.read_manifest_bytes(n));
    R1_ASSIGN_OR_RETURN(manifest m, manifest::parse(bytes));
    for (const auto& d : m.blobs()) {
      if (!store.blobs().has(d.digest)) return not_found("export " + n.display() + ": blob " + d.digest + " is missing");
      blobs[d.digest] = d.size;
    }
    index["models"].push_back({{"name", n.full()}, {"manifest", n.manifest_rel_path()}, {"digest", sha256_of(bytes)}});
    manifests.emplace_back(n, std::move(bytes));
  }
  const std::string temp = archive_path + ".tmp-" + std::to_string(::getpid());
  archive_writer a(archive_write_new());
  if (!a) return resource_exhausted("archive_write_new failed");
  archive_write_set_format_pax_restricted(a.get());
  if (options.compression == bundle_compression::zstd && archive_write_add_filter_zstd(a.get()) != ARCHIVE_OK)
    return archive_error(a.get(), "zstd compression");
  if (archive_write_open_filename(a.get(), temp.c_str()) != ARCHIVE_OK) return archive_error(a.get(), "open " + temp);
  status s = write_entry_bytes(a.get(), "index.json", index.dump(2));
  for (size_t i = 0; s.ok() && i < manifests.size(); ++i)
    s = write_entry_bytes(a.get(), manifests[i].first.manifest_rel_path(), manifests[i].second);
  for (auto it = blobs.begin(); s.ok() && it != blobs.end(); ++it) {
    auto path = store.blobs().path_for(it->first);
    s = path.ok() ? write_entry_file(a.get(), "blobs/sha256-" + it->first.substr(7), *path, it->second) : path.error();
  }
  if (s.ok() && archive_write_close(a.get()) != ARCHIVE_OK) s = archive_error(a.get(), "close " + temp);
  a.reset();
  if (s.ok() && ::rename(temp.c_str(), archive_path.c_str()) != 0) s = errno_status("rename " + temp, errno);
  if (!s.ok()) ::unlink(temp.c_str());
  return s.with_context("export to " + archive_path);
}

namespace {

struct import_state {
  std::map<std::string, std::string> staged;  // digest -> temp path (verified)
  std::vector<std::pair<model_name, std::string>> manifests;
  void discard() {
    for (auto& [d, t] : staged) ::unlink(t.c_str());
    staged.clear();
  }
};

// Reads every entry: manifests into memory, blobs into verified temp files.
status read_entries(struct archive* a, blob_store& blobs, const std::string& archive_path, import_state& st) {
  std::set<std::string> seen;
  struct archive_entry* e = nullptr;
  for (size_t count = 1;; ++count) {
    int rc = archive_read_next_header(a, &e);
    if (rc == ARCHIVE_EOF) return {};
    if (rc != ARCHIVE_OK) return archive_error(a, "read bundle " + archive_path);
    if (count > 100000) return corrupt("bundle has more than 100000 entries");
    const char* raw = archive_entry_pathname(e);
    const std::string path = raw ? raw : "";
    if (archive_entry_filetype(e) == AE_IFDIR) continue;
    model_name name;
    std::string digest;
    const entry_kind kind = classify(path, &name, &digest);
    if (archive_entry_filetype(e) != AE_IFREG || kind == entry_kind::unsafe)
      return corrupt("bundle entry '" + path.substr(0, 200) + "' is not a regular file of the bundle layout; refusing the archive");
    if (!seen.insert(path).second) return corrupt("bundle entry '" + path + "' appears twice");
    if (kind == entry_kind::blob) {
      std::string temp = blobs.temp_path("import");
      st.staged[digest] = temp;
      R1_RETURN_IF_ERROR(stage_blob(a, blobs, digest, temp));
      continue;
    }
    R1_ASSIGN_OR_RETURN(std::string bytes, read_entry_bytes(a, path, archive_entry_size(e)));
    if (kind == entry_kind::manifest) st.manifests.emplace_back(std::move(name), std::move(bytes));
  }
}

// Every manifest must parse and find each of its blobs, staged or stored, with the right size.
status check_manifests(const blob_store& blobs, const import_state& st) {
  if (st.manifests.empty()) return corrupt("bundle holds no manifests");
  for (const auto& [name, bytes] : st.manifests) {
    auto m = manifest::parse(bytes);
    if (!m.ok()) return m.error().with_context("bundle manifest " + name.display());
    for (const auto& d : m->blobs()) {
      auto it = st.staged.find(d.digest);
      struct stat info;
      const bool ok_size = it != st.staged.end()
                               ? (::stat(it->second.c_str(), &info) == 0 && static_cast<uint64_t>(info.st_size) == d.size)
                               : blobs.size_of(d.digest).value_or(UINT64_MAX) == d.size;
      if (!ok_size)
        return corrupt("bundle manifest " + name.display() + ": blob " + d.digest + " is missing or has the wrong size");
    }
  }
  return {};
}

}  // namespace

result<std::vector<model_name>> import_models(model_store& store, const std::string& archive_path) {
  archive_reader a(archive_read_new());
  if (!a) return resource_exhausted("archive_read_new failed");
  archive_read_support_filter_zstd(a.get());
  archive_read_support_filter_gzip(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_filename(a.get(), archive_path.c_str(), chunk_bytes) != ARCHIVE_OK)
    return archive_error(a.get(), "open bundle " + archive_path);
  import_state st;
  status s = read_entries(a.get(), store.blobs(), archive_path, st);
  if (s.ok()) s = check_manifests(store.blobs(), st);
  // Commit: blobs first (each already verified), then the manifests.
  while (s.ok() && !st.staged.empty()) {
    auto it = st.staged.begin();
    if (store.blobs().has(it->first)) {
      ::unlink(it->second.c_str());
    } else {
      s = store.blobs().commit_verified(it->second, it->first);
      if (!s.ok()) break;  // its temp file is removed with the rest below
    }
    st.staged.erase(it);
  }
  if (!s.ok()) {
    st.discard();
    return s.with_context("import " + archive_path);
  }
  std::vector<model_name> names;
  for (auto& [n, bytes] : st.manifests) {
    R1_RETURN_IF_ERROR(store.write_manifest(n, bytes).with_context("import " + archive_path));
    names.push_back(n);
  }
  R1_LOG(info, "registry") << "imported " << names.size() << " model(s) from " << archive_path;
  return names;
}

}  // namespace r1::registry
