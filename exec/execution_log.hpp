// execution.log: the node's own account of a job, one timestamped line per step. Both the agent
// and the job's supervisor append to it; each line is one write() on an O_APPEND descriptor, so
// their lines never interleave. The file is opened for each line and closed again: it usually
// lives on a volume, and an open descriptor would keep that volume busy at unmount.
// Never pass a secret's value here.
#pragma once

#include <string>

namespace batchai {

class ExecutionLog {
 public:
  ExecutionLog() = default;
  // Lines go to path (created with mode 0644). A log that cannot be written drops lines
  // silently, because the job must not fail for its diary. No path: lines are dropped.
  // Below `root` (when given) the file is opened beneath it (exec/output_file.hpp).
  explicit ExecutionLog(std::string path, std::string root = "")
      : path_(std::move(path)), root_(std::move(root)) {}
  void line(const std::string& text) const;

 private:
  std::string path_;
  std::string root_;
};

}  // namespace batchai
