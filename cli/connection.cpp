#include "cli/connection.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "cli/output.hpp"
#include "cli/token_file.hpp"
#include "common/fs.hpp"

namespace batchai::cli {

Result<ClientConfig> connection_config(const ConnectionOptions& options) {
  auto server = parse_server_url(choose_server(options.server));
  if (!server) return server.error();
  if (!server->https && !server->loopback) {
    if (!options.insecure_http) {
      return err(
          "plain http:// is allowed only to this machine (localhost, 127.0.0.0/8, ::1); "
          "use https:// or --insecure-http: " +
          server->base);
    }
    std::fprintf(stderr,
                 "batchai: warning: --insecure-http: talking to %s without TLS; the token and "
                 "the job documents cross the network unencrypted\n",
                 printable(server->host).c_str());
  }
  if (!options.cacert.empty() && ::access(options.cacert.c_str(), R_OK) != 0) {
    return err("cannot read the CA bundle " + options.cacert + ": " + errno_text(errno));
  }
  ClientConfig config{std::move(*server), options.cacert, ""};
  if (!options.token_file.empty()) {
    auto token = read_token_file(options.token_file);
    if (!token) return token.error();
    config.token = std::move(*token);
  }
  return config;
}

}  // namespace batchai::cli
