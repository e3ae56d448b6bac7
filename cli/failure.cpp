#include "cli/failure.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/output.hpp"

namespace batchai::cli {
namespace {

using nlohmann::json;

std::string text_of(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

// One line per entry of error.details: a string, {path?, message} or {name, value}.
std::vector<std::string> detail_lines(const json& details) {
  std::vector<std::string> out;
  if (!details.is_array()) return out;
  for (const auto& d : details) {
    if (d.is_string()) {
      out.push_back(d.get<std::string>());
    } else if (d.is_object() && d.contains("message")) {
      std::string path = text_of(d, "path");
      std::string message = text_of(d, "message");
      out.push_back(path.empty() ? message : path + ": " + message);
    } else if (d.is_object() && d.contains("name")) {
      out.push_back(text_of(d, "name") + ": " + text_of(d, "value"));
    } else {
      out.push_back(d.dump(-1, ' ', false, json::error_handler_t::replace));
    }
  }
  return out;
}

// The server's {"error": {"code", "message", "details"?}}; a body that is not one of those is
// reported by its status alone.
Failure failure_from_status(const HttpResponse& r) {
  Failure f;
  f.code = r.status == 400 ? kExitUsage : kExitServer;
  json body = json::parse(r.body, nullptr, false);
  const json* error = nullptr;
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    error = &body["error"];
  }
  if (error != nullptr) f.server_code = text_of(*error, "code");
  std::string message = error != nullptr ? text_of(*error, "message") : "";
  if (message.empty()) message = f.server_code;
  if (message.empty()) message = "the server answered HTTP " + std::to_string(r.status);
  // A message of several lines is one problem per line after the first.
  std::istringstream lines(message);
  std::string line;
  std::getline(lines, f.message);
  while (std::getline(lines, line)) {
    if (!line.empty()) f.problems.push_back(line);
  }
  if (error != nullptr && error->contains("details")) {
    for (auto& d : detail_lines((*error)["details"])) f.problems.push_back(std::move(d));
  }
  return f;
}

}  // namespace

std::optional<Failure> failure_of(const Result<HttpResponse>& exchange) {
  if (!exchange) return fail(kExitConnection, exchange.error().message);
  if (exchange->status >= 200 && exchange->status < 300) return std::nullopt;
  return failure_from_status(*exchange);
}

int report(const std::string& what, const Failure& failure) {
  std::fprintf(stderr, "batchai: %s: %s\n", printable(what).c_str(),
               printable(failure.message).c_str());
  for (const auto& p : failure.problems) std::fprintf(stderr, "  %s\n", printable(p).c_str());
  return failure.code;
}

}  // namespace batchai::cli
