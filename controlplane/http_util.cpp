#include "controlplane/http_util.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <array>
#include <charconv>

namespace batchai::cp {

using nlohmann::json;

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n",
                  "application/json");
}

void send_error(httplib::Response& res, const ApiError& e) {
  send_json(res, e.status, {{"error", {{"code", e.code}, {"message", e.message}}}});
}

void send_not_saved(httplib::Response& res) {
  res.set_header("Retry-After", "5");
  send_error(res, {503, "StateNotSaved", "the control plane could not save its state; try again"});
}

namespace {

// SHA-256 of text: tokens are compared as digests, so neither their content nor their length
// shows in the time the comparison takes.
std::array<unsigned char, 32> digest(const std::string& text) {
  std::array<unsigned char, 32> out{};
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), out.data(), &size, EVP_sha256(), nullptr);
  return out;
}

}  // namespace

bool authorized(const httplib::Request& req, const std::string& token) {
  const std::string header = req.get_header_value("Authorization");
  const std::string prefix = "Bearer ";
  const std::string given = header.starts_with(prefix) ? header.substr(prefix.size()) : "";
  const auto a = digest(given);
  const auto b = digest(token);
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0 && header.starts_with(prefix);
}

httplib::Server::Handler route(const ServerContext& ctx, RouteFn fn) {
  return [&ctx, fn = std::move(fn)](const httplib::Request& req, httplib::Response& res) {
    if (ctx.token && !authorized(req, *ctx.token)) {
      res.set_header("WWW-Authenticate", "Bearer");
      send_error(res, {401, "Unauthorized", "a valid Authorization: Bearer token is required"});
      spdlog::warn("{} {}: 401 Unauthorized from {}", req.method, req.path, req.remote_addr);
      return;
    }
    if (!nesting_within(req.body, kMaxBodyNesting)) {
      send_error(
          res, bad_request("InvalidRequest", "the request body nests more than " +
                                                 std::to_string(kMaxBodyNesting) + " levels deep"));
      spdlog::warn("{} {}: 400 InvalidRequest (nesting)", req.method, req.path);
      return;
    }
    try {
      fn(req, res);
    } catch (const std::exception& e) {
      spdlog::error("{} {}: internal error: {}", req.method, req.path, e.what());
      send_error(res, {500, "InternalError", "the control plane failed to answer"});
      return;
    }
    if (res.status >= 400) {
      auto body = json::parse(res.body, nullptr, false);
      std::string code = "?";
      if (body.is_object() && body.contains("error") && body["error"].is_object() &&
          body["error"].value("code", json()).is_string()) {
        code = body["error"]["code"].get<std::string>();
      }
      spdlog::warn("{} {}: {} {}", req.method, req.path, res.status, code);
    }
  };
}

bool nesting_within(const std::string& text, int max_depth) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

std::optional<std::int64_t> int_param(const httplib::Request& req, const char* name,
                                      std::int64_t fallback, std::int64_t min, std::int64_t max) {
  if (!req.has_param(name)) return fallback;
  const std::string text = req.get_param_value(name);
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < min || v > max) {
    return std::nullopt;
  }
  return v;
}

}  // namespace batchai::cp
