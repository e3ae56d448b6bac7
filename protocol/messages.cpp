#include "protocol/messages.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace batchai::protocol {

using nlohmann::json;

bool is_ip_address(const std::string& text) {
  unsigned char buf[sizeof(in6_addr)];
  return !text.empty() && text.size() < INET6_ADDRSTRLEN &&
         (::inet_pton(AF_INET, text.c_str(), buf) == 1 ||
          ::inet_pton(AF_INET6, text.c_str(), buf) == 1);
}

bool is_host(const std::string& text) {
  if (is_ip_address(text)) return true;
  if (text.empty() || text.size() > 253 || text.front() == '-' || text.front() == '.') {
    return false;
  }
  return std::all_of(text.begin(), text.end(),
                     [](unsigned char c) { return std::isalnum(c) != 0 || c == '-' || c == '.'; });
}

namespace {

// Thrown inside this file only; every *_from function turns it into an Error.
struct BadMessage {
  std::string what;
};

const json& field(const json& j, const char* key, const std::string& at) {
  if (!j.is_object()) throw BadMessage{at + ": must be an object"};
  auto it = j.find(key);
  if (it == j.end()) throw BadMessage{at + "." + key + ": is missing"};
  return *it;
}

std::string str(const json& j, const char* key, const std::string& at, std::size_t max = 4096) {
  const json& v = field(j, key, at);
  if (!v.is_string()) throw BadMessage{at + "." + key + ": must be a string"};
  const auto& s = v.get_ref<const std::string&>();
  if (s.size() > max) throw BadMessage{at + "." + key + ": is too long"};
  return s;
}

std::optional<std::string> opt_str(const json& j, const char* key, const std::string& at) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  return str(j, key, at);
}

std::int64_t integer(const json& j, const char* key, const std::string& at, std::int64_t min,
                     std::int64_t max) {
  const json& v = field(j, key, at);
  if (!v.is_number_integer()) throw BadMessage{at + "." + key + ": must be a whole number"};
  if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(max)) {
    throw BadMessage{at + "." + key + ": is out of range"};
  }
  auto n = v.get<std::int64_t>();
  if (n < min || n > max) throw BadMessage{at + "." + key + ": is out of range"};
  return n;
}

const json& arr(const json& j, const char* key, const std::string& at) {
  const json& v = field(j, key, at);
  if (!v.is_array()) throw BadMessage{at + "." + key + ": must be an array"};
  return v;
}

bool flag(const json& j, const char* key, const std::string& at, bool required) {
  if (!required && !j.contains(key)) return false;
  const json& v = field(j, key, at);
  if (!v.is_boolean()) throw BadMessage{at + "." + key + ": must be true or false"};
  return v.get<bool>();
}

// The job's nodes by address: they go into hostfiles, sshd's and ssh's files and the job's
// environment, so each must be an IP address or a host name (letters, digits, '-', '.'),
// nothing a file or a shell would read otherwise.
std::vector<std::string> hosts_from(const json& j, const std::string& at) {
  const json& list = arr(j, "hosts", at);
  if (list.size() > kMaxHosts) throw BadMessage{at + ".hosts: too many"};
  std::vector<std::string> hosts;
  for (const auto& h : list) {
    if (!h.is_string() || !is_host(h.get<std::string>())) {
      throw BadMessage{at + ".hosts: must hold IP addresses or host names"};
    }
    hosts.push_back(h.get<std::string>());
  }
  return hosts;
}

// A PEM private key or an OpenSSH public key line: printable ASCII and line breaks, bounded.
std::string key_text(const json& j, const char* key, const std::string& at, bool pem) {
  std::string s = str(j, key, at, 16384);
  const bool shaped = pem ? s.starts_with("-----BEGIN ") : s.starts_with("ecdsa-sha2-nistp256 ");
  bool printable = true;
  for (unsigned char c : s)
    printable = printable && ((c >= 0x20 && c < 0x7f) || (pem && c == '\n'));
  if (!shaped || !printable) throw BadMessage{at + "." + key + ": is not a key"};
  return s;
}

