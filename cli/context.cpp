#include "cli/context.hpp"

namespace batchai::cli {

using nlohmann::json;

std::optional<Failure> call(Context& ctx, const std::string& method, const std::string& target,
                            const json* body, json* out) {
  std::string payload;
  if (body != nullptr) payload = body->dump(-1, ' ', false, json::error_handler_t::replace);
  auto r = ctx.http.send(method, target, body != nullptr ? &payload : nullptr);
  if (auto f = failure_of(r)) return f;
  if (r->body.empty()) {
    *out = nullptr;
    return std::nullopt;
  }
  *out = json::parse(r->body, nullptr, false);
  if (out->is_discarded()) {
    return fail(kExitServer,
                "the server's answer (HTTP " + std::to_string(r->status) + ") is not JSON");
  }
  return std::nullopt;
}

std::optional<Failure> fetch_job_state(Context& ctx, const JobRef& job, std::string* state) {
  json j;
  if (auto f = call(ctx, "GET", job_path(job), nullptr, &j)) return f;
  if (!j.is_object() || !j.contains("executionState") || !j["executionState"].is_string()) {
    return fail(kExitServer, "the server's job has no executionState");
  }
  *state = j["executionState"].get<std::string>();
  return std::nullopt;
}

}  // namespace batchai::cli
