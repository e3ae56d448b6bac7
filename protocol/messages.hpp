// The messages of docs/protocol.md, shared by the agent, the reference control plane and the
// CLI. Reading a message validates it: a malformed message from the other side is an Error
// naming the field, never an exception or a crash.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/job_error.hpp"
#include "common/result.hpp"

namespace batchai::protocol {

constexpr std::size_t kMaxMessageBytes = 16 * 1024 * 1024;

struct Gpu {
  std::string name;
  std::string uuid;
  std::int64_t memory_bytes = 0;
};

struct RegisterRequest {
  std::string cluster;
  std::string boot_id;
  std::string agent_version;
  std::string hostname;
  std::vector<std::string> ip_addresses;
  std::int64_t cores = 0;
  std::int64_t memory_bytes = 0;
  std::vector<Gpu> gpus;
};

struct PollSettings {
  int poll_wait_seconds = 55;
  int min_request_interval_ms = 0;
};

struct RegisterResponse {
  std::string node_id;
  std::string cluster;
  nlohmann::json node_setup;  // null when none
  std::int64_t cluster_config_version = 0;
  PollSettings poll;
};

// The SSH identity of one multi-node job, made by the control plane and sent with each of its
// tasks (a secret): every node's job-scoped sshd accepts the job's key and proves itself with
// the job's host key, so the job's nodes reach each other with no prompt (docs/multi-node.md).
// OpenSSH's formats: private keys as PEM, public keys as "<type> <base64>".
struct JobSshIdentity {
  std::string private_key;
  std::string public_key;
  std::string host_private_key;
  std::string host_public_key;
};

struct TaskAssignment {
  std::string task_id;
  std::string workspace;
  std::string experiment;
  std::string job_name;
  std::string output_segment;      // jobOutputDirectoryPathSegment
  int task_index = 0;              // this node's index in the job's gang; 0 is the master
  std::vector<std::string> hosts;  // every node of the job, by address, in index order
  bool terminate = false;
  // The job ended on its master node (task 0): this node ends its part, which counts as done,
  // not as a failure. Only for multi-node jobs.
  bool job_ended = false;
  std::optional<JobSshIdentity> ssh;  // multi-node jobs
  nlohmann::json job;                 // the job document's properties (secrets resolved)
};

struct DesiredState {
  std::int64_t version = 0;
  PollSettings poll;
  std::optional<std::string> leave;  // deallocation option when scaling down
  // The cluster's configuration version: greater than the one the node registered with, the
  // node sets itself up again (register, volumes, admin account, setup task) once it is idle.
  std::optional<std::int64_t> cluster_config_version;
  std::vector<TaskAssignment> tasks;
};

struct ExecutionInfo {
  std::optional<std::string> start_time;
  std::optional<std::string> end_time;
  std::optional<int> exit_code;
  std::vector<JobError> errors;
};

struct TaskReport {
  std::string task_id;
  std::string state;  // queued, running, terminating, succeeded, failed
  ExecutionInfo execution_info;
};

struct NodeReport {
  std::string boot_id;
  std::int64_t sequence = 0;
  std::string node_state;  // preparing, idle, running, leaving, unusable
  std::vector<JobError> errors;
  std::vector<TaskReport> tasks;
  // The heartbeat's facts (cores, memoryBytes, freeDiskBytes, load, gpus, agent); null when
  // not sent. Informational: the control plane keeps the last ones it got.
  nlohmann::json facts;
};

nlohmann::json to_json(const RegisterRequest& m);
nlohmann::json to_json(const RegisterResponse& m);
nlohmann::json to_json(const DesiredState& m);
nlohmann::json to_json(const NodeReport& m);
nlohmann::json to_json(const ExecutionInfo& m);
nlohmann::json to_json(const JobError& e);

Result<RegisterRequest> register_request_from(const std::string& body);
Result<RegisterResponse> register_response_from(const std::string& body);
Result<DesiredState> desired_state_from(const std::string& body);
Result<NodeReport> node_report_from(const std::string& body);
Result<ExecutionInfo> execution_info_from(const nlohmann::json& j);

bool is_node_state(const std::string& s);
bool is_task_state(const std::string& s);
bool is_final_task_state(const std::string& s);

// An IPv4 or IPv6 address in the form inet_pton reads, and nothing else.
bool is_ip_address(const std::string& text);
// An IP address, or a host name of letters, digits, '-' and '.' (at most 253 bytes).
bool is_host(const std::string& text);
// The most nodes one job may span.
inline constexpr std::size_t kMaxHosts = 10000;

}  // namespace batchai::protocol