JobSshIdentity ssh_identity_from(const json& j, const std::string& at) {
  JobSshIdentity id;
  id.private_key = key_text(j, "privateKey", at, true);
  id.public_key = key_text(j, "publicKey", at, false);
  id.host_private_key = key_text(j, "hostPrivateKey", at, true);
  id.host_public_key = key_text(j, "hostPublicKey", at, false);
  return id;
}

json parse_body(const std::string& body) {
  if (body.size() > kMaxMessageBytes) throw BadMessage{"the message is too large"};
  try {
    return json::parse(body);
  } catch (const json::exception&) {
    throw BadMessage{"the message is not valid JSON"};
  }
}

template <typename F>
auto guarded(F&& f) -> Result<decltype(f())> {
  try {
    return f();
  } catch (const BadMessage& e) {
    return err(e.what);
  } catch (const json::exception& e) {
    return err(std::string("malformed message: ") + e.what());
  }
}

PollSettings poll_from(const json& j, const std::string& at) {
  PollSettings p;
  p.poll_wait_seconds = static_cast<int>(integer(j, "pollWaitSeconds", at, 0, 3600));
  p.min_request_interval_ms =
      static_cast<int>(integer(j, "minRequestIntervalMs", at, 0, 3600 * 1000));
  return p;
}

JobError job_error_from(const json& j, const std::string& at) {
  JobError e{str(j, "code", at, 256), str(j, "message", at, 65536), {}};
  if (j.contains("details") && !j["details"].is_null()) {
    const json& d = arr(j, "details", at);
    for (std::size_t i = 0; i < d.size(); ++i) {
      std::string dat = at + ".details[" + std::to_string(i) + "]";
      e.details.push_back({str(d[i], "name", dat), str(d[i], "value", dat, 65536)});
    }
  }
  return e;
}

std::vector<JobError> errors_from(const json& j, const char* key, const std::string& at) {
  std::vector<JobError> out;
  if (!j.contains(key) || j[key].is_null()) return out;
  const json& list = arr(j, key, at);
  for (std::size_t i = 0; i < list.size(); ++i) {
    out.push_back(job_error_from(list[i], at + "." + key + "[" + std::to_string(i) + "]"));
  }
  return out;
}

json opt(const std::optional<std::string>& s) {
  return s ? json(*s) : json(nullptr);
}

}  // namespace

bool is_node_state(const std::string& s) {
  static const std::set<std::string> states = {"preparing", "idle", "running", "leaving",
                                               "unusable"};
  return states.count(s) > 0;
}

bool is_task_state(const std::string& s) {
  static const std::set<std::string> states = {"queued", "running", "terminating", "succeeded",
                                               "failed"};
  return states.count(s) > 0;
}

bool is_final_task_state(const std::string& s) {
  return s == "succeeded" || s == "failed";
}

json to_json(const JobError& e) {
  json details = json::array();
  for (const auto& d : e.details) details.push_back({{"name", d.name}, {"value", d.value}});
  return {{"code", e.code}, {"message", e.message}, {"details", details}};
}

json to_json(const ExecutionInfo& m) {
  json errors = json::array();
  for (const auto& e : m.errors) errors.push_back(to_json(e));
  return {{"startTime", opt(m.start_time)},
          {"endTime", opt(m.end_time)},
          {"exitCode", m.exit_code ? json(*m.exit_code) : json(nullptr)},
          {"errors", errors}};
}

json to_json(const RegisterRequest& m) {
  json gpus = json::array();
  for (const auto& g : m.gpus) {
    gpus.push_back({{"name", g.name}, {"uuid", g.uuid}, {"memoryBytes", g.memory_bytes}});
  }
  return {{"cluster", m.cluster},
          {"bootId", m.boot_id},
          {"agentVersion", m.agent_version},
          {"hostname", m.hostname},
          {"ipAddresses", m.ip_addresses},
          {"cores", m.cores},
          {"memoryBytes", m.memory_bytes},
          {"gpus", gpus}};
}

json to_json(const RegisterResponse& m) {
  return {{"nodeId", m.node_id},
          {"cluster", m.cluster},
          {"nodeSetup", m.node_setup},
          {"clusterConfigVersion", m.cluster_config_version},
          {"pollWaitSeconds", m.poll.poll_wait_seconds},
          {"minRequestIntervalMs", m.poll.min_request_interval_ms}};
}

