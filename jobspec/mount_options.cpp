#include "jobspec/mount_options.hpp"

#include <set>
#include <sstream>

namespace batchai {

namespace {

bool only(const std::string& text, const char* allowed) {
  return text.find_first_not_of(allowed) == std::string::npos;
}

constexpr const char* kNameChars = "abcdefghijklmnopqrstuvwxyz0123456789_";
constexpr const char* kValueChars =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:+-";

// rclone mount and vfs options a job may set: caching, sizes, times, ownership of its files.
const std::set<std::string>& rclone_allowed() {
  static const std::set<std::string> names = {"read_only",
                                              "attr_timeout",
                                              "dir_cache_time",
                                              "poll_interval",
                                              "vfs_cache_max_age",
                                              "vfs_cache_max_size",
                                              "vfs_read_chunk_size",
                                              "vfs_read_chunk_size_limit",
                                              "vfs_read_ahead",
                                              "buffer_size",
                                              "max_read_ahead",
                                              "no_modtime",
                                              "no_checksum",
                                              "uid",
                                              "gid",
                                              "umask",
                                              "dir_perms",
                                              "file_perms",
                                              "transfers",
                                              "checkers"};
  return names;
}

// blobfuse's options that rclone has no counterpart for, or that the agent sets itself.
const std::set<std::string>& blobfuse_only() {
  static const std::set<std::string> names = {
      "entry_timeout", "negative_timeout", "tmp_path",  "file_cache_timeout_in_seconds",
      "config_file",   "use_https",        "log_level", "allow_other"};
  return names;
}

// The options of the words of mountOptions: "-o a,b", "-oa", "--a=b", "a".
Result<std::vector<std::string>> option_words(const std::string& mount_options) {
  std::istringstream in(mount_options);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    std::string w = words[i];
    if (w == "-o") {
      if (i + 1 == words.size()) return err("mountOptions: -o without an option");
      w = words[++i];
    } else if (w.starts_with("-o")) {
      w = w.substr(2);
    } else if (w.starts_with("--")) {
      w = w.substr(2);
    }
    std::istringstream parts(w);
    for (std::string opt; std::getline(parts, opt, ',');) {
      if (!opt.empty()) out.push_back(opt);
    }
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> blob_mount_options(const std::string& mount_options) {
  auto options = option_words(mount_options);
  if (!options) return options.error();
  std::vector<std::string> out;
  for (const auto& opt : *options) {
    std::string name = opt.substr(0, opt.find('='));
    const std::string value =
        opt.find('=') == std::string::npos ? "" : opt.substr(opt.find('=') + 1);
    for (char& c : name) c = c == '-' ? '_' : c;
    if (!only(name, kNameChars)) return err("mountOptions: " + opt + " is not an option");
    if (blobfuse_only().count(name) != 0) continue;
    if (!only(value, kValueChars)) return err("mountOptions: " + opt + " is not an option");
    if (name == "ro") name = "read_only";
    if (rclone_allowed().count(name) == 0) {
      return err("mountOptions: " + name +
                 " is not an option a job may set (see docs/mounts.md for the list)");
    }
    if ((name == "attr_timeout" || name == "dir_cache_time") && value.empty()) {
      return err("mountOptions: " + name + " needs a value");
    }
    // blobfuse counts seconds; rclone wants the unit.
    const bool seconds =
        (name == "attr_timeout" || name == "dir_cache_time") && only(value, "0123456789");
    out.push_back(value.empty() ? name : name + "=" + value + (seconds ? "s" : ""));
  }
  return out;
}

Result<std::vector<std::string>> nfs_mount_options(const std::string& mount_options) {
  // Options that name a value take one of letters, digits and . : + -.
  static const std::set<std::string> flags = {
      "rw",         "ro",           "hard",     "soft",        "intr",   "nointr",
      "noatime",    "nodiratime",   "relatime", "strictatime", "noac",   "ac",
      "lock",       "nolock",       "sync",     "async",       "cto",    "nocto",
      "sharecache", "nosharecache", "resvport", "noresvport",  "_netdev"};
  static const std::set<std::string> valued = {
      "vers",       "nfsvers",   "minorversion", "proto",    "port",        "timeo",
      "retrans",    "rsize",     "wsize",        "actimeo",  "acregmin",    "acregmax",
      "acdirmin",   "acdirmax",  "sec",          "nconnect", "lookupcache", "local_lock",
      "mountproto", "mountport", "retry",        "namlen",   "max_connect"};
  std::vector<std::string> out;
  std::istringstream parts(mount_options);
  for (std::string opt; std::getline(parts, opt, ',');) {
    if (opt.empty()) continue;
    const auto eq = opt.find('=');
    const std::string name = opt.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : opt.substr(eq + 1);
    const bool known = eq == std::string::npos
                           ? flags.count(name) != 0
                           : valued.count(name) != 0 && !value.empty() && only(value, kValueChars);
    if (!known) {
      return err("mountOptions: " + opt +
                 " is not an nfs option a job may set (see docs/mounts.md for the list)");
    }
    out.push_back(opt);
  }
  if (out.empty()) out.push_back("rw");
  return out;
}

}  // namespace batchai
