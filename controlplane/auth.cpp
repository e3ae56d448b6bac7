#include "controlplane/auth.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <memory>

#include "common/digest.hpp"
#include "common/time.hpp"

namespace batchai::cp {

namespace {

// Tokens are compared as digests (common/digest.hpp).
bool same(const std::string& a, const std::string& b) {
  return same_secret(a, b);
}

std::optional<std::string> bearer(const httplib::Request& req) {
  const std::string header = req.get_header_value("Authorization");
  if (!header.starts_with("Bearer ")) return std::nullopt;
  return header.substr(7);
}

ApiError unauthorized(const std::string& what) {
  return {401, "Unauthorized", what};
}

ApiError forbidden(const std::string& what) {
  return {403, "Forbidden", what};
}

bool valid_access_token(const Credentials& c, const std::string& token) {
  return c.access_tokens != nullptr && c.access_tokens->verify(token, wall_ms() / 1000);
}

std::optional<ApiError> authorize_node(const Credentials& c, const httplib::Request& req) {
  const std::string node_id = req.matches.size() > 1 ? std::string(req.matches[1]) : "";
  if (c.node_token) {
    auto given = bearer(req);
    if (!given || !same(*given, *c.node_token)) {
      if (given &&
          ((c.user_token && same(*given, *c.user_token)) || valid_access_token(c, *given))) {
        return forbidden("a user's token cannot call the node routes");
      }
      return unauthorized("a node's Authorization: Bearer token is required");
    }
  } else if (!c.mutual_tls &&
             (c.user_token || (c.access_tokens != nullptr && !c.access_tokens->empty()))) {
    return forbidden(
        "node routes need a node credential (--node-token-file or mutual TLS), "
        "and this control plane has none");
  }
  if (c.mutual_tls) {
    const auto names = client_certificate_names(req);
    if (std::find(names.begin(), names.end(), node_id) == names.end()) {
      return forbidden("the client certificate does not name node " + node_id);
    }
  }
  return std::nullopt;
}

std::optional<ApiError> authorize_user(const Credentials& c, const httplib::Request& req) {
  const bool tokens = c.access_tokens != nullptr && !c.access_tokens->empty();
  if (!c.user_token && !tokens) {
    if (!c.mutual_tls) return std::nullopt;
    return forbidden("under mutual TLS the user routes need the user token (--token-file)");
  }
  auto given = bearer(req);
  if (given && c.user_token && same(*given, *c.user_token)) return std::nullopt;
  if (given && valid_access_token(c, *given)) return std::nullopt;
  if (given && c.node_token && same(*given, *c.node_token)) {
    return forbidden("a node's token cannot call the user routes");
  }
  return unauthorized("a valid Authorization: Bearer token is required");
}

}  // namespace

std::vector<std::string> client_certificate_names(const httplib::Request& req) {
  std::vector<std::string> names;
  if (req.ssl == nullptr) return names;
  std::unique_ptr<X509, void (*)(X509*)> cert(SSL_get1_peer_certificate(req.ssl), X509_free);
  if (!cert) return names;
  // The common name whole (X509_NAME_get_text_by_NID would cut it short), and only when the
  // subject has exactly one: a name cut or chosen among several could match another node.
  const X509_NAME* subject = X509_get_subject_name(cert.get());
  const int first = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (first >= 0 && X509_NAME_get_index_by_NID(subject, NID_commonName, first) < 0) {
    const ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, first));
    names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(cn)),
                       static_cast<std::size_t>(ASN1_STRING_length(cn)));
  }
  auto* sans = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr));
  if (sans != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* g = sk_GENERAL_NAME_value(sans, i);
      if (g->type != GEN_DNS) continue;
      const auto* s = g->d.dNSName;
      names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                         static_cast<std::size_t>(ASN1_STRING_length(s)));
    }
    GENERAL_NAMES_free(sans);
  }
  return names;
}

std::optional<ApiError> authorize(const Credentials& credentials, Caller caller,
                                  const httplib::Request& req) {
  return caller == Caller::kNode ? authorize_node(credentials, req)
                                 : authorize_user(credentials, req);
}

}  // namespace batchai::cp
