#include "cli/context.hpp"

#include "cli/output.hpp"
#include "cli/server_url.hpp"

namespace batchai::cli {

using nlohmann::json;

namespace {

// A server that keeps handing out nextLinks is not followed for ever.
constexpr int kMaxPages = 1000;

}  // namespace

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

std::optional<Failure> call_list(Context& ctx, const std::string& method, const std::string& target,
                                 json* items) {
  *items = json::array();
  std::string next = target;
  std::string next_method = method;
  for (int page = 0; page < kMaxPages; ++page) {
    json answer;
    if (auto f = call(ctx, next_method, next, nullptr, &answer)) return f;
    json value = field(answer, "value");
    if (!value.is_array()) return fail(kExitServer, "the server's answer is no list");
    for (auto& item : value) items->push_back(std::move(item));
    json link = field(answer, "nextLink");
    if (link.is_null()) return std::nullopt;
    if (!link.is_string()) return fail(kExitServer, "the server's nextLink is not a string");
    if (link.get<std::string>().empty()) return std::nullopt;
    auto parts = split_url(link.get<std::string>());
    if (!parts) return fail(kExitServer, parts.error().message);
    next = parts->target;
    next_method = "GET";
  }
  return fail(kExitServer, "the server's list goes on for more than 1000 pages");
}

std::optional<Failure> get_resource(Context& ctx, const std::string& target, json* out) {
  json resource;
  if (auto f = call(ctx, "GET", target, nullptr, &resource)) return f;
  *out = flatten_resource(resource);
  return std::nullopt;
}

std::optional<Failure> fetch_job_state(Context& ctx, const JobRef& job, std::string* state) {
  json j;
  if (auto f = get_resource(ctx, job_target(job), &j)) return f;
  if (!j.is_object() || !j.contains("executionState") || !j["executionState"].is_string()) {
    return fail(kExitServer, "the server's job has no executionState");
  }
  *state = j["executionState"].get<std::string>();
  return std::nullopt;
}

}  // namespace batchai::cli