json to_json(const DesiredState& m) {
  json tasks = json::array();
  for (const auto& t : m.tasks) {
    tasks.push_back({{"taskId", t.task_id},
                     {"workspace", t.workspace},
                     {"experiment", t.experiment},
                     {"jobName", t.job_name},
                     {"jobOutputDirectoryPathSegment", t.output_segment},
                     {"taskIndex", t.task_index},
                     {"hosts", t.hosts},
                     {"terminate", t.terminate},
                     {"job", t.job}});
    if (t.job_ended) tasks.back()["jobEnded"] = true;
    if (t.ssh) {
      tasks.back()["ssh"] = {{"privateKey", t.ssh->private_key},
                             {"publicKey", t.ssh->public_key},
                             {"hostPrivateKey", t.ssh->host_private_key},
                             {"hostPublicKey", t.ssh->host_public_key}};
    }
  }
  return {{"version", m.version},
          {"pollWaitSeconds", m.poll.poll_wait_seconds},
          {"minRequestIntervalMs", m.poll.min_request_interval_ms},
          {"leave", m.leave ? json({{"deallocationOption", *m.leave}}) : json(nullptr)},
          {"clusterConfigVersion",
           m.cluster_config_version ? json(*m.cluster_config_version) : json(nullptr)},
          {"tasks", tasks}};
}

json to_json(const NodeReport& m) {
  json errors = json::array();
  for (const auto& e : m.errors) errors.push_back(to_json(e));
  json tasks = json::array();
  for (const auto& t : m.tasks) {
    tasks.push_back(
        {{"taskId", t.task_id}, {"state", t.state}, {"executionInfo", to_json(t.execution_info)}});
  }
  json out = {{"bootId", m.boot_id},
              {"sequence", m.sequence},
              {"nodeState", m.node_state},
              {"errors", errors},
              {"tasks", tasks}};
  if (m.facts.is_object()) out["facts"] = m.facts;
  return out;
}

Result<RegisterRequest> register_request_from(const std::string& body) {
  return guarded([&] {
    json j = parse_body(body);
    RegisterRequest m;
    m.cluster = str(j, "cluster", "register", 64);
    m.boot_id = str(j, "bootId", "register", 64);
    m.agent_version = str(j, "agentVersion", "register", 64);
    m.hostname = str(j, "hostname", "register", 255);
    for (const auto& ip : arr(j, "ipAddresses", "register")) {
      if (!ip.is_string()) throw BadMessage{"register.ipAddresses: must hold strings"};
      m.ip_addresses.push_back(ip.get<std::string>());
    }
    m.cores = integer(j, "cores", "register", 0, 1 << 20);
    m.memory_bytes = integer(j, "memoryBytes", "register", 0, INT64_MAX);
    const json& gpus = arr(j, "gpus", "register");
    for (std::size_t i = 0; i < gpus.size(); ++i) {
      std::string at = "register.gpus[" + std::to_string(i) + "]";
      m.gpus.push_back({str(gpus[i], "name", at), str(gpus[i], "uuid", at),
                        integer(gpus[i], "memoryBytes", at, 0, INT64_MAX)});
    }
    return m;
  });
}

Result<RegisterResponse> register_response_from(const std::string& body) {
  return guarded([&] {
    json j = parse_body(body);
    RegisterResponse m;
    m.node_id = str(j, "nodeId", "response", 256);
    m.cluster = str(j, "cluster", "response", 64);
    m.node_setup = j.contains("nodeSetup") ? j["nodeSetup"] : json(nullptr);
    m.cluster_config_version = integer(j, "clusterConfigVersion", "response", 0, INT64_MAX);
    m.poll = poll_from(j, "response");
    return m;
  });
}

