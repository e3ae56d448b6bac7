// Who may call what (docs/protocol.md, "Credentials and roles"). Two roles:
// - a node calls the node routes (/v1/nodes/{nodeId}/...): under mutual TLS for itself only (its
//   client certificate's common name or a DNS subject alternative name must be {nodeId}); with
//   --node-token-file it carries the node token, which is one for the whole fleet, so with
//   tokens alone a node can still act as another node (never as a user);
// - a user calls everything else (jobs, clusters, files, /v1/stats) with the user token
//   (--token-file). A node's credential never passes as a user's: under mutual TLS the user
//   routes need the user token as well. An access token from the identity endpoint
//   (controlplane/access_tokens.hpp, for az and the Azure SDK) is a user's credential too.
// With no credential configured for a role (a loopback test set-up) its routes are open.
#pragma once

#include <httplib.h>

#include <optional>
#include <string>

#include "controlplane/access_tokens.hpp"
#include "controlplane/api_error.hpp"

namespace batchai::cp {

enum class Caller { kNode, kUser };

struct Credentials {
  std::optional<std::string> user_token;
  std::optional<std::string> node_token;
  bool mutual_tls = false;
  const AccessTokens* access_tokens = nullptr;  // none, or no principals: no access tokens
};

// None when the request may go on; else the answer (401 with no or a wrong credential, 403
// with one of the wrong role or for another node).
std::optional<ApiError> authorize(const Credentials& credentials, Caller caller,
                                  const httplib::Request& req);

// The client certificate's names (common name, DNS subject alternative names); empty without
// one.
std::vector<std::string> client_certificate_names(const httplib::Request& req);

}  // namespace batchai::cp
