// What the node reports (docs/protocol.md): its state, decided from where it is in its life and
// what its tasks say, the errors that make it unusable, and its tasks' reports. Pure: the daemon
// gathers the inputs, the unit tests give their own.
#pragma once

#include <string>
#include <vector>

#include "common/job_error.hpp"
#include "protocol/messages.hpp"

namespace batchai {

struct NodeCondition {
  bool preparing = false;              // the node's own set-up is not done
  bool leaving = false;                // the control plane scaled it down
  std::vector<JobError> setup_errors;  // its set-up failed: volumes, admin account, setup task
  std::vector<JobError> gpu_errors;    // the GPUs' health, from the last check
};

// preparing, idle, running (a task not final), leaving; unusable over all of them when the
// set-up or the GPUs failed, or when a task that is not final has processes SIGKILL cannot end
// (JobProcessesNotKilled, naming the task). The errors go with unusable only.
struct NodeStateDecision {
  std::string state;
  std::vector<JobError> errors;
};
NodeStateDecision decide_node_state(const NodeCondition& condition,
                                    const std::vector<protocol::TaskReport>& tasks);

// The report without its sequence number and facts (the sender adds them).
protocol::NodeReport assemble_node_report(const std::string& boot_id,
                                          const NodeCondition& condition,
                                          std::vector<protocol::TaskReport> tasks);

}  // namespace batchai
