#include "controlplane/scheduler.hpp"

#include <algorithm>
#include <set>

#include "controlplane/names.hpp"
#include "controlplane/nodes.hpp"
#include "controlplane/ssh_identity.hpp"

namespace batchai::cp {

namespace {

bool is_free(const NodeRecord& node) {
  return node.node_state == "idle" && node.tasks.empty() && node.leave.empty();
}

// The address the job's other nodes reach this one at: its first IP address, else its hostname.
std::string host_of(const NodeRecord& node) {
  return node.facts.ip_addresses.empty() ? node.facts.hostname : node.facts.ip_addresses.front();
}

void assign(JobRecord& job, const std::vector<NodeRecord*>& nodes, Events& events) {
  if (nodes.size() > 1) {
    // The gang's nodes reach each other over the job's own SSH (docs/multi-node.md).
    auto identity = make_job_ssh_identity();
    if (!identity) {
      events.push_back("job " + job_key(job.workspace, job.experiment, job.name) +
                       ": not assigned: " + identity.error().message);
      return;
    }
    job.ssh = std::move(*identity);
  }
  std::string names;
  job.hosts.clear();
  for (const NodeRecord* n : nodes) job.hosts.push_back(host_of(*n));
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    TaskRecord t;
    t.index = static_cast<int>(i);
    t.task_id = task_id(job.workspace, job.experiment, job.name, job.uuid, t.index);
    t.node_id = nodes[i]->id;
    nodes[i]->tasks.push_back(t.task_id);
    bump(*nodes[i]);
    names += (names.empty() ? "" : ", ") + nodes[i]->id;
    job.tasks.push_back(std::move(t));
  }
  events.push_back("job " + job_key(job.workspace, job.experiment, job.name) +
                   ": assigned to node(s) " + names);
}

}  // namespace

bool schedule(State& s, std::int64_t /*now*/, Events& events) {
  std::vector<JobRecord*> queued;
  for (auto& [key, job] : s.jobs) {
    if (job.state == "queued" && job.tasks.empty() && !job.terminate) queued.push_back(&job);
  }
  std::sort(queued.begin(), queued.end(),
            [](const JobRecord* a, const JobRecord* b) { return a->seq < b->seq; });
  std::set<std::string> blocked;  // clusters whose head job does not fit
  bool assigned = false;
  for (JobRecord* job : queued) {
    if (blocked.count(job->cluster)) continue;
    std::vector<NodeRecord*> free;
    for (auto& [id, node] : s.nodes) {
      if (node.cluster == job->cluster && is_free(node)) free.push_back(&node);
    }
    if (static_cast<std::int64_t>(free.size()) < job->node_count) {
      blocked.insert(job->cluster);
      continue;
    }
    free.resize(static_cast<std::size_t>(job->node_count));
    assign(*job, free, events);
    assigned = true;
  }
  return assigned;
}

}  // namespace batchai::cp
