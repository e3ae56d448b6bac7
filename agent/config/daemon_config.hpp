// The daemon's configuration: a JSON file (default /etc/batchai-agent/agent.json), documented
// in docs/daemon.md. Every setting but controlPlaneUrl has a default; a bad file stops the
// agent with messages naming each bad setting.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/diagnostics.hpp"
#include "mount/storage_settings.hpp"

namespace batchai {

struct DaemonConfig {
  std::string control_plane_url;   // https://... (http://... only with allow_insecure_http)
  std::string ca_bundle;           // "" = the system's CAs
  std::string client_certificate;  // mutual TLS: PEM certificate and key
  std::string client_key;
  std::string token_file;  // bearer token, root-only file
  bool allow_insecure_http = false;
  std::string node_id;  // default: /etc/machine-id
  std::string cluster = "default";
  std::string root = "/mnt/batch/tasks";
  std::string state_dir = "/var/lib/batchai-agent";
  int kill_grace_seconds = 10;
  int unkillable_seconds = 60;  // after SIGKILL: processes still there make the node unusable
  int request_timeout_seconds = 30;
  int heartbeat_seconds = 60;      // a report with the node's facts at least this often
  int gpu_check_seconds = 60;      // how often the GPUs' health is checked
  std::string account_root = "/";  // where the admin account is made (a throw-away root in tests)
  // Added to the node's base environment of every job (as run-job's -e).
  std::vector<std::pair<std::string, std::string>> environment;
  StorageSettings storage;  // "storage": endpoints, ports, drivers (docs/mounts.md)
  std::string docker_socket = "/var/run/docker.sock";  // the container engine
  // Directories outside the root whose input directories a container job may see (read-only).
  std::vector<std::string> container_input_roots;
  // The port of a multi-node job's own sshd on every node (docs/multi-node.md); the same on
  // every node of a cluster.
  int job_ssh_port = 2200;
};

// Reads and validates the file; errors in d name the setting ("controlPlaneUrl: ...").
DaemonConfig load_daemon_config(const std::string& path, Diagnostics& d);
// The same for the file's text (path is for messages).
DaemonConfig parse_daemon_config(const std::string& text, const std::string& path, Diagnostics& d);

// Whether the file is a JSON object with a controlPlaneUrl: false for the package's default
// file, which the administrator has yet to point at a control plane.
bool config_names_control_plane(const std::string& path);

}  // namespace batchai
