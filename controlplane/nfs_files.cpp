#include "controlplane/nfs_files.hpp"

#include <fcntl.h>
#include <nfsc/libnfs.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "common/fs.hpp"
#include "common/time.hpp"

namespace batchai::cp {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxListedFiles = 10000;
constexpr int kTimeoutMs = 15000;  // every RPC of a context
constexpr int kSynCount = 3;       // a TCP connect gives up after about 15 s
// nfsdirent.type: NF3REG and NF3DIR of libnfs-raw-nfs.h (for NFSv4 too).
constexpr std::uint32_t kRegular = 1;
constexpr std::uint32_t kDirectory = 2;

struct ContextFree {
  void operator()(nfs_context* c) const { nfs_destroy_context(c); }
};
using Context = std::unique_ptr<nfs_context, ContextFree>;

std::string where(const NfsDirectory& d) {
  return "the NFS server " + d.host + ":" + d.export_path;
}

// What a libnfs error (a negative errno) means for the caller. libnfs's own message is left
// out: it may carry bytes of the server's answer that are not text.
ApiError nfs_error(const NfsDirectory& d, int error) {
  switch (-error) {
    case EACCES:
    case EPERM:
      return {403, "FileServerAccessDenied", where(d) + " refused access"};
    case ETIMEDOUT:
    case ECONNREFUSED:
    case ECONNRESET:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EPIPE:
      return {503, "FileServerUnreachable", where(d) + " is not reachable"};
    default:
      return {502, "FileServerError", where(d) + ": " + std::string(std::strerror(-error))};
  }
}

// The options libnfs has no setter for (nfsport, mountport) come in a URL that names no path:
// the export is given to nfs_mount as it is.
std::string options_url(const NfsDirectory& d) {
  std::string url = "nfs://" + d.host + "/?version=" + std::to_string(d.version);
  if (d.port > 0) url += "&nfsport=" + std::to_string(d.port);
  if (d.mount_port > 0 && d.version == 3) url += "&mountport=" + std::to_string(d.mount_port);
  return url;
}

// A context with the export mounted, every call of it bounded by the timeout.
std::variant<Context, ApiError> connect(const NfsDirectory& d) {
  Context c(nfs_init_context());
  if (!c) return ApiError{500, "InternalError", "libnfs could not make a context"};
  nfs_set_timeout(c.get(), kTimeoutMs);
  nfs_set_tcp_syncnt(c.get(), kSynCount);
  nfs_set_autoreconnect(c.get(), 0);
  nfs_url* url = nfs_parse_url_dir(c.get(), options_url(d).c_str());
  if (url == nullptr) {
    return ApiError{502, "FileServerError", where(d) + ": libnfs does not take the address"};
  }
  nfs_destroy_url(url);
  const int r = nfs_mount(c.get(), d.host.c_str(), d.export_path.c_str());
  if (r == -ENOENT) return not_found("ExportNotFound", where(d) + " has no such export");
  if (r == -EACCES || r == -EPERM) return nfs_error(d, r);
  if (r != 0) {
    return ApiError{503, "FileServerUnreachable",
                    where(d) + " could not be mounted (NFS version " + std::to_string(d.version) +
                        "): it is not reachable or does not answer"};
  }
  return c;
}

// Every directory on the way to path, path included, looked at without following a symbolic
// link: 0 when all are directories, else -ENOTDIR or libnfs's error.
int walk(nfs_context* c, const std::string& path) {
  std::string at;
  for (const auto& name : split_path(path)) {
    at += "/" + name;
    struct nfs_stat_64 st {};
    if (const int r = nfs_lstat64(c, at.c_str(), &st); r != 0) return r;
    if (!S_ISDIR(st.nfs_mode)) return -ENOTDIR;
  }
  return 0;
}

std::string in_mount(const std::string& path, const std::string& name = "") {
  std::string out = "/" + path;
  if (!name.empty()) out += (path.empty() ? "" : "/") + name;
  return out;
}

std::string iso_of(const struct timeval& tv, std::uint32_t nsec) {
  return iso8601_utc(static_cast<std::int64_t>(tv.tv_sec) * 1000 + nsec / 1000000);
}

// The listing's entry for e, if it is a regular file or (with_directories) a directory.
std::optional<json> entry_of(const nfsdirent& e, bool with_directories) {
  const std::string name = e.name != nullptr ? e.name : "";
  if (name == "." || name == ".." || !is_nfs_name(name)) return std::nullopt;
  const std::string modified = iso_of(e.mtime, e.mtime_nsec);
  if (e.type == kDirectory && with_directories) {
    return json{{"name", name}, {"directory", true}, {"lastModified", modified}};
  }
  if (e.type != kRegular) return std::nullopt;  // symbolic links among them
  return json{
      {"name", name}, {"size", static_cast<std::int64_t>(e.size)}, {"lastModified", modified}};
}

// The number of bytes after a lead byte c of UTF-8, and the range of the first of them
// (RFC 3629: no overlong form, no surrogate, nothing past U+10FFFF); -1 for no lead byte.
int continuation(unsigned char c, unsigned char& low, unsigned char& high) {
  low = 0x80;
  high = 0xBF;
  if (c < 0x80) return 0;
  if (c >= 0xC2 && c <= 0xDF) return 1;
  if (c >= 0xE0 && c <= 0xEF) {
    low = c == 0xE0 ? 0xA0 : 0x80;
    high = c == 0xED ? 0x9F : 0xBF;
    return 2;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    low = c == 0xF0 ? 0x90 : 0x80;
    high = c == 0xF4 ? 0x8F : 0xBF;
    return 3;
  }
  return -1;
}

// Whether text is valid UTF-8 (what a JSON answer can carry).
bool utf8(const std::string& text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    unsigned char low = 0, high = 0;
    const int n = continuation(static_cast<unsigned char>(text[i]), low, high);
    if (n < 0 || (n > 0 && i + static_cast<std::size_t>(n) >= text.size())) return false;
    for (int k = 1; k <= n; ++k) {
      const auto b = static_cast<unsigned char>(text[i + static_cast<std::size_t>(k)]);
      if (b < (k == 1 ? low : 0x80) || b > (k == 1 ? high : 0xBF)) return false;
    }
    i += static_cast<std::size_t>(n);
  }
  return true;
}

