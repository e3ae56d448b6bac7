// The tasks this node has, from their assignment to the moment the control plane has their end:
// found again after a restart, started and terminated as reconcile decides, reported, taken down
// once final (on the worker, in order), and released once the control plane no longer lists them.
#pragma once

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "agent/config/daemon_config.hpp"
#include "agent/daemon/node_task.hpp"
#include "agent/daemon/reconcile.hpp"
#include "agent/daemon/serial_worker.hpp"
#include "protocol/messages.hpp"

namespace batchai {

class NodeTasks {
 public:
  NodeTasks(const DaemonConfig& config, const std::atomic<bool>& agent_stopping)
      : cfg_(config), stopping_(agent_stopping) {}

  // The tasks recorded in the state dir (after a restart).
  void recover();
  bool empty() const { return tasks_.empty(); }
  std::size_t size() const { return tasks_.size(); }
  // Whether each task is final, for reconcile.
  std::map<std::string, bool> final_by_task();
  // Takes reconcile's actions; new tasks' set-ups go to `worker`.
  void apply(const ReconcileDecision& decision, const protocol::DesiredState& desired,
             SerialWorker& worker);
  // Every task's report; reads each one's status once.
  std::vector<protocol::TaskReport> reports();
  // Posts the take-down of every job whose task the last report found final.
  void take_down_finished(SerialWorker& worker);
  // Closes the records of tasks the control plane no longer lists and whose jobs are down.
  void release_finished();
  // Once the worker has ended with the agent's stop: set-ups it interrupted are left for the
  // next agent to do again.
  void settle_at_stop();

 private:
  const DaemonConfig& cfg_;
  const std::atomic<bool>& stopping_;
  std::map<std::string, NodeTask> tasks_;
  std::set<std::string> wanted_;  // the tasks of the last desired state
  bool have_desired_ = false;     // wanted_ is the control plane's (after a restart, not yet)
};

}  // namespace batchai
