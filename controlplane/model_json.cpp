#include "controlplane/model_json.hpp"

#include <stdexcept>

#include "controlplane/names.hpp"

namespace batchai::cp {

using nlohmann::json;

namespace {

constexpr int kFormat = 1;

json opt_int(const std::optional<std::int64_t>& v) {
  return v ? json(*v) : json(nullptr);
}

json cluster_to_json(const ClusterRecord& c) {
  return {{"workspace", c.workspace},
          {"resourceGroup", c.resource_group},
          {"nodeSetup", c.node_setup},
          {"userAccountSettings", c.user_account_settings},
          {"scaleSettings", c.scale_settings},
          {"vmSize", c.vm_size},
          {"vmPriority", c.vm_priority},
          {"virtualMachineConfiguration", c.vm_configuration},
          {"deleting", c.deleting},
          {"configVersion", c.config_version},
          {"creationMs", c.creation_ms},
          {"modifiedMs", c.modified_ms}};
}

json group_to_json(const ResourceGroupRecord& g) {
  return {
      {"name", g.name}, {"location", g.location}, {"tags", g.tags}, {"creationMs", g.creation_ms}};
}

json workspace_to_json(const WorkspaceRecord& w) {
  return {{"resourceGroup", w.resource_group},
          {"location", w.location},
          {"tags", w.tags},
          {"creationMs", w.creation_ms}};
}

json node_to_json(const NodeRecord& n) {
  return {{"cluster", n.cluster},
          {"facts", protocol::to_json(n.facts)},
          {"registeredMs", n.registered_ms},
          {"lastSeenMs", n.last_seen_ms},
          {"lastSequence", opt_int(n.last_sequence)},
          {"nodeState", n.node_state},
          {"errors", n.errors},
          {"desiredVersion", n.desired_version},
          {"tasks", n.tasks},
          {"leave", n.leave},
          {"heartbeat", n.heartbeat}};
}

json task_to_json(const TaskRecord& t) {
  return {{"taskId", t.task_id},
          {"index", t.index},
          {"nodeId", t.node_id},
          {"state", t.state},
          {"executionInfo", protocol::to_json(t.info)},
          {"reported", t.reported},
          {"terminate", t.terminate},
          {"released", t.released}};
}

json ssh_to_json(const std::optional<protocol::JobSshIdentity>& ssh) {
  if (!ssh) return nullptr;
  return {{"privateKey", ssh->private_key},
          {"publicKey", ssh->public_key},
          {"hostPrivateKey", ssh->host_private_key},
          {"hostPublicKey", ssh->host_public_key}};
}

std::optional<protocol::JobSshIdentity> ssh_from(const json& j) {
  if (j.is_null()) return std::nullopt;
  return protocol::JobSshIdentity{
      j.at("privateKey").get<std::string>(), j.at("publicKey").get<std::string>(),
      j.at("hostPrivateKey").get<std::string>(), j.at("hostPublicKey").get<std::string>()};
}

json job_to_json(const JobRecord& j) {
  json tasks = json::array();
  for (const auto& t : j.tasks) tasks.push_back(task_to_json(t));
  return {{"resourceGroup", j.resource_group},
          {"workspace", j.workspace},
          {"experiment", j.experiment},
          {"name", j.name},
          {"uuid", j.uuid},
          {"cluster", j.cluster},
          {"properties", j.properties},
          {"nodeCount", j.node_count},
          {"toolType", j.tool_type},
          {"seq", j.seq},
          {"creationMs", j.creation_ms},
          {"state", j.state},
          {"stateMs", j.state_ms},
          {"executionInfo", j.info ? protocol::to_json(*j.info) : json(nullptr)},
          {"terminate", j.terminate},
          {"deleted", j.deleted},
          {"requeue", j.requeue},
          {"hosts", j.hosts},
          {"ssh", ssh_to_json(j.ssh)},
          {"tasks", tasks}};
}

protocol::ExecutionInfo info_from(const json& j) {
  auto info = protocol::execution_info_from(j);
  if (!info) throw std::runtime_error(info.error().message);
  return *info;
}

ClusterRecord cluster_from(const std::string& name, const json& j) {
  ClusterRecord c;
  c.name = name;
  // Absent in a state written before workspaces were.
  c.workspace = j.value("workspace", "");
  c.resource_group = j.value("resourceGroup", "");
  c.vm_configuration = j.value("virtualMachineConfiguration", json(nullptr));
  c.deleting = j.value("deleting", false);
  c.node_setup = j.at("nodeSetup");
  c.user_account_settings = j.at("userAccountSettings");
  c.scale_settings = j.at("scaleSettings");
  c.vm_size = j.at("vmSize");
  c.vm_priority = j.at("vmPriority");
  c.config_version = j.at("configVersion").get<std::int64_t>();
  c.creation_ms = j.at("creationMs").get<std::int64_t>();
  c.modified_ms = j.at("modifiedMs").get<std::int64_t>();
  return c;
}

NodeRecord node_from(const std::string& id, const json& j) {
  NodeRecord n;
  n.id = id;
  n.cluster = j.at("cluster").get<std::string>();
  auto facts = protocol::register_request_from(j.at("facts").dump());
  if (!facts) throw std::runtime_error(facts.error().message);
  n.facts = *facts;
  n.registered_ms = j.at("registeredMs").get<std::int64_t>();
  n.last_seen_ms = j.at("lastSeenMs").get<std::int64_t>();
  if (!j.at("lastSequence").is_null()) n.last_sequence = j.at("lastSequence").get<std::int64_t>();
  n.node_state = j.at("nodeState").get<std::string>();
  n.errors = j.at("errors");
  n.leave = j.value("leave", "");
  n.heartbeat = j.value("heartbeat", nlohmann::json());
  n.desired_version = j.at("desiredVersion").get<std::int64_t>();
  n.tasks = j.at("tasks").get<std::vector<std::string>>();
  return n;
}

JobRecord job_from(const json& j) {
  JobRecord r;
  r.resource_group = j.value("resourceGroup", "");
  r.deleted = j.value("deleted", false);
  r.workspace = j.at("workspace").get<std::string>();
  r.experiment = j.at("experiment").get<std::string>();
  r.name = j.at("name").get<std::string>();
  r.uuid = j.at("uuid").get<std::string>();
  r.cluster = j.at("cluster").get<std::string>();
  r.properties = j.at("properties");
  r.node_count = j.at("nodeCount").get<std::int64_t>();
  r.tool_type = j.at("toolType").get<std::string>();
  r.seq = j.at("seq").get<std::int64_t>();
  r.creation_ms = j.at("creationMs").get<std::int64_t>();
  r.state = j.at("state").get<std::string>();
  r.state_ms = j.at("stateMs").get<std::int64_t>();
  if (!j.at("executionInfo").is_null()) r.info = info_from(j.at("executionInfo"));
  r.terminate = j.at("terminate").get<bool>();
  r.requeue = j.value("requeue", false);  // absent in a state written before it was
  r.hosts = j.at("hosts").get<std::vector<std::string>>();
  r.ssh = ssh_from(j.value("ssh", json(nullptr)));
  for (const auto& t : j.at("tasks")) {
    TaskRecord task;
    task.task_id = t.at("taskId").get<std::string>();
    task.index = t.at("index").get<int>();
    task.node_id = t.at("nodeId").get<std::string>();
    task.state = t.at("state").get<std::string>();
    task.info = info_from(t.at("executionInfo"));
    task.reported = t.at("reported").get<bool>();
    task.terminate = t.at("terminate").get<bool>();
    task.released = t.value("released", false);
    r.tasks.push_back(std::move(task));
  }
  return r;
}

}  // namespace

std::string state_to_text(const State& state) {
  json clusters = json::object();
  for (const auto& [name, c] : state.clusters) clusters[name] = cluster_to_json(c);
  json nodes = json::object();
  for (const auto& [id, n] : state.nodes) nodes[id] = node_to_json(n);
  json jobs = json::array();
  for (const auto& [key, j] : state.jobs) jobs.push_back(job_to_json(j));
  json groups = json::object();
  for (const auto& [key, g] : state.resource_groups) groups[key] = group_to_json(g);
  json workspaces = json::object();
  for (const auto& [name, w] : state.workspaces) workspaces[name] = workspace_to_json(w);
  json experiments = json::object();
  for (const auto& [key, e] : state.experiments) experiments[key] = e.creation_ms;
  json doc = {{"format", kFormat},
              {"nextJobSeq", state.next_job_seq},
              {"resourceGroups", groups},
              {"workspaces", workspaces},
              {"experiments", experiments},
              {"storageAccountGroups", state.storage_account_groups},
              {"clusters", clusters},
              {"nodes", nodes},
              {"jobs", jobs}};
  return doc.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<State> state_from_text(const std::string& text) {
  try {
    json doc = json::parse(text);
    if (doc.at("format").get<int>() != kFormat) {
      return err("the state file has format " + doc.at("format").dump() + ", not " +
                 std::to_string(kFormat));
    }
    State s;
    s.next_job_seq = doc.at("nextJobSeq").get<std::int64_t>();
    // The resource-manager objects are absent in a state written before they were.
    const json groups = doc.value("resourceGroups", json::object());
    const json workspaces = doc.value("workspaces", json::object());
    const json experiments = doc.value("experiments", json::object());
    for (const auto& [key, g] : groups.items()) {
      s.resource_groups[key] = {g.at("name").get<std::string>(),
                                g.at("location").get<std::string>(), g.at("tags"),
                                g.at("creationMs").get<std::int64_t>()};
    }
    for (const auto& [name, w] : workspaces.items()) {
      s.workspaces[name] = {name, w.at("resourceGroup").get<std::string>(),
                            w.at("location").get<std::string>(), w.at("tags"),
                            w.at("creationMs").get<std::int64_t>()};
    }
    s.storage_account_groups =
        doc.value("storageAccountGroups", json::object()).get<std::map<std::string, std::string>>();
    for (const auto& [key, ms] : experiments.items()) {
      const auto slash = key.find('/');
      if (slash == std::string::npos) throw std::runtime_error("experiment key " + key);
      s.experiments[key] = {key.substr(0, slash), key.substr(slash + 1), ms.get<std::int64_t>()};
    }
    for (const auto& [name, c] : doc.at("clusters").items()) {
      s.clusters[name] = cluster_from(name, c);
    }
    for (const auto& [id, n] : doc.at("nodes").items()) s.nodes[id] = node_from(id, n);
    for (const auto& j : doc.at("jobs")) {
      JobRecord job = job_from(j);
      s.jobs[job_key(job.workspace, job.experiment, job.name)] = std::move(job);
    }
    return s;
  } catch (const std::exception& e) {
    return err(std::string("the state file is damaged: ") + e.what());
  }
}

}  // namespace batchai::cp
