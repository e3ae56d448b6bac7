// Reconcile: what the node does about a desired state (docs/daemon.md), decided apart from doing
// it so that each rule can be tested alone. A new task is started unless the node is leaving or
// unusable; a task the control plane terminates, or that is missing from two desired states in a
// row, is terminated; scale-down with requeue or terminate stops every running task, with
// waitforjobcompletion it lets them finish; a newer cluster configuration is set up once idle.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "protocol/messages.hpp"

namespace batchai {

// What reconcile needs to know of the node.
struct NodeAdmission {
  std::string leaving;                      // the deallocation option once leaving, else ""
  bool unusable = false;                    // no new task may start
  std::int64_t cluster_config_version = 0;  // of the configuration the node is set up with
  bool reconfigure_pending = false;
  std::map<std::string, bool> final_by_task;  // the node's tasks: whether each is final
};

struct TaskAction {
  enum class Kind { kStart, kNotStarted, kTerminate, kRelease };
  Kind kind;
  std::string task_id;
  std::string why;  // for the log
};

struct ReconcileDecision {
  std::optional<std::string> leave;  // the node starts leaving now, with this option
  bool reconfigure = false;          // a newer configuration arrived
  std::vector<TaskAction> actions;   // in the order they are to be taken
  std::set<std::string> wanted;      // the desired state's tasks
};

// `missing_once` carries the tasks absent from the last desired state over to the next one.
ReconcileDecision decide_reconcile(const protocol::DesiredState& desired, const NodeAdmission& node,
                                   std::set<std::string>& missing_once);

}  // namespace batchai
