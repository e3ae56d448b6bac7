// batchai-controlplane's command line.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "controlplane/volumes.hpp"

namespace batchai::cp {

struct Options {
  std::string listen;  // HOST:PORT
  std::string host;
  int port = 0;  // 0: any free port (the log says which)
  std::string state_dir;
  std::string tls_cert;
  std::string tls_key;
  std::string client_ca;
  std::string token_file;               // the user token
  std::string node_token_file;          // the node token
  std::string service_principals_file;  // "APPID SECRET" lines: who may get access tokens
  std::string storage_accounts_file;    // the storage accounts of Microsoft.Storage (JSON)
  std::string public_url;               // https://HOST[:PORT]: links start with it ("": Host)
  bool insecure_http = false;
  std::optional<std::string> node_root;
  std::string cluster = "default";
  int poll_wait_seconds = 55;
  // A node with tasks that has not been heard from for this long is lost: its tasks fail
  // (NodeLost), and so do their gangs. More than two polls, so a live node is never lost.
  int node_lost_seconds = 600;
  std::vector<std::string> file_server_args;  // --file-server NAME=IP:/EXPORT
  FileServers file_servers;                   // parsed by check_options
};

// Parses the command line into options. Returns an exit status when the program should stop
// (--help, a usage error), nothing when it should run.
std::optional<int> parse_options(int argc, char** argv, Options& options);

// Checks the combinations and fills host and port from listen.
Status check_options(Options& options);

// A file that holds secrets: a regular file that neither group nor others can read, at most
// max_bytes long.
Result<std::string> read_secret_file(const std::string& path, std::size_t max_bytes);

// The bearer token: the file's content without surrounding blanks. The file must be a regular
// file that neither group nor others can read, as the agent requires of its own.
Result<std::string> load_token(const std::string& path);

}  // namespace batchai::cp
