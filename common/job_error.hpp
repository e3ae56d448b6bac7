// Batch AI's error shape, {code, message, details[{name, value}]}: what a job, a task or a node
// reports when something failed (reference §7 lists the codes).
#pragma once

#include <string>
#include <vector>

namespace batchai {

struct JobErrorDetail {
  std::string name;
  std::string value;
};

struct JobError {
  std::string code;
  std::string message;
  std::vector<JobErrorDetail> details;
};

}  // namespace batchai