Result<DesiredState> desired_state_from(const std::string& body) {
  return guarded([&] {
    json j = parse_body(body);
    DesiredState m;
    m.version = integer(j, "version", "desired", 0, INT64_MAX);
    m.poll = poll_from(j, "desired");
    if (j.contains("leave") && !j["leave"].is_null()) {
      std::string option = str(field(j, "leave", "desired"), "deallocationOption", "desired.leave");
      if (option != "requeue" && option != "terminate" && option != "waitforjobcompletion") {
        throw BadMessage{"desired.leave.deallocationOption: unknown option"};
      }
      m.leave = option;
    }
    if (j.contains("clusterConfigVersion") && !j["clusterConfigVersion"].is_null()) {
      m.cluster_config_version = integer(j, "clusterConfigVersion", "desired", 0, INT64_MAX);
    }
    const json& tasks = arr(j, "tasks", "desired");
    std::set<std::string> ids;
    for (std::size_t i = 0; i < tasks.size(); ++i) {
      std::string at = "desired.tasks[" + std::to_string(i) + "]";
      TaskAssignment t;
      t.task_id = str(tasks[i], "taskId", at, 1024);
      if (t.task_id.empty() || !ids.insert(t.task_id).second) {
        throw BadMessage{at + ".taskId: empty or repeated"};
      }
      t.workspace = str(tasks[i], "workspace", at, 64);
      t.experiment = str(tasks[i], "experiment", at, 64);
      t.job_name = str(tasks[i], "jobName", at, 64);
      t.output_segment = str(tasks[i], "jobOutputDirectoryPathSegment", at, 1024);
      t.task_index = static_cast<int>(integer(tasks[i], "taskIndex", at, 0, 100000));
      t.hosts = hosts_from(tasks[i], at);
      if (!t.hosts.empty() && static_cast<std::size_t>(t.task_index) >= t.hosts.size()) {
        throw BadMessage{at + ".taskIndex: is not an index of hosts"};
      }
      t.terminate = flag(tasks[i], "terminate", at, true);
      t.job_ended = flag(tasks[i], "jobEnded", at, false);
      if (tasks[i].contains("ssh") && !tasks[i]["ssh"].is_null()) {
        t.ssh = ssh_identity_from(tasks[i]["ssh"], at + ".ssh");
      }
      t.job = field(tasks[i], "job", at);
      if (!t.job.is_object()) throw BadMessage{at + ".job: must be an object"};
      m.tasks.push_back(std::move(t));
    }
    return m;
  });
}

Result<ExecutionInfo> execution_info_from(const json& j) {
  return guarded([&] {
    ExecutionInfo m;
    m.start_time = opt_str(j, "startTime", "executionInfo");
    m.end_time = opt_str(j, "endTime", "executionInfo");
    if (j.contains("exitCode") && !j["exitCode"].is_null()) {
      m.exit_code = static_cast<int>(integer(j, "exitCode", "executionInfo", -1, 1 << 16));
    }
    m.errors = errors_from(j, "errors", "executionInfo");
    return m;
  });
}

Result<NodeReport> node_report_from(const std::string& body) {
  return guarded([&] {
    json j = parse_body(body);
    NodeReport m;
    m.boot_id = str(j, "bootId", "report", 64);
    m.sequence = integer(j, "sequence", "report", 0, INT64_MAX);
    m.node_state = str(j, "nodeState", "report", 32);
    if (!is_node_state(m.node_state)) throw BadMessage{"report.nodeState: unknown state"};
    m.errors = errors_from(j, "errors", "report");
    const json& tasks = arr(j, "tasks", "report");
    for (std::size_t i = 0; i < tasks.size(); ++i) {
      std::string at = "report.tasks[" + std::to_string(i) + "]";
      TaskReport t;
      t.task_id = str(tasks[i], "taskId", at, 1024);
      t.state = str(tasks[i], "state", at, 32);
      if (!is_task_state(t.state)) throw BadMessage{at + ".state: unknown state"};
      auto info = execution_info_from(field(tasks[i], "executionInfo", at));
      if (!info) throw BadMessage{at + "." + info.error().message};
      t.execution_info = std::move(*info);
      m.tasks.push_back(std::move(t));
    }
    if (j.contains("facts") && !j["facts"].is_null()) {
      if (!j["facts"].is_object()) throw BadMessage{"report.facts: must be an object"};
      if (j["facts"].dump().size() > 64 * 1024) throw BadMessage{"report.facts: too large"};
      m.facts = j["facts"];
    }
    return m;
  });
}

}  // namespace batchai::protocol
