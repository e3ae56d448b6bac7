// Jobs from the user's side: creation from a job document, termination.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "controlplane/api_error.hpp"
#include "controlplane/model.hpp"
#include "controlplane/store.hpp"

namespace batchai::cp {

struct NewJob {
  std::string resource_group;  // empty for a job of the /v1 routes
  std::string workspace;
  std::string experiment;
  std::string name;
  std::string cluster;
  nlohmann::json properties;  // the bare properties, with the document's $schema inside
  std::int64_t node_count = 1;
  std::string tool_type;
  std::vector<std::string> warnings;  // "path: message", e.g. unknown fields
};

// Validates the names and the document (jobspec/job_parser.hpp) without touching the state. Every
// problem is one line of the 400's message. The document's properties.cluster is a cluster
// name or {"id": "<name>" | ".../clusters/<name>"}; absent, the job goes to default_cluster.
std::variant<NewJob, ApiError> prepare_job(const std::string& ws, const std::string& exp,
                                           const std::string& name, const std::string& body,
                                           const std::string& default_cluster);

// Adds the job (queued, with a fresh uuid) and schedules. 409 when the name is taken.
std::optional<ApiError> create_job(State& s, const NewJob& job, std::int64_t now, Events& events);

// Terminates the job: a queued job fails at once with JobTerminate; an assigned one becomes
// "terminating" and its tasks are marked terminate: true. A finished job is left alone
// (changed stays false).
std::optional<ApiError> terminate_job(State& s, const std::string& key, std::int64_t now,
                                      bool& changed, Events& events);

// Deletes the job: terminates it and hides it; it is forgotten once final (forget_deleted_jobs).
std::optional<ApiError> delete_job(State& s, const std::string& key, std::int64_t now,
                                   Events& events);

// Forgets the deleted jobs that are final and on no node's task list. Returns whether any went.
bool forget_deleted_jobs(State& s, Events& events);

}  // namespace batchai::cp
