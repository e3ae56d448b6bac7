#include "controlplane/http_util.hpp"

#include <spdlog/spdlog.h>

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

httplib::Server::Handler route(const ServerContext& ctx, Caller caller, RouteFn fn) {
  return [&ctx, caller, fn = std::move(fn)](const httplib::Request& req, httplib::Response& res) {
    if (auto refused = authorize(ctx.credentials, caller, req)) {
      if (refused->status == 401) res.set_header("WWW-Authenticate", "Bearer");
      send_error(res, *refused);
      spdlog::warn("{} {}: {} {} from {}", req.method, req.path, refused->status, refused->code,
                   req.remote_addr);
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
