// execution.log: the node's own account of a job, one timestamped line per step. Both the agent
// and the job's supervisor append to it; each line is one write() on an O_APPEND descriptor, so
// their lines never interleave. Never pass a secret's value here.
#pragma once

#include <string>

#include "common/unique_fd.hpp"

namespace batchai {

class ExecutionLog {
 public:
  ExecutionLog() = default;
  // Opens (creating, mode 0644) the log; a log that cannot be opened drops lines silently,
  // because the job must not fail for its diary.
  explicit ExecutionLog(const std::string& path);
  void line(const std::string& text);
  bool is_open() const { return fd_.valid(); }

 private:
  UniqueFd fd_;
};

}  // namespace batchai
