// The identity endpoint of the real clients (docs/real-clients.md): an ADFS-style authority at
// /adfs whose token endpoint gives the service principals of --service-principals an access
// token for the client-credentials grant (az login --service-principal, azure.identity's
// ClientSecretCredential), and the cloud metadata a bare `az cloud register` reads.
#include "common/time.hpp"
#include "controlplane/arm_http.hpp"
#include "controlplane/routes.hpp"

namespace batchai::cp {

using nlohmann::json;

namespace {

// OAuth's error shape (RFC 6749, 5.2), which MSAL reads; not the resource manager's.
void send_oauth_error(httplib::Response& res, int status, const std::string& error,
                      const std::string& description) {
  send_json(res, status, {{"error", error}, {"error_description", description}});
}

void openid_configuration(const ServerContext& ctx, const httplib::Request& req,
                          httplib::Response& res) {
  auto base = base_url(ctx, req);
  if (!base) return send_error(res, bad_request("InvalidHost", "the Host header is not a host"));
  const std::string adfs = *base + "/adfs";
  send_json(res, 200,
            {{"issuer", adfs},
             {"authorization_endpoint", adfs + "/oauth2/authorize"},
             {"token_endpoint", adfs + "/oauth2/token"},
             {"token_endpoint_auth_methods_supported", json::array({"client_secret_post"})},
             {"grant_types_supported", json::array({"client_credentials"})},
             {"response_types_supported", json::array({"token"})},
             {"scopes_supported", json::array({"openid"})},
             {"subject_types_supported", json::array({"pairwise"})},
             {"id_token_signing_alg_values_supported", json::array({"RS256"})}});
}

void token(const ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const auto* tokens = ctx.credentials.access_tokens;
  if (tokens == nullptr || tokens->empty()) {
    return send_oauth_error(res, 400, "unauthorized_client",
                            "this control plane has no service principals (--service-principals)");
  }
  if (req.get_param_value("grant_type") != "client_credentials") {
    return send_oauth_error(res, 400, "unsupported_grant_type",
                            "only grant_type=client_credentials is served");
  }
  const std::string app_id = req.get_param_value("client_id");
  const std::string secret = req.get_param_value("client_secret");
  auto issued = is_valid_app_id(app_id) && secret.size() <= 256
                    ? tokens->issue(app_id, secret, wall_ms() / 1000)
                    : std::nullopt;
  if (!issued) {
    return send_oauth_error(res, 401, "invalid_client",
                            "the client id or secret is not one of a service principal here");
  }
  send_json(res, 200,
            {{"access_token", *issued},
             {"token_type", "Bearer"},
             {"expires_in", kAccessTokenSeconds},
             {"ext_expires_in", kAccessTokenSeconds}});
}

void metadata_endpoints(const ServerContext& ctx, const httplib::Request& req,
                        httplib::Response& res) {
  auto base = base_url(ctx, req);
  if (!base) return send_error(res, bad_request("InvalidHost", "the Host header is not a host"));
  send_json(res, 200,
            {{"galleryEndpoint", *base + "/"},
             {"graphEndpoint", *base + "/graph/"},
             {"portalEndpoint", *base + "/"},
             {"authentication",
              {{"loginEndpoint", *base + "/adfs"}, {"audiences", json::array({*base + "/"})}}}});
}

// Public: they are how a client gets its credential.
template <typename F>
httplib::Server::Handler open_route(const ServerContext& ctx, F fn) {
  return [&ctx, fn](const httplib::Request& req, httplib::Response& res) {
    try {
      fn(ctx, req, res);
    } catch (const std::exception&) {
      send_error(res, {500, "InternalError", "the control plane failed to answer"});
    }
  };
}

}  // namespace

void add_identity_routes(httplib::Server& server, const ServerContext& ctx) {
  server.Get("/adfs/.well-known/openid-configuration", open_route(ctx, openid_configuration));
  server.Post("/adfs/oauth2/token", open_route(ctx, token));
  server.Get("/+metadata/endpoints", open_route(ctx, metadata_endpoints));
}

}  // namespace batchai::cp
