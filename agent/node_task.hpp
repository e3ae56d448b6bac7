// One task the control plane assigned to this node, from its start to the moment the control
// plane has its final state. What the agent must remember about it is written to
// <state dir>/jobs/<job uuid>/task.json before anything starts, so an agent restarted (even
// after kill -9) finds its tasks again; the job itself runs under its supervisor meanwhile.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "agent/daemon_config.hpp"
#include "agent/job_layout.hpp"
#include "exec/job_status.hpp"
#include "protocol/messages.hpp"

namespace batchai {

class NodeTask {
 public:
  // Sets the task up and starts its supervisor; a task that cannot start is a failed task
  // (its error says why), never an exception.
  static NodeTask start(const protocol::TaskAssignment& assignment, const DaemonConfig& config);
  // The tasks recorded in the state dir that the control plane may not have the end of yet.
  static std::vector<NodeTask> recover(const DaemonConfig& config);

  const std::string& task_id() const { return task_id_; }
  const std::string& job_name() const { return names_.job; }
  const std::string& job_uuid() const { return job_uuid_; }
  // The task's state as the protocol reports it; reads the supervisor's status.json.
  protocol::TaskReport report();
  bool is_final();
  // SIGTERM to the supervisor (once): the job ends as JobTerminate.
  void terminate();
  // Whether finish() has work: the last report() found the task final, and its job is not
  // taken down yet.
  bool take_down_due() const { return !taken_down_ && protocol::is_final_task_state(last_state_); }
  // When take_down_due(): the job's volumes come down (once). Returns warnings.
  std::vector<std::string> finish();
  // The control plane has the final state: the record is closed.
  void forget();

 private:
  NodeTask() = default;
  void save() const;
  std::string record_path() const;
  bool supervisor_alive() const;
  protocol::TaskReport read_report();

  std::string task_id_;
  std::string job_uuid_;
  JobNames names_;
  DaemonConfig config_;
  std::int64_t created_ms_ = 0;
  bool taken_down_ = false;
  bool terminate_sent_ = false;
  std::optional<JobError> setup_error_;  // failed before the supervisor started
  std::optional<JobStatus> last_status_;
  std::string last_state_;  // what the last report() said
};

}  // namespace batchai
