// POST /v1/nodes/{id}/register, GET /v1/nodes/{id}/desired, PUT /v1/nodes/{id}/state.
#include "common/time.hpp"
#include "controlplane/names.hpp"
#include "controlplane/nodes.hpp"
#include "controlplane/routes.hpp"

namespace batchai::cp {

using nlohmann::json;

namespace {

constexpr const char* kNode = "/v1/nodes/([^/]+)";

std::optional<ApiError> check_node_id(const std::string& id) {
  if (is_valid_node_id(id)) return std::nullopt;
  return bad_request("InvalidNodeId",
                     "the node id must be 1 to 256 letters, digits, '.', '_', '-'");
}

void do_register(const ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const std::string id = req.matches[1];
  if (auto e = check_node_id(id)) return send_error(res, *e);
  auto msg = protocol::register_request_from(req.body);
  if (!msg) return send_error(res, bad_request("InvalidMessage", msg.error().message));
  std::optional<ApiError> error;
  auto saved = ctx.store.modify([&](State& s, Events& events) {
    error = register_node(s, id, *msg, wall_ms(), events);
    return !error;
  });
  if (error) return send_error(res, *error);
  if (!saved) return send_not_saved(res);
  auto answer = ctx.store.read([&](const State& s) { return register_response(s, id, ctx.poll); });
  send_json(res, 200, protocol::to_json(answer));
}

void do_desired(const ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const std::string id = req.matches[1];
  if (auto e = check_node_id(id)) return send_error(res, *e);
  auto after = int_param(req, "after", 0, 0, INT64_MAX);
  auto wait = int_param(req, "wait", ctx.poll.poll_wait_seconds, 0, INT32_MAX);
  if (!after || !wait) {
    return send_error(res,
                      bad_request("InvalidQuery", "after and wait must be whole numbers >= 0"));
  }
  const std::int64_t wait_ms = std::min<std::int64_t>(*wait, ctx.poll.poll_wait_seconds) * 1000;
  // A version the node has but the state has not (a control plane restored from an older
  // state) is answered at once as well, so the node learns the current version.
  auto ready = [&](const State& s) {
    auto it = s.nodes.find(id);
    return it == s.nodes.end() || it->second.desired_version != *after;
  };
  auto answer = ctx.store.wait_then_read(
      ready, wait_ms, [&](const State& s, bool changed) -> std::optional<json> {
        auto it = s.nodes.find(id);
        if (it == s.nodes.end()) return std::nullopt;
        if (!changed) return json();
        return protocol::to_json(desired_state_of(s, it->second, ctx.poll));
      });
  if (!answer) {
    return send_error(res, not_found("NodeNotFound", "node " + id + " is not registered"));
  }
  ctx.store.touch([&](State& s) {
    auto it = s.nodes.find(id);
    if (it != s.nodes.end()) it->second.last_seen_ms = wall_ms();
  });
  if (answer->is_null()) {
    res.status = 304;
    return;
  }
  send_json(res, 200, *answer);
}

void do_report(const ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const std::string id = req.matches[1];
  if (auto e = check_node_id(id)) return send_error(res, *e);
  auto report = protocol::node_report_from(req.body);
  if (!report) return send_error(res, bad_request("InvalidMessage", report.error().message));
  std::optional<ApiError> error;
  ReportOutcome outcome;
  auto saved = ctx.store.modify([&](State& s, Events& events) {
    error = apply_report(s, id, *report, wall_ms(), outcome, events);
    return !error && outcome.applied;
  });
  if (error) return send_error(res, *error);
  if (!saved) return send_not_saved(res);
  send_json(res, 200, {{"acknowledged", outcome.acknowledged}});
}

// The node has left the cluster (scale-down): forgotten, or 409 while it still has tasks.
void do_leave(const ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const std::string id = req.matches[1];
  if (auto e = check_node_id(id)) return send_error(res, *e);
  std::optional<ApiError> error;
  bool removed = false;
  auto saved = ctx.store.modify([&](State& s, Events& events) {
    auto it = s.nodes.find(id);
    if (it == s.nodes.end()) return false;
    if (!it->second.tasks.empty()) {
      error = conflict("NodeBusy", "node " + id + " still has tasks");
      return false;
    }
    removed = remove_node(s, id, events);
    return removed;
  });
  if (error) return send_error(res, *error);
  if (removed && !saved) return send_not_saved(res);
  res.status = 204;
}

}  // namespace

void add_node_routes(httplib::Server& server, const ServerContext& ctx) {
  const std::string node = kNode;
  server.Post(node + "/register", route(ctx, Caller::kNode, [&ctx](const auto& req, auto& res) {
                do_register(ctx, req, res);
              }));
  server.Get(node + "/desired", route(ctx, Caller::kNode, [&ctx](const auto& req, auto& res) {
               do_desired(ctx, req, res);
             }));
  server.Put(node + "/state", route(ctx, Caller::kNode, [&ctx](const auto& req, auto& res) {
               do_report(ctx, req, res);
             }));
  server.Delete(node, route(ctx, Caller::kNode,
                            [&ctx](const auto& req, auto& res) { do_leave(ctx, req, res); }));
}

}  // namespace batchai::cp
