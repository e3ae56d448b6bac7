#include "mount/mount_table.hpp"

#include <libmount/libmount.h>

#include <algorithm>
#include <cstdio>
#include <memory>

namespace batchai {

namespace {

struct TableFree {
  void operator()(libmnt_table* t) const { mnt_unref_table(t); }
};
struct IterFree {
  void operator()(libmnt_iter* i) const { mnt_free_iter(i); }
};

Result<std::vector<std::string>> mounts_in(libmnt_table* table, const std::string& path) {
  std::unique_ptr<libmnt_iter, IterFree> iter(mnt_new_iter(MNT_ITER_FORWARD));
  std::vector<std::string> out;
  libmnt_fs* fs = nullptr;
  while (mnt_table_next_fs(table, iter.get(), &fs) == 0) {
    const char* target = mnt_fs_get_target(fs);
    if (target == nullptr) continue;
    std::string t = target;
    if (t == path || t.starts_with(path + "/")) out.push_back(t);
  }
  // Deepest first; a path mounted twice appears twice and is unmounted twice.
  std::stable_sort(out.begin(), out.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return out;
}

}  // namespace

Result<std::vector<std::string>> mounts_at_or_below(const std::string& path) {
  std::unique_ptr<libmnt_table, TableFree> table(mnt_new_table_from_file("/proc/self/mountinfo"));
  if (!table) return err("cannot read /proc/self/mountinfo");
  return mounts_in(table.get(), path);
}

Result<std::vector<std::string>> mounts_at_or_below_in(const std::string& mountinfo,
                                                       const std::string& path) {
  std::unique_ptr<libmnt_table, TableFree> table(mnt_new_table());
  std::unique_ptr<FILE, int (*)(FILE*)> in(
      ::fmemopen(const_cast<char*>(mountinfo.data()), mountinfo.size(), "r"), ::fclose);
  if (!table || !in || mountinfo.empty()) return err("no mount table");
  if (mnt_table_parse_stream(table.get(), in.get(), "mountinfo") != 0) {
    return err("the mount table cannot be read");
  }
  return mounts_in(table.get(), path);
}

std::string mount_fstype(const std::string& target) {
  std::unique_ptr<libmnt_table, TableFree> table(mnt_new_table_from_file("/proc/self/mountinfo"));
  if (!table) return "";
  std::unique_ptr<libmnt_iter, IterFree> iter(mnt_new_iter(MNT_ITER_BACKWARD));
  libmnt_fs* fs = nullptr;
  while (mnt_table_next_fs(table.get(), iter.get(), &fs) == 0) {
    const char* t = mnt_fs_get_target(fs);
    const char* type = mnt_fs_get_fstype(fs);
    if (t != nullptr && target == t) return type != nullptr ? type : "";
  }
  return "";
}

}  // namespace batchai