// The bytes of an open file from offset, at most want, in reads the server takes.
std::variant<std::string, ApiError> read_at(nfs_context* c, nfsfh* fh, const NfsDirectory& d,
                                            std::int64_t offset, std::size_t want) {
  const std::size_t step = std::max<std::size_t>(4096, nfs_get_readmax(c));
  std::string bytes(want, '\0');
  std::size_t got = 0;
  while (got < want) {
    const int n = nfs_pread(c, fh, static_cast<std::uint64_t>(offset) + got,
                            std::min(step, want - got), bytes.data() + got);
    if (n < 0) return nfs_error(d, n);
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  bytes.resize(got);
  return bytes;
}

}  // namespace

bool is_nfs_name(const std::string& name) {
  if (name.empty() || name.size() > 255 || name == "." || name == "..") return false;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f || c == '/') return false;
  }
  return utf8(name);
}

std::variant<json, ApiError> list_nfs_files(const NfsDirectory& d, bool with_directories) {
  auto connected = connect(d);
  if (auto* e = std::get_if<ApiError>(&connected)) return *e;
  nfs_context* c = std::get<Context>(connected).get();
  nfsdir* dir = nullptr;
  int r = walk(c, d.path);
  if (r == 0) r = nfs_opendir(c, in_mount(d.path).c_str(), &dir);
  if (r == -ENOENT || r == -ENOTDIR) return json::array();
  if (r != 0) return nfs_error(d, r);
  std::vector<json> files;
  while (const nfsdirent* e = nfs_readdir(c, dir)) {
    if (auto entry = entry_of(*e, with_directories)) files.push_back(std::move(*entry));
    if (files.size() >= kMaxListedFiles) break;
  }
  nfs_closedir(c, dir);
  std::sort(files.begin(), files.end(), [](const json& a, const json& b) {
    return a["name"].get<std::string>() < b["name"].get<std::string>();
  });
  return json(files);
}

std::variant<FileChunk, ApiError> read_nfs_chunk(const NfsDirectory& d, const std::string& name,
                                                 std::int64_t offset, std::size_t max_bytes) {
  auto connected = connect(d);
  if (auto* e = std::get_if<ApiError>(&connected)) return *e;
  nfs_context* c = std::get<Context>(connected).get();
  nfsfh* fh = nullptr;
  int r = walk(c, d.path);
  if (r == 0) r = nfs_open(c, in_mount(d.path, name).c_str(), O_RDONLY | O_NOFOLLOW, &fh);
  if (r == -ENOENT || r == -ENOTDIR)
    return not_found("FileNotFound", "the file does not exist (yet)");
  if (r == -ELOOP) return not_found("FileNotReadable", "the file is not a regular file");
  if (r != 0) return nfs_error(d, r);
  std::unique_ptr<nfsfh, std::function<void(nfsfh*)>> closer(fh,
                                                             [c](nfsfh* f) { nfs_close(c, f); });
  struct nfs_stat_64 st {};
  if (nfs_fstat64(c, fh, &st) != 0 || !S_ISREG(st.nfs_mode)) {
    return not_found("FileNotReadable", "the file is not a regular file");
  }
  FileChunk chunk;
  chunk.file_size = static_cast<std::int64_t>(st.nfs_size);
  if (offset >= chunk.file_size || max_bytes == 0) return chunk;
  const std::size_t want =
      std::min<std::size_t>(max_bytes, static_cast<std::size_t>(chunk.file_size - offset));
  auto bytes = read_at(c, fh, d, offset, want);
  if (auto* e = std::get_if<ApiError>(&bytes)) return *e;
  chunk.bytes = std::move(std::get<std::string>(bytes));
  return chunk;
}

}  // namespace batchai::cp
