#include "controlplane/smb_files.hpp"

#include <fcntl.h>
// The header declares some of its functions outside its own extern "C".
extern "C" {
#include <libsmbclient.h>
}
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "common/percent_encode.hpp"
#include "common/time.hpp"

namespace batchai::cp {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxListedFiles = 10000;
constexpr int kTimeoutMs = 15000;

struct ContextFree {
  void operator()(SMBCCTX* c) const { smbc_free_context(c, 1); }
};
using Context = std::unique_ptr<SMBCCTX, ContextFree>;

void no_log(void*, int, const char*) {}

// Debian's libsmbclient exports no thread set-up (smbc_thread_posix), and its contexts share
// per-process state: one call at a time. Each is bounded by the context's timeout.
// A call that cannot have its turn within this long is answered 503, so an unreachable server
// holds back the others' SMB calls for a bounded time and never the other routes.
constexpr auto kTurnWait = std::chrono::seconds(20);

std::timed_mutex& smb_mutex() {
  static std::timed_mutex m;
  return m;
}

ApiError busy() {
  return {503, "StorageBusy", "the control plane's SMB client is busy: try again"};
}

std::string url_of(const SmbDirectory& d, const std::string& name = "") {
  std::string url = "smb://" + d.host + "/" + percent_encode(d.share);
  std::size_t start = 0;
  while (start < d.path.size()) {
    const std::size_t end = std::min(d.path.find('/', start), d.path.size());
    if (end > start) url += "/" + percent_encode(d.path.substr(start, end - start));
    start = end + 1;
  }
  if (!name.empty()) url += "/" + percent_encode(name);
  return url;
}

std::string lower(std::string text) {
  for (char& ch : text) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  return text;
}

void copy_into(char* out, int size, const std::string& text) {
  if (size <= 0) return;
  const auto n = std::min<std::size_t>(text.size(), static_cast<std::size_t>(size) - 1);
  std::memcpy(out, text.data(), n);
  out[n] = '\0';
}

void give_credentials(SMBCCTX* c, const char* server, const char* share, char* workgroup,
                      int workgroup_size, char* user, int user_size, char* password,
                      int password_size) {
  const auto* d = static_cast<const SmbDirectory*>(smbc_getOptionUserData(c));
  copy_into(workgroup, workgroup_size, "WORKGROUP");
  // Only to the endpoint itself: a DFS referral to another server gets no key.
  const bool ours = server != nullptr && lower(server) == lower(d->host) &&
                    (share == nullptr || *share == '\0' || lower(share) == lower(d->share) ||
                     lower(share) == "ipc$");
  if (!ours) {
    copy_into(user, user_size, "");
    copy_into(password, password_size, "");
    return;
  }
  copy_into(user, user_size, d->user);
  copy_into(password, password_size, d->password);
}

// A context that logs in as the account with its key, at the directory's port.
std::variant<Context, ApiError> connect(const SmbDirectory& d) {
  Context c(smbc_new_context());
  if (!c) return ApiError{500, "InternalError", "libsmbclient could not make a context"};
  smbc_setDebug(c.get(), 0);
  smbc_setLogCallback(c.get(), nullptr, no_log);
  smbc_setTimeout(c.get(), kTimeoutMs);
  smbc_setPort(c.get(), static_cast<uint16_t>(d.port));
  smbc_setOptionUseKerberos(c.get(), 0);
  smbc_setOptionFallbackAfterKerberos(c.get(), 1);
  smbc_setOptionNoAutoAnonymousLogin(c.get(), 1);
  // The credentials are given when the server asks, from the directory the context is for.
  smbc_setOptionUserData(c.get(), const_cast<SmbDirectory*>(&d));
  smbc_setFunctionAuthDataWithContext(c.get(), give_credentials);
  if (smbc_init_context(c.get()) == nullptr) {
    return ApiError{500, "InternalError", "libsmbclient could not start"};
  }
  return c;
}

// What an errno of libsmbclient means for the caller.
ApiError smb_error(const SmbDirectory& d, int error) {
  const std::string where =
      "the Azure Files share " + d.share + " at " + d.host + ":" + std::to_string(d.port);
  switch (error) {
    case EACCES:
    case EPERM:
      return {403, "StorageAccessDenied", where + " refused the storage account's key"};
    case ECONNREFUSED:
    case ETIMEDOUT:
    case EHOSTUNREACH:
    case ENETUNREACH:
      return {503, "StorageUnreachable", where + " is not reachable"};
    case ENODEV:
      return not_found("ShareNotFound", where + " does not exist");
    default:
      return {502, "StorageError", where + ": " + std::string(std::strerror(error))};
  }
}

std::string iso_of(const struct stat& st) {
  return iso8601_utc(static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000 +
                     st.st_mtim.tv_nsec / 1000000);
}

}  // namespace

