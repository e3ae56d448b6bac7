#include "controlplane/nodes.hpp"

#include <algorithm>
#include <set>

#include "common/time.hpp"
#include "controlplane/job_state.hpp"
#include "controlplane/jobs.hpp"
#include "controlplane/names.hpp"
#include "controlplane/scheduler.hpp"

namespace batchai::cp {

using nlohmann::json;

void bump(NodeRecord& node) {
  ++node.desired_version;
}

std::optional<ApiError> register_node(State& s, const std::string& node_id,
                                      const protocol::RegisterRequest& req, std::int64_t now,
                                      Events& events) {
  if (!s.clusters.count(req.cluster)) {
    return not_found("ClusterNotFound", "the cluster \"" + req.cluster +
                                            "\" does not exist; create it first (az batchai "
                                            "cluster create -n " +
                                            req.cluster + ")");
  }
  // A member of a deleted cluster may register again (after a restart) to learn that it leaves.
  auto member = s.nodes.find(node_id);
  const bool is_member = member != s.nodes.end() && member->second.cluster == req.cluster;
  if (s.clusters.at(req.cluster).deleting && !is_member) {
    return conflict("ClusterDeleting",
                    "the cluster \"" + req.cluster + "\" is being deleted; a node cannot join it");
  }
  auto it = s.nodes.find(node_id);
  if (it == s.nodes.end()) {
    NodeRecord n;
    n.id = node_id;
    it = s.nodes.emplace(node_id, std::move(n)).first;
    events.push_back("node " + node_id + ": registered in cluster " + req.cluster + " (" +
                     req.hostname + ", boot " + req.boot_id + ")");
  } else {
    NodeRecord& n = it->second;
    if (n.cluster != req.cluster && !n.tasks.empty()) {
      return conflict("NodeBusy", "node " + node_id + " still has tasks in cluster " + n.cluster +
                                      "; it can move to " + req.cluster + " once they end");
    }
    if (n.facts.boot_id != req.boot_id) {
      n.last_sequence.reset();
      n.node_state = "preparing";
      n.errors = json::array();
      events.push_back("node " + node_id + ": registered again after a reboot (boot " +
                       req.boot_id + ")");
    } else {
      events.push_back("node " + node_id + ": registered again (same boot)");
    }
  }
  NodeRecord& n = it->second;
  n.cluster = req.cluster;
  n.facts = req;
  n.registered_ms = now;
  n.last_seen_ms = now;
  return std::nullopt;
}

protocol::RegisterResponse register_response(const State& s, const std::string& node_id,
                                             const protocol::PollSettings& poll) {
  const NodeRecord& n = s.nodes.at(node_id);
  const ClusterRecord& c = s.clusters.at(n.cluster);
  protocol::RegisterResponse r;
  r.node_id = node_id;
  r.cluster = n.cluster;
  r.node_setup = nullptr;
  if (!c.node_setup.is_null() || !c.user_account_settings.is_null()) {
    r.node_setup = c.node_setup.is_null() ? json::object() : c.node_setup;
    r.node_setup["userAccountSettings"] = c.user_account_settings;
    // Where the setup task's output goes below its stdOutErrPathPrefix, as Batch AI gave it:
    // <sub>/<rg>/workspaces/<ws>/clusters/<cluster>/<id>, the id changing with every
    // configuration so each one's output stays apart.
    if (r.node_setup.contains("setupTask") && r.node_setup["setupTask"].is_object() &&
        !r.node_setup["setupTask"].contains("stdOutErrPathSuffix")) {
      r.node_setup["setupTask"]["stdOutErrPathSuffix"] =
          std::string(kSubscription) + "/" + group_or_default(c.resource_group) + "/workspaces/" +
          workspace_or_default(c.workspace) + "/clusters/" + c.name + "/" +
          std::to_string(c.creation_ms) + "-" + std::to_string(c.config_version);
    }
  }
  r.cluster_config_version = c.config_version;
  r.poll = poll;
  return r;
}

std::optional<ApiError> apply_report(State& s, const std::string& node_id,
                                     const protocol::NodeReport& report, std::int64_t now,
                                     ReportOutcome& outcome, Events& events) {
  auto it = s.nodes.find(node_id);
  if (it == s.nodes.end()) {
    return not_found("NodeNotFound", "node " + node_id + " is not registered; register first");
  }
  NodeRecord& node = it->second;
  if (report.boot_id != node.facts.boot_id) {
    return conflict("BootIdMismatch", "node " + node_id + " registered with boot " +
                                          node.facts.boot_id + ", not " + report.boot_id +
                                          "; register again");
  }
  node.last_seen_ms = now;
  if (node.last_sequence && report.sequence <= *node.last_sequence) {
    outcome.acknowledged = *node.last_sequence;
    outcome.applied = false;
    return std::nullopt;
  }
  node.last_sequence = report.sequence;
  outcome.acknowledged = report.sequence;
  outcome.applied = true;
  if (node.node_state != report.node_state) {
    events.push_back("node " + node_id + ": " + node.node_state + " -> " + report.node_state);
  }
  node.node_state = report.node_state;
  node.errors = json::array();
  for (const auto& e : report.errors) node.errors.push_back(protocol::to_json(e));
  if (report.facts.is_object()) node.heartbeat = report.facts;

  std::set<std::string> touched;
  for (const auto& tr : report.tasks) {
    JobRecord* job = nullptr;
    TaskRecord* task = find_task(s, tr.task_id, &job);
    if (task == nullptr || task->node_id != node_id) {
      events.push_back("node " + node_id + ": reports task " + tr.task_id +
                       ", which is not assigned to it; ignored");
      continue;
    }
    if (protocol::is_final_task_state(task->state)) continue;  // a final state is final
    if (task->state != tr.state) {
      events.push_back("task " + tr.task_id + ": " + task->state + " -> " + tr.state);
    }
    task->state = tr.state;
    task->info = tr.execution_info;
    task->reported = true;
    // The node's own stop for leaving, not a release (the master had ended the job), not a
    // terminate the control plane sent, and not a job whose master has succeeded.
    if (node.leave == "requeue" && tr.state == "failed" && !job->terminate && !task->released &&
        !task->terminate && job->tasks.front().state != "succeeded") {
      job->requeue = true;
    }
    touched.insert(job_key(job->workspace, job->experiment, job->name));
    if (protocol::is_final_task_state(tr.state)) {
      // The control plane has the final state: the task leaves the desired state, and the
      // node is free for the next job once it reports idle.
      auto pos = std::find(node.tasks.begin(), node.tasks.end(), tr.task_id);
      if (pos != node.tasks.end()) {
        node.tasks.erase(pos);
        bump(node);
      }
    }
  }
  for (const auto& key : touched) {
    JobRecord& job = s.jobs.at(key);
    // Scale-down with "requeue": a job a leaving node stopped (not one the user terminated)
    // goes back to the queue once its whole gang has stopped, to run again on other nodes.
    const bool all_final = std::all_of(job.tasks.begin(), job.tasks.end(), [](const auto& t) {
      return protocol::is_final_task_state(t.state);
    });
    if (job.requeue && !job.terminate && all_final && !job.tasks.empty()) {
      job.requeue = false;
      job.tasks.clear();
      job.hosts.clear();
      job.ssh.reset();
      job.info.reset();
      job.state = "queued";
      job.state_ms = now;
      events.push_back("job " + key + ": requeued (its node left the cluster)");
      continue;
    }
    update_job_state(s, job, now, events);
  }
  forget_deleted_jobs(s, events);
  schedule(s, now, events);
  return std::nullopt;
}

void plan_scale_down(State& s, const ClusterRecord& c, Events& events) {
  const json& manual = c.scale_settings.is_object() && c.scale_settings.contains("manual")
                           ? c.scale_settings["manual"]
                           : json();
  if (!manual.is_object() || !manual.contains("targetNodeCount")) return;
  const auto target = manual["targetNodeCount"].get<std::int64_t>();
  const std::string option = manual.value("nodeDeallocationOption", "requeue");
  std::vector<NodeRecord*> staying;
  for (auto& [id, n] : s.nodes) {
    if (n.cluster == c.name && n.leave.empty()) staying.push_back(&n);
  }
  // Idle nodes go first, then those with the fewest tasks; the id breaks ties.
  std::sort(staying.begin(), staying.end(), [](const NodeRecord* a, const NodeRecord* b) {
    return a->tasks.size() != b->tasks.size() ? a->tasks.size() < b->tasks.size() : a->id > b->id;
  });
  for (std::size_t i = 0; static_cast<std::int64_t>(staying.size() - i) > target; ++i) {
    staying[i]->leave = option;
    bump(*staying[i]);
    events.push_back("node " + staying[i]->id + ": leaves the cluster (" + option + ")");
  }
}

bool expire_lost_nodes(State& s, std::int64_t now, std::int64_t lost_after_ms,
                       std::int64_t heard_floor, Events& events) {
  bool changed = false;
  for (auto& [id, node] : s.nodes) {
    const std::int64_t heard = std::max(node.last_seen_ms, heard_floor);
    if (node.tasks.empty() || now - heard < lost_after_ms) continue;
    const std::string why = "node " + id + " has not been heard from for " +
                            std::to_string((now - heard) / 1000) + " s";
    events.push_back(why + ": lost; its tasks fail");
    std::set<std::string> jobs;
    for (const auto& task_id : node.tasks) {
      JobRecord* job = nullptr;
      TaskRecord* task = find_task(s, task_id, &job);
      if (task == nullptr || protocol::is_final_task_state(task->state)) continue;
      task->state = "failed";
      task->reported = true;
      task->info.end_time = iso8601_utc(now);
      task->info.errors.push_back({"NodeLost", why, {{"nodeId", id}}});
      jobs.insert(job_key(job->workspace, job->experiment, job->name));
    }
    node.tasks.clear();
    node.node_state = "unusable";
    node.errors = json::array({protocol::to_json(JobError{"NodeLost", why, {}})});
    bump(node);
    for (const auto& key : jobs) update_job_state(s, s.jobs.at(key), now, events);
    changed = true;
  }
  if (changed) forget_deleted_jobs(s, events);
  // A deleted cluster's node that is not heard from will not leave by itself: it is forgotten,
  // so the cluster's deletion ends.
  std::vector<std::string> gone;
  for (const auto& [id, node] : s.nodes) {
    auto c = s.clusters.find(node.cluster);
    const std::int64_t heard = std::max(node.last_seen_ms, heard_floor);
    if (c != s.clusters.end() && c->second.deleting && now - heard >= lost_after_ms) {
      gone.push_back(id);
    }
  }
  for (const auto& id : gone) changed = remove_node(s, id, events) || changed;
  return changed;
}

void forget_deleted_cluster(State& s, const std::string& cluster, Events& events) {
  auto c = s.clusters.find(cluster);
  if (c == s.clusters.end() || !c->second.deleting) return;
  for (const auto& [id, n] : s.nodes) {
    if (n.cluster == cluster) return;
  }
  s.clusters.erase(c);
  events.push_back("cluster " + cluster + ": deleted (its last node left)");
}

bool remove_node(State& s, const std::string& node_id, Events& events) {
  auto it = s.nodes.find(node_id);
  if (it == s.nodes.end()) return false;
  events.push_back("node " + node_id + ": left the cluster");
  const std::string cluster = it->second.cluster;
  s.nodes.erase(it);
  forget_deleted_cluster(s, cluster, events);
  return true;
}

protocol::DesiredState desired_state_of(const State& s, const NodeRecord& node,
                                        const protocol::PollSettings& poll) {
  protocol::DesiredState d;
  d.version = node.desired_version;
  d.poll = poll;
  if (!node.leave.empty()) d.leave = node.leave;
  if (auto c = s.clusters.find(node.cluster); c != s.clusters.end()) {
    d.cluster_config_version = c->second.config_version;
  }
  for (const auto& id : node.tasks) {
    const JobRecord* job = nullptr;
    const TaskRecord* task = find_task(s, id, &job);
    if (task == nullptr) continue;
    protocol::TaskAssignment a;
    a.task_id = id;
    a.workspace = job->workspace;
    a.experiment = job->experiment;
    a.job_name = job->name;
    a.output_segment =
        output_segment(job->resource_group, job->workspace, job->experiment, job->name, job->uuid);
    a.task_index = task->index;
    a.hosts = job->hosts;
    a.terminate = task->terminate;
    a.job_ended = task->released;
    a.ssh = job->ssh;
    a.job = job->properties;
    d.tasks.push_back(std::move(a));
  }
  return d;
}

}  // namespace batchai::cp
