#include "controlplane/options.hpp"

#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <charconv>

#include "common/fs.hpp"
#include "controlplane/names.hpp"

namespace batchai::cp {

std::optional<int> parse_options(int argc, char** argv, Options& o) {
  CLI::App app{
      "batchai-controlplane: the reference control plane of the node protocol (docs/protocol.md); "
      "a worked example and a test fixture, not a production service"};
  app.add_option("--listen", o.listen, "HOST:PORT to listen on (PORT 0: any free port)")
      ->required();
  app.add_option("--state-dir", o.state_dir, "Directory of state.json (created 0700)")->required();
  app.add_option("--tls-cert", o.tls_cert, "Server certificate (PEM)");
  app.add_option("--tls-key", o.tls_key, "Server private key (PEM)");
  app.add_option("--client-ca", o.client_ca,
                 "CA bundle (PEM) that client certificates must chain to: mutual TLS");
  app.add_option(
      "--token-file", o.token_file,
      "File with the users' bearer token: jobs, clusters, files (mode 0600 or stricter)");
  app.add_option("--node-token-file", o.node_token_file,
                 "File with the nodes' bearer token: the node routes (mode 0600 or stricter)");
  app.add_option("--service-principals", o.service_principals_file,
                 "File of \"APPID SECRET\" lines: the service principals that may sign in at "
                 "/adfs (az login --service-principal, the Azure SDK); mode 0600 or stricter");
  app.add_option("--storage-accounts", o.storage_accounts_file,
                 "JSON file of the storage accounts Microsoft.Storage offers, with their keys "
                 "(docs/real-clients.md); mode 0600 or stricter");
  app.add_option("--public-url", o.public_url,
                 "https://HOST[:PORT] the clients reach this control plane at: the start of the "
                 "links it hands out (downloadUrl, nextLink, Location); without it, the "
                 "request's Host header");
  app.add_flag("--insecure-http", o.insecure_http, "Serve plain http (no TLS): for tests only");
  std::string node_root;
  app.add_option("--node-root", node_root,
                 "The node's root (/mnt/batch/tasks) as seen from this host, to serve job files");
  app.add_option("--cluster", o.cluster, "The cluster that exists from the start")
      ->capture_default_str();
  app.add_option("--file-server", o.file_server_args,
                 "NAME=IP:/EXPORT: an NFS file server jobs and clusters may name in fileServers");
  app.add_option("--poll-wait-seconds", o.poll_wait_seconds,
                 "How long a desired-state poll is held at most")
      ->capture_default_str();
  app.add_option("--node-lost-seconds", o.node_lost_seconds,
                 "How long a node with tasks may be silent before its tasks fail as NodeLost")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (!node_root.empty()) o.node_root = node_root;
  return std::nullopt;
}

Status check_options(Options& o) {
  for (const auto& arg : o.file_server_args) {
    std::string name, why;
    FileServer server;
    if (!parse_file_server(arg, name, server, why)) return err("--file-server: " + why);
    o.file_servers[name] = server;
  }
  auto colon = o.listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return err("--listen: expected HOST:PORT");
  o.host = o.listen.substr(0, colon);
  if (o.host.size() > 2 && o.host.front() == '[' && o.host.back() == ']') {
    o.host = o.host.substr(1, o.host.size() - 2);
  }
  const std::string port = o.listen.substr(colon + 1);
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), o.port);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || o.port < 0 ||
      o.port > 65535) {
    return err("--listen: \"" + port + "\" is not a port number");
  }
  const bool tls = !o.tls_cert.empty() || !o.tls_key.empty();
  if (tls && (o.tls_cert.empty() || o.tls_key.empty())) {
    return err("--tls-cert and --tls-key go together");
  }
  if (tls && o.insecure_http) return err("--insecure-http and --tls-cert exclude each other");
  if (!tls && !o.insecure_http) {
    return err("give --tls-cert and --tls-key, or --insecure-http for plain http");
  }
  if (!o.client_ca.empty() && !tls) return err("--client-ca needs --tls-cert and --tls-key");
  if (!o.tls_key.empty()) {
    // The server's private key, like the tokens: readable by its owner only.
    struct stat st {};
    if (::stat(o.tls_key.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      return err("--tls-key: " + o.tls_key + " can be read by group or others: chmod 600 it");
    }
  }
  if (!is_valid_name(o.cluster)) return err("--cluster: \"" + o.cluster + "\" is not a valid name");
  if (o.poll_wait_seconds < 1 || o.poll_wait_seconds > 3600) {
    return err("--poll-wait-seconds: must be 1 to 3600");
  }
  if (o.node_lost_seconds <= 2 * o.poll_wait_seconds || o.node_lost_seconds > 86400) {
    return err("--node-lost-seconds: must be more than twice --poll-wait-seconds (" +
               std::to_string(o.poll_wait_seconds) + ") and at most 86400");
  }
  if (!o.public_url.empty()) {
    const std::string& u = o.public_url;
    const bool scheme = u.starts_with("https://") || (o.insecure_http && u.starts_with("http://"));
    const std::string rest = scheme ? u.substr(u.find("://") + 3) : "";
    const bool host_only = !rest.empty() && rest.size() <= 255 &&
                           rest.find_first_not_of(
                               "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
                               "VWXYZ0123456789.-:[]") == std::string::npos;
    if (!host_only) return err("--public-url: must be https://HOST[:PORT], nothing after it");
  }
  if (o.node_root && (o.node_root->empty() || (*o.node_root)[0] != '/')) {
    return err("--node-root: must be an absolute path");
  }
  return ok();
}

Result<std::string> read_secret_file(const std::string& path, std::size_t max_bytes) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return err("cannot stat " + path + ": " + errno_text(errno));
  if (!S_ISREG(st.st_mode)) return err(path + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    return err(path + " can be read by group or others: chmod 600 it");
  }
  return read_file(path, max_bytes);
}

Result<std::string> load_token(const std::string& path) {
  auto text = read_secret_file(path, 4096);
  if (!text) return text.error();
  const auto blank = " \t\r\n";
  auto first = text->find_first_not_of(blank);
  if (first == std::string::npos) return err(path + " is empty");
  auto last = text->find_last_not_of(blank);
  std::string token = text->substr(first, last - first + 1);
  for (char c : token) {
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) {
      return err(path + ": the token must be printable ASCII without blanks");
    }
  }
  return token;
}

}  // namespace batchai::cp