std::variant<json, ApiError> list_smb_files(const SmbDirectory& d, bool with_directories) {
  std::unique_lock lock(smb_mutex(), kTurnWait);
  if (!lock.owns_lock()) return busy();
  auto connected = connect(d);
  if (auto* e = std::get_if<ApiError>(&connected)) return *e;
  SMBCCTX* c = std::get<Context>(connected).get();
  SMBCFILE* dir = smbc_getFunctionOpendir(c)(c, url_of(d).c_str());
  if (dir == nullptr) {
    if (errno == ENOENT || errno == ENOTDIR) return json::array();
    return smb_error(d, errno);
  }
  std::vector<json> files;
  struct stat st {};
  while (const auto* info = smbc_getFunctionReaddirPlus2(c)(c, dir, &st)) {
    const std::string name = info->name != nullptr ? info->name : "";
    if (name.empty() || name == "." || name == "..") continue;
    if (with_directories && S_ISDIR(st.st_mode)) {
      files.push_back({{"name", name}, {"directory", true}, {"lastModified", iso_of(st)}});
    }
    if (!S_ISREG(st.st_mode)) continue;
    files.push_back({{"name", name},
                     {"size", static_cast<std::int64_t>(st.st_size)},
                     {"lastModified", iso_of(st)}});
    if (files.size() >= kMaxListedFiles) break;
  }
  smbc_getFunctionClosedir(c)(c, dir);
  std::sort(files.begin(), files.end(), [](const json& a, const json& b) {
    return a["name"].get<std::string>() < b["name"].get<std::string>();
  });
  return json(files);
}

std::variant<FileChunk, ApiError> read_smb_chunk(const SmbDirectory& d, const std::string& name,
                                                 std::int64_t offset, std::size_t max_bytes) {
  std::unique_lock lock(smb_mutex(), kTurnWait);
  if (!lock.owns_lock()) return busy();
  auto connected = connect(d);
  if (auto* e = std::get_if<ApiError>(&connected)) return *e;
  SMBCCTX* c = std::get<Context>(connected).get();
  SMBCFILE* f = smbc_getFunctionOpen(c)(c, url_of(d, name).c_str(), O_RDONLY, 0);
  if (f == nullptr) {
    if (errno == ENOENT) return not_found("FileNotFound", "the file does not exist (yet)");
    return smb_error(d, errno);
  }
  std::shared_ptr<SMBCFILE> closer(f, [c](SMBCFILE* file) { smbc_getFunctionClose(c)(c, file); });
  struct stat st {};
  if (smbc_getFunctionFstat(c)(c, f, &st) != 0 || !S_ISREG(st.st_mode)) {
    return not_found("FileNotReadable", "the file is not a regular file");
  }
  FileChunk chunk;
  chunk.file_size = st.st_size;
  if (offset >= st.st_size || max_bytes == 0) return chunk;
  if (smbc_getFunctionLseek(c)(c, f, static_cast<off_t>(offset), SEEK_SET) < 0) {
    return smb_error(d, errno);
  }
  const std::size_t want =
      std::min<std::size_t>(max_bytes, static_cast<std::size_t>(st.st_size - offset));
  chunk.bytes.resize(want);
  std::size_t got = 0;
  while (got < want) {
    const ssize_t n = smbc_getFunctionRead(c)(c, f, chunk.bytes.data() + got, want - got);
    if (n < 0) return smb_error(d, errno);
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  chunk.bytes.resize(got);
  return chunk;
}

}  // namespace batchai::cp
