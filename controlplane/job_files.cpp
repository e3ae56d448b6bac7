#include "controlplane/job_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "common/beneath.hpp"
#include "common/fs.hpp"
#include "common/time.hpp"
#include "common/unique_fd.hpp"
#include "controlplane/names.hpp"
#include "jobspec/expand.hpp"

namespace batchai::cp {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxListedFiles = 10000;

// Expands text with $AZ_BATCHAI_MOUNT_ROOT only.
std::variant<std::string, ApiError> expand_here(const std::string& text, const std::string& field,
                                                const std::string& node_root) {
  const std::string mount_root = join_path(node_root, "shared/LS_root/mounts");
  auto lookup = [&](const std::string& name) -> Result<std::string> {
    if (name == "AZ_BATCHAI_MOUNT_ROOT") return mount_root;
    return err("$" + name);
  };
  auto expanded = expand_vars(text, lookup);
  if (!expanded) {
    return files_not_reachable(field, "uses " + expanded.error().message +
                                          ", which only the node knows (the control plane expands "
                                          "$AZ_BATCHAI_MOUNT_ROOT only)");
  }
  if (expanded->empty() || (*expanded)[0] != '/') {
    return files_not_reachable(field, "is not an absolute path");
  }
  return *expanded;
}

// The directory path, which must lie below the mount root, relative to the node root.
std::variant<JobDirectory, ApiError> below_mount_root(const std::string& dir,
                                                      const std::string& field,
                                                      const std::string& node_root) {
  const std::string mount_root = join_path(node_root, "shared/LS_root/mounts");
  if (!dir.starts_with(mount_root + "/") || dir.find("/../") != std::string::npos ||
      dir.ends_with("/..")) {
    return files_not_reachable(field,
                               "is outside $AZ_BATCHAI_MOUNT_ROOT, where the control plane "
                               "serves nothing");
  }
  return JobDirectory{node_root, "shared/LS_root/mounts/" + dir.substr(mount_root.size() + 1),
                      std::nullopt, std::nullopt};
}

// The job's directory, opened beneath the node root: a symbolic link anywhere on the way (in a
// share anyone may write) is refused, not followed. None when it does not exist (yet).
std::variant<UniqueFd, ApiError> open_directory(const JobDirectory& dir) {
  UniqueFd root(::open(dir.node_root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) {
    if (errno == ENOENT) return UniqueFd();
    return ApiError{500, "InternalError", "the node root cannot be opened"};
  }
  auto fd = open_beneath(root.get(), dir.relative, O_RDONLY | O_DIRECTORY);
  if (!fd) {
    if (errno == ENOENT) return UniqueFd();
    return not_found("DirectoryNotReadable", "cannot open the directory: " + fd.error().message);
  }
  return std::move(*fd);
}

std::string iso_of(const struct timespec& ts) {
  return iso8601_utc(static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000);
}

}  // namespace

bool is_safe_file_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

std::variant<JobDirectory, ApiError> job_directory(const JobRecord& job,
                                                   const std::string& directory,
                                                   const JobFilesPlace& place) {
  const std::string segment =
      output_segment(job.resource_group, job.workspace, job.experiment, job.name, job.uuid);
  const json& props = job.properties;
  std::string prefix, suffix, field;
  if (directory == "stdouterr") {
    prefix = props.value("stdOutErrPathPrefix", "");
    suffix = segment + "/stdouterr";
    field = "stdOutErrPathPrefix";
  } else {
    const json outputs = props.value("outputDirectories", json::array());
    bool found = false;
    for (std::size_t i = 0; i < outputs.size() && !found; ++i) {
      const json& o = outputs[i];
      if (!o.is_object() || o.value("id", "") != directory) continue;
      found = true;
      field = "outputDirectories[" + std::to_string(i) + "].pathPrefix";
      prefix = o.value("pathPrefix", "");
      // API 2018-03-01's createNew: false puts the directory at <pathPrefix>[/<pathSuffix>].
      const bool create_new = !(o.contains("createNew") && o["createNew"] == false);
      if (create_new) suffix = segment + "/outputs";
      if (o.contains("pathSuffix") && o["pathSuffix"].is_string() &&
          !o["pathSuffix"].get<std::string>().empty()) {
        auto expanded = expand_vars(o["pathSuffix"].get<std::string>(), [](const std::string& n) {
          return Result<std::string>(err("$" + n));
        });
        if (!expanded) {
          return files_not_reachable(
              "outputDirectories[" + std::to_string(i) + "].pathSuffix",
              "uses " + expanded.error().message + ", which only the node knows");
        }
        suffix = join_path(suffix, *expanded);
      }
    }
    if (!found) {
      return not_found("DirectoryNotFound", "the job has no output directory \"" + directory +
                                                "\" (and it is not \"stdouterr\")");
    }
  }
  const ShareVolumes volumes{props.value("mountVolumes", json()), place.cluster_volumes,
                             place.accounts};
  if (auto share = share_directory(prefix, suffix, field, volumes)) {
    if (auto* e = std::get_if<ApiError>(&*share)) return *e;
    return JobDirectory{"", "", std::get<SmbDirectory>(*share), std::nullopt};
  }
  if (auto blob = blob_directory(prefix, suffix, field, volumes)) {
    if (auto* e = std::get_if<ApiError>(&*blob)) return *e;
    return JobDirectory{"", "", std::nullopt, std::get<BlobDirectory>(*blob)};
  }
  if (auto nfs = nfs_directory(prefix, suffix, field, volumes, place.file_servers)) {
    if (auto* e = std::get_if<ApiError>(&*nfs)) return *e;
    return JobDirectory{"", "", std::nullopt, std::nullopt, std::get<NfsDirectory>(*nfs)};
  }
  if (!place.node_root) {
    return not_found("FilesNotReachable",
                     "the job's files are not reachable from the control plane: they are on no "
                     "Azure Files share it holds, and it was started without --node-root");
  }
  auto expanded = expand_here(prefix, field, *place.node_root);
  if (auto* e = std::get_if<ApiError>(&expanded)) return *e;
  return below_mount_root(join_path(std::get<std::string>(expanded), suffix), field,
                          *place.node_root);
}

JobFilesPlace job_files_place(const State& s, const JobRecord& job,
                              const std::optional<std::string>& node_root,
                              const StorageAccounts* accounts) {
  JobFilesPlace place{node_root, nullptr, accounts};
  auto c = s.clusters.find(job.cluster);
  if (c != s.clusters.end() && c->second.node_setup.is_object()) {
    place.cluster_volumes = c->second.node_setup.value("mountVolumes", json());
  }
  return place;
}

std::optional<ApiError> descend(JobDirectory& dir, const std::string& relative) {
  if (relative.size() > 1024) return bad_request("InvalidPath", "the path is over 1024 bytes");
  std::size_t start = 0, count = 0;
  std::string joined;
  while (start <= relative.size()) {
    const std::size_t end = std::min(relative.find('/', start), relative.size());
    const std::string name = relative.substr(start, end - start);
    if (!is_safe_file_name(name) || (dir.smb && !is_smb_name(name)) ||
        (dir.blob && !is_blob_name(name)) || (dir.nfs && !is_nfs_name(name)) || ++count > 32) {
      return bad_request("InvalidPath",
                         "the path must be names separated by '/', none empty, \".\" or "
                         "\"..\", at most 32");
    }
    joined += (joined.empty() ? "" : "/") + name;
    start = end + 1;
  }
  if (dir.smb) {
    dir.smb->path = dir.smb->path.empty() ? joined : dir.smb->path + "/" + joined;
  } else if (dir.blob) {
    dir.blob->path = dir.blob->path.empty() ? joined : dir.blob->path + "/" + joined;
    if (dir.blob->path.size() > 1024) {
      return bad_request("InvalidPath", "the path in the blob container is over 1024 bytes");
    }
  } else if (dir.nfs) {
    dir.nfs->path = dir.nfs->path.empty() ? joined : dir.nfs->path + "/" + joined;
  } else {
    dir.relative += "/" + joined;
  }
  return std::nullopt;
}

std::variant<json, ApiError> list_files(const JobDirectory& dir, bool with_directories) {
  if (dir.smb) return list_smb_files(*dir.smb, with_directories);
  if (dir.blob) return list_blob_files(*dir.blob, with_directories);
  if (dir.nfs) return list_nfs_files(*dir.nfs, with_directories);
  auto opened = open_directory(dir);
  if (auto* e = std::get_if<ApiError>(&opened)) return *e;
  UniqueFd fd = std::move(std::get<UniqueFd>(opened));
  if (!fd.valid()) return json::array();
  int dup_fd = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return ApiError{500, "InternalError", "cannot list the directory"};
  std::unique_ptr<DIR, int (*)(DIR*)> d(::fdopendir(dup_fd), ::closedir);
  if (!d) {
    ::close(dup_fd);
    return ApiError{500, "InternalError", "cannot list the directory"};
  }
  std::vector<json> files;
  while (struct dirent* e = ::readdir(d.get())) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    if (::fstatat(fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (with_directories && S_ISDIR(st.st_mode)) {
      files.push_back({{"name", name}, {"directory", true}, {"lastModified", iso_of(st.st_mtim)}});
    }
    if (!S_ISREG(st.st_mode)) continue;
    files.push_back({{"name", name},
                     {"size", static_cast<std::int64_t>(st.st_size)},
                     {"lastModified", iso_of(st.st_mtim)}});
    if (files.size() >= kMaxListedFiles) break;
  }
  std::sort(files.begin(), files.end(), [](const json& a, const json& b) {
    return a["name"].get<std::string>() < b["name"].get<std::string>();
  });
  return json(files);
}

std::optional<std::variant<std::string, ApiError>> storage_download_url(
    const JobDirectory& dir, const std::string& name, std::int64_t expiry_unix_s) {
  if (!dir.blob) return std::nullopt;
  return blob_download_url(*dir.blob, name, expiry_unix_s);
}

std::variant<FileChunk, ApiError> read_file_chunk(const JobDirectory& dir, const std::string& name,
                                                  std::int64_t offset, std::size_t max_bytes) {
  if (!is_safe_file_name(name)) {
    return bad_request("InvalidFileName", "the file name must be one path component");
  }
  if (dir.smb) {
    if (!is_smb_name(name)) {
      return bad_request("InvalidFileName", "the file name is not a plain SMB name");
    }
    return read_smb_chunk(*dir.smb, name, offset, max_bytes);
  }
  if (dir.nfs) {
    if (!is_nfs_name(name)) {
      return bad_request("InvalidFileName", "the file name is not a plain NFS name");
    }
    return read_nfs_chunk(*dir.nfs, name, offset, max_bytes);
  }
  // A blob's link is a SAS of the blob service (storage_download_url): the control plane never
  // relays blob bytes.
  if (dir.blob) {
    return bad_request("InvalidFileLink",
                       "a file on a blob container is read through its blob link");
  }
  auto opened = open_directory(dir);
  if (auto* e = std::get_if<ApiError>(&opened)) return *e;
  UniqueFd dfd = std::move(std::get<UniqueFd>(opened));
  if (!dfd.valid()) return not_found("FileNotFound", "the file does not exist (yet)");
  UniqueFd fd(
      ::openat(dfd.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return not_found("FileNotFound", "the file does not exist (yet)");
    return not_found("FileNotReadable",
                     "the file cannot be read: it is not a regular file or " + errno_text(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return not_found("FileNotReadable", "the file is not a regular file");
  }
  FileChunk chunk;
  chunk.file_size = st.st_size;
  if (offset >= st.st_size) return chunk;
  std::size_t want =
      std::min<std::size_t>(max_bytes, static_cast<std::size_t>(st.st_size - offset));
  chunk.bytes.resize(want);
  std::size_t got = 0;
  while (got < want) {
    ssize_t n = ::pread(fd.get(), chunk.bytes.data() + got, want - got,
                        static_cast<off_t>(offset + static_cast<std::int64_t>(got)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ApiError{500, "FileNotReadable", "reading the file failed"};
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  chunk.bytes.resize(got);
  return chunk;
}

}  // namespace batchai::cp
