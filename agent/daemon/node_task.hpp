// One task the control plane assigned to this node, from its start to the moment the control
// plane has its final state. What the agent must remember about it is written to
// <state dir>/jobs/<job uuid>/task.json before anything starts, so an agent restarted (even
// after kill -9) finds its tasks again; the job itself runs under its supervisor meanwhile.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/config/daemon_config.hpp"
#include "agent/daemon/serial_worker.hpp"
#include "agent/daemon/task_start.hpp"
#include "agent/job/layout.hpp"
#include "exec/job_status.hpp"
#include "protocol/messages.hpp"

namespace batchai {

class NodeTask {
 public:
  // Records the task, then posts its set-up (agent/daemon/task_start.hpp) to `worker`. Until the
  // set-up ends the task reports running; a set-up that fails makes a failed task (its error says
  // why), never an exception. `agent_stopping` is asked between the set-up's steps.
  static NodeTask accept(const protocol::TaskAssignment& assignment, const DaemonConfig& config,
                         SerialWorker& worker, const std::atomic<bool>& agent_stopping);
  // The tasks recorded in the state dir that the control plane may not have the end of yet.
  static std::vector<NodeTask> recover(const DaemonConfig& config);

  const std::string& task_id() const { return task_id_; }
  const std::string& job_name() const { return names_.job; }
  const std::string& job_uuid() const { return job_uuid_; }
  // The task's state as the protocol reports it; reads the supervisor's status.json, and takes
  // in what the worker finished for this task.
  protocol::TaskReport report();
  bool is_final();
  // SIGTERM to the supervisor (once): the job ends as JobTerminate. During the set-up: the set-up
  // stops at its next step, undoes what it did, and the task fails as JobTerminate.
  void terminate();
  // Multi-node: the job ended on its master. SIGUSR1 to the supervisor (once): this node's part
  // ends, as succeeded (exec/supervisor.hpp). During the set-up: as terminate().
  void release();
  // Whether a take-down is due: the last report() found the task final, and its job is neither
  // taken down nor being taken down.
  bool take_down_due() const {
    return !taken_down_ && !work_ && protocol::is_final_task_state(last_state_);
  }
  // When take_down_due(): posts the job's take-down (its container, its volumes) to `worker`.
  // report() takes in its end and logs its warnings. One that has not begun when the agent
  // stops is left to the next agent.
  void take_down(SerialWorker& worker, const std::atomic<bool>& agent_stopping);
  // Whether the control plane may forget it: its job is taken down (so the task is final), as
  // the last report() found.
  bool done() const { return taken_down_ && !work_; }
  // The control plane has the final state: the record is closed.
  void forget();
  // Once the worker is closed with the agent stopping: a set-up the stop interrupted (and
  // undid) leaves no record, so that the next agent sets the task up again from the desired
  // state. Returns whether it did.
  bool abandon_if_interrupted();

 private:
  // The worker's part, shared with it: written there, read here once `done` is set.
  struct Work {
    std::atomic<bool> done{false};
    std::atomic<bool> terminate{false};
    bool set_up = true;  // else a take-down
    TaskStartResult result;
    std::vector<std::string> warnings;
  };

  NodeTask() = default;
  void save() const;
  std::string record_path() const;
  bool supervisor_alive() const;
  bool set_up_cut_off() const;
  void abandon();
  bool take_in_finished_work();
  void signal_supervisor(int signal);
  protocol::TaskReport read_report();
  void fail_lost_supervisor(const JobStatus& last);
  void remove_lost_cgroup();

  std::string task_id_;
  std::string job_uuid_;
  JobNames names_;
  DaemonConfig config_;
  std::int64_t created_ms_ = 0;
  std::int64_t status_expected_since_ms_ = 0;  // a supervisor should have written status.json
  pid_t child_ = 0;                            // the supervisor when this agent started it
  bool taken_down_ = false;
  bool terminate_sent_ = false;
  std::optional<JobError> setup_error_;  // failed before the supervisor started, or lost it
  // A supervisor that ended without a final status: when its job started and when that was
  // noticed (0: not so), and its job's cgroup until it is removed.
  std::int64_t lost_start_ms_ = 0;
  std::int64_t lost_end_ms_ = 0;
  std::string lost_cgroup_;
  std::optional<JobStatus> last_status_;
  std::string last_state_;      // what the last report() said
  std::shared_ptr<Work> work_;  // a set-up or take-down on the worker
};

}  // namespace batchai
