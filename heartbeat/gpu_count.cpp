#include "heartbeat/gpu_count.hpp"

#include <dirent.h>

#include <memory>

namespace batchai {

namespace {
struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};
}  // namespace

int count_gpus(const std::string& proc_dir) {
  std::unique_ptr<DIR, DirCloser> dir(::opendir(proc_dir.c_str()));
  if (!dir) return 0;
  int count = 0;
  while (dirent* e = ::readdir(dir.get())) {
    if (e->d_name[0] != '.') ++count;
  }
  return count;
}

}  // namespace batchai
