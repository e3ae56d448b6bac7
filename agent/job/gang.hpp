// A multi-node job's gang as one node sees it: where each process of the job runs, the host
// lists Batch AI's variables name, and the SSH the nodes reach each other with. Pure functions
// of the gang's size and this node's index: every node computes the same answers alone.
// docs/multi-node.md says what runs where.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace batchai {

// This node's place in its job's gang.
struct GangContext {
  std::vector<std::string> hosts;  // every node's address, in index order; hosts[0]: the master
  int index = 0;                   // this node's
  std::string node_id;             // this node's, for per-node file names
  int ssh_port = 2200;             // the job's sshd on every node (the agent's jobSshPort)
  std::string ssh_dir;             // the job's SSH files, in the agent's state (job_ssh.hpp)
  std::string agent_program;       // the agent's executable: the launcher's wait for its peers
  std::string job_shell_program;   // the static batchai-job-shell: sshd's ForceCommand
  std::string sshd_program = "/usr/sbin/sshd";   // Debian's openssh-server
  std::string sshfs_program = "/usr/bin/sshfs";  // Debian's sshfs: the shared job temp
  // The network interface of this node's address: gloo binds there, not to whatever the
  // host name resolves to (GLOO_SOCKET_IFNAME). "" when unknown.
  std::string interface;

  bool is_master() const { return index == 0; }
  std::int64_t size() const { return static_cast<std::int64_t>(hosts.size()); }
  const std::string& node_ip() const { return hosts[static_cast<std::size_t>(index)]; }
};

// Processes spread over nodes in blocks, as torchrun places ranks: node k runs ranks
// [first, first + count), with at most slots_per_node(processes, nodes) on each.
struct RankBlock {
  std::int64_t first = 0;
  std::int64_t count = 0;
};
std::int64_t slots_per_node(std::int64_t processes, std::int64_t nodes);
RankBlock ranks_on_node(std::int64_t processes, std::int64_t nodes, std::int64_t node);

// TensorFlow: worker i runs on node i % nodes, parameter server j on node j % nodes; on each
// node the tasks take ports from 2222 in that order (workers first), as Batch AI gave them.
struct TensorFlowTask {
  bool parameter_server = false;
  std::int64_t index = 0;
  std::int64_t node = 0;
  std::string address;  // ip:port
};
std::vector<TensorFlowTask> place_tensorflow(std::int64_t workers, std::int64_t parameter_servers,
                                             const std::vector<std::string>& hosts);

// "<ip> slots=<n>" per node: OpenMPI's hostfile.
std::string mpi_hostfile(const std::vector<std::string>& hosts, std::int64_t slots);
// One word for a shell, whatever it holds: the launchers' command lines, sshd's ForceCommand.
std::string shell_quoted(const std::string& text);

// "ip,ip,...": AZ_BATCH_HOST_LIST.
std::string host_list(const std::vector<std::string>& hosts);

}  // namespace batchai
