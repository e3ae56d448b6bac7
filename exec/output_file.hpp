// A task's stdout or stderr file: bytes are appended in place as they arrive, never rewritten,
// and synced at most once a second so that readers of a network share see them promptly too.
#pragma once

#include <cstddef>
#include <string>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace batchai {

// What a job's supervisor and the agent append to (output files, execution.log).
Result<UniqueFd> open_for_append(const std::string& path, const std::string& root);

class OutputFile {
 public:
  // Opens path for appending (created 0644), never through a symbolic link; below `root`
  // (when given) beneath it, so that no directory on the way may be a link either.
  static Result<OutputFile> open(const std::string& path, const std::string& root = "");

  // Writes all of data, blocking as long as the disk needs: a chatty task is slowed, not cut.
  Status append(const char* data, std::size_t size);
  // fdatasync when something was written since the last sync.
  void sync_if_dirty();
  const std::string& path() const { return path_; }

 private:
  OutputFile(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::string path_;
  bool dirty_ = false;
};

}  // namespace batchai
