#include "r1/registry/identity_key.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "base64.h"
#include "r1/base/raii.h"

namespace r1::registry {

namespace {

using detail::base64;
using detail::unbase64;
using pkey_handle = unique_handle<EVP_PKEY, EVP_PKEY_free>;
using md_ctx_handle = unique_handle<EVP_MD_CTX, EVP_MD_CTX_free>;

constexpr std::string_view begin_line = "-----BEGIN OPENSSH PRIVATE KEY-----";
constexpr std::string_view end_line = "-----END OPENSSH PRIVATE KEY-----";
constexpr std::string_view magic{"openssh-key-v1\0", 15};
constexpr std::string_view key_type = "ssh-ed25519";
constexpr size_t max_key_file = 64 << 10;

// Big-endian length-prefixed fields of the SSH wire format, bounds-checked.
struct wire_reader {
  std::string_view data;
  size_t pos = 0;

  bool u32(uint32_t* v) {
    if (data.size() - pos < 4) return false;
    const auto* p = reinterpret_cast<const unsigned char*>(data.data() + pos);
    *v = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
    pos += 4;
    return true;
  }
  bool str(std::string_view* s) {
    uint32_t n = 0;
    if (!u32(&n) || data.size() - pos < n) return false;
    *s = data.substr(pos, n);
    pos += n;
    return true;
  }
  size_t left() const { return data.size() - pos; }
};

void put_u32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}
void put_str(std::string& out, std::string_view s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

std::string_view bytes_of(const std::array<uint8_t, 32>& a) {
  return {reinterpret_cast<const char*>(a.data()), a.size()};
}

// The base64 body between the armour lines, whitespace removed.
result<std::string> armoured_body(std::string_view text) {
  const size_t b = text.find(begin_line);
  if (b == std::string_view::npos) {
    if (text.find("-----BEGIN") != std::string_view::npos)
      return invalid_argument("not an OpenSSH-format private key (PEM/PKCS#8 keys are not supported)");
    return corrupt("no '" + std::string(begin_line) + "' line");
  }
  const size_t e = text.find(end_line, b + begin_line.size());
  if (e == std::string_view::npos) return corrupt("no '" + std::string(end_line) + "' line");
  std::string body;
  for (char c : text.substr(b + begin_line.size(), e - b - begin_line.size()))
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') body.push_back(c);
  return body;
}

result<pkey_handle> private_pkey(const std::array<uint8_t, 32>& seed) {
  pkey_handle k(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  if (!k) return internal_error("OpenSSL refused the ed25519 private key");
  return k;
}

status derive_public(const std::array<uint8_t, 32>& seed, std::array<uint8_t, 32>* pub) {
  R1_ASSIGN_OR_RETURN(pkey_handle k, private_pkey(seed));
  size_t len = pub->size();
  if (EVP_PKEY_get_raw_public_key(k.get(), pub->data(), &len) != 1 || len != pub->size())
    return internal_error("OpenSSL could not derive the ed25519 public key");
  return {};
}

// The private section: checkints, one ed25519 key, comment, padding 1, 2, 3 ...
status parse_private_section(std::string_view section, std::string_view public_blob_key,
                             std::array<uint8_t, 32>* seed) {
  wire_reader r{section};
  uint32_t check1 = 0, check2 = 0;
  if (!r.u32(&check1) || !r.u32(&check2)) return corrupt("private section is shorter than its check words");
  if (check1 != check2) return corrupt("private section check words differ (wrong passphrase or damaged file)");
  std::string_view type, pub, priv, comment;
  if (!r.str(&type)) return corrupt("private key type is cut short");
  if (type != key_type) return invalid_argument("private key type is '" + std::string(type.substr(0, 40)) + "', not ssh-ed25519");
  if (!r.str(&pub) || pub.size() != 32) return corrupt("private section public key is not 32 bytes");
  if (pub != public_blob_key) return corrupt("private section public key differs from the file's public key");
  if (!r.str(&priv) || priv.size() != 64) return corrupt("ed25519 private key is not 64 bytes");
  if (priv.substr(32) != pub) return corrupt("ed25519 private key does not end with its public key");
  if (!r.str(&comment)) return corrupt("key comment is cut short");
  if (r.left() >= 8) return corrupt("private section has " + std::to_string(r.left()) + " trailing bytes");
  for (size_t i = 0; r.left() > 0; ++i, ++r.pos)
    if (static_cast<unsigned char>(section[r.pos]) != i + 1) return corrupt("private section padding is wrong");
  std::copy(priv.begin(), priv.begin() + 32, reinterpret_cast<char*>(seed->data()));
  return {};
}

}  // namespace

identity_key::~identity_key() { OPENSSL_cleanse(seed_.data(), seed_.size()); }

result<identity_key> identity_key::generate() {
  identity_key k;
  if (RAND_bytes(k.seed_.data(), static_cast<int>(k.seed_.size())) != 1)
    return internal_error("no random bytes for a new ed25519 key");
  R1_RETURN_IF_ERROR(derive_public(k.seed_, &k.public_));
  return k;
}

result<identity_key> identity_key::parse_openssh(std::string_view text) {
  if (text.size() > max_key_file) return corrupt("key file is larger than 64 KiB");
  R1_ASSIGN_OR_RETURN(std::string body, armoured_body(text));
  auto raw = unbase64(body);
  if (!raw.ok()) return raw.error().with_context("OpenSSH private key");
  wire_reader r{*raw};
  if (raw->size() < magic.size() || std::string_view(*raw).substr(0, magic.size()) != magic)
    return corrupt("OpenSSH private key does not start with 'openssh-key-v1'");
  r.pos = magic.size();
  std::string_view cipher, kdf, kdf_options, public_blob, section;
  uint32_t count = 0;
  if (!r.str(&cipher) || !r.str(&kdf) || !r.str(&kdf_options)) return corrupt("OpenSSH private key header is cut short");
  if (cipher != "none" || kdf != "none")
    return invalid_argument("the key is encrypted (cipher '" + std::string(cipher.substr(0, 40)) +
                            "'); use an unencrypted key (ssh-keygen -t ed25519 -N '')");
  if (!r.u32(&count)) return corrupt("OpenSSH private key has no key count");
  if (count != 1) return invalid_argument("OpenSSH private key file holds " + std::to_string(count) + " keys, expected 1");
  if (!r.str(&public_blob)) return corrupt("public key blob is cut short");
  if (!r.str(&section)) return corrupt("private section is cut short");
  if (r.left() != 0) return corrupt("OpenSSH private key has " + std::to_string(r.left()) + " trailing bytes");
  if (section.size() % 8 != 0) return corrupt("private section is not a multiple of the block size");
  wire_reader pr{public_blob};
  std::string_view type, pub;
  if (!pr.str(&type)) return corrupt("public key blob type is cut short");
  if (type != key_type) return invalid_argument("key type is '" + std::string(type.substr(0, 40)) + "', only ssh-ed25519 is supported");
  if (!pr.str(&pub) || pub.size() != 32 || pr.left() != 0) return corrupt("ed25519 public key blob is malformed");
  identity_key k;
  R1_RETURN_IF_ERROR(parse_private_section(section, pub, &k.seed_));
  R1_RETURN_IF_ERROR(derive_public(k.seed_, &k.public_));
  if (bytes_of(k.public_) != pub) return corrupt("the ed25519 public key does not belong to the private key");
  return k;
}

result<identity_key> identity_key::load(const std::string& path) {
  auto text = read_file(path, max_key_file);
  if (!text.ok()) return text.error();
  auto k = parse_openssh(*text);
  if (!k.ok()) return k.error().with_context("identity key " + path);
  return k;
}

result<identity_key> identity_key::load_or_create(const std::vector<std::string>& paths) {
  if (paths.empty()) return invalid_argument("no identity key path configured");
  for (const auto& p : paths) {
    struct stat st;
    if (::stat(p.c_str(), &st) == 0) return load(p);
  }
  const std::string& path = paths.back();
  R1_ASSIGN_OR_RETURN(identity_key k, generate());
  const std::string dir = std::filesystem::path(path).parent_path().string();
  if (!dir.empty() && ::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return errno_status("create " + dir, errno);
  // Write a temp file, then link() it into place: link never replaces a key
  // that another process created meanwhile (that key wins).
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  {
    R1_ASSIGN_OR_RETURN(unique_fd fd, open_fd(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600));
    const std::string text = k.to_openssh();
    R1_RETURN_IF_ERROR(write_all(fd.get(), text.data(), text.size(), tmp));
    if (::fsync(fd.get()) != 0) return errno_status("fsync " + tmp, errno);
  }
  const int linked = ::link(tmp.c_str(), path.c_str());
  const int link_errno = errno;
  ::unlink(tmp.c_str());
  if (linked != 0) {
    if (link_errno == EEXIST) return load(path);
    return errno_status("create " + path, link_errno);
  }
  (void)fsync_dir(dir.empty() ? "." : dir);
  (void)write_file_atomic(path + ".pub", k.public_key_line() + " r1\n", 0644);  // convenience copy
  return k;
}

std::string identity_key::public_key_base64() const {
  std::string blob;
  put_str(blob, key_type);
  put_str(blob, bytes_of(public_));
  return base64(blob);
}

std::string identity_key::to_openssh(std::string_view comment) const {
  std::string public_blob;
  put_str(public_blob, key_type);
  put_str(public_blob, bytes_of(public_));
  std::string section;
  uint32_t check = 0;
  (void)RAND_bytes(reinterpret_cast<unsigned char*>(&check), sizeof check);
  put_u32(section, check);
  put_u32(section, check);
  put_str(section, key_type);
  put_str(section, bytes_of(public_));
  put_str(section, std::string(bytes_of(seed_)) + std::string(bytes_of(public_)));
  put_str(section, comment);
  for (char pad = 1; section.size() % 8 != 0; ++pad) section.push_back(pad);
  std::string raw(magic);
  put_str(raw, "none");
  put_str(raw, "none");
  put_str(raw, "");
  put_u32(raw, 1);
  put_str(raw, public_blob);
  put_str(raw, section);
  const std::string b64 = base64(raw);
  std::string out = std::string(begin_line) + "\n";
  for (size_t i = 0; i < b64.size(); i += 70) out += b64.substr(i, 70) + "\n";
  out += std::string(end_line) + "\n";
  OPENSSL_cleanse(section.data(), section.size());
  OPENSSL_cleanse(raw.data(), raw.size());
  return out;
}

result<std::string> identity_key::sign(std::string_view data) const {
  R1_ASSIGN_OR_RETURN(pkey_handle k, private_pkey(seed_));
  md_ctx_handle ctx(EVP_MD_CTX_new());
  if (!ctx) return resource_exhausted("EVP_MD_CTX_new failed");
  if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, k.get()) != 1)
    return internal_error("ed25519 signing could not start");
  std::string sig(64, '\0');
  size_t len = sig.size();
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
      len != 64)
    return internal_error("ed25519 signing failed");
  return sig;
}

}  // namespace r1::registry
