// The handlers of the resource-manager API, one per (method, kind of path); arm_routes.cpp
// dispatches to them after the path, the subscription, the names and api-version are checked.
#pragma once

#include "controlplane/arm_http.hpp"

namespace batchai::cp {

using ArmHandler = void (*)(const ServerContext&, const ArmRequest&, httplib::Response&);

// location (required when asked) and tags of a PUT or PATCH body, checked.
std::optional<ApiError> check_location_and_tags(const nlohmann::json& body, bool location_required);

// Subscriptions and resource groups (arm_groups.cpp).
void arm_list_subscriptions(const ServerContext&, const ArmRequest&, httplib::Response&);
void arm_get_subscription(const ServerContext&, const ArmRequest&, httplib::Response&);
void arm_list_groups(const ServerContext&, const ArmRequest&, httplib::Response&);
void arm_get_group(const ServerContext&, const ArmRequest&, httplib::Response&);
void arm_put_group(const ServerContext&, const ArmRequest&, httplib::Response&);
void arm_delete_group(const ServerContext&, const ArmRequest&, httplib::Response&);

// Workspaces and experiments (arm_workspaces.cpp).
void arm_list_workspaces(const ServerContext&, const ArmRequest&, httplib::Response&);
void arm_get_workspace(const ServerContext&, const ArmRequest&, httplib::Response&);
void arm_put_workspace(const ServerContext&, const ArmRequest&, httplib::Response&);
void arm_delete_workspace(const ServerContext&, const ArmRequest&, httplib::Response&);
void arm_list_experiments(const ServerContext&, const ArmRequest&, httplib::Response&);
void arm_get_experiment(const ServerContext&, const ArmRequest&, httplib::Response&);
void arm_put_experiment(const ServerContext&, const ArmRequest&, httplib::Response&);
void arm_delete_experiment(const ServerContext&, const ArmRequest&, httplib::Response&);
void arm_list_usages(const ServerContext&, const ArmRequest&, httplib::Response&);
void arm_list_file_servers(const ServerContext&, const ArmRequest&, httplib::Response&);
void arm_get_operation_status(const ServerContext&, const ArmRequest&, httplib::Response&);

// Clusters (arm_clusters.cpp).
void arm_list_clusters(const ServerContext&, const ArmRequest&, httplib::Response&);
void arm_get_cluster(const ServerContext&, const ArmRequest&, httplib::Response&);
void arm_put_cluster(const ServerContext&, const ArmRequest&, httplib::Response&);
void arm_patch_cluster(const ServerContext&, const ArmRequest&, httplib::Response&);
void arm_delete_cluster(const ServerContext&, const ArmRequest&, httplib::Response&);
void arm_cluster_remote_login(const ServerContext&, const ArmRequest&, httplib::Response&);

// Jobs (arm_jobs.cpp).
void arm_list_jobs(const ServerContext&, const ArmRequest&, httplib::Response&);
void arm_get_job(const ServerContext&, const ArmRequest&, httplib::Response&);
void arm_put_job(const ServerContext&, const ArmRequest&, httplib::Response&);
void arm_delete_job(const ServerContext&, const ArmRequest&, httplib::Response&);
void arm_terminate_job(const ServerContext&, const ArmRequest&, httplib::Response&);
void arm_list_output_files(const ServerContext&, const ArmRequest&, httplib::Response&);
void arm_job_remote_login(const ServerContext&, const ArmRequest&, httplib::Response&);

// Storage accounts (arm_storage.cpp).
void arm_list_storage_accounts(const ServerContext&, const ArmRequest&, httplib::Response&);
void arm_get_storage_account(const ServerContext&, const ArmRequest&, httplib::Response&);
void arm_put_storage_account(const ServerContext&, const ArmRequest&, httplib::Response&);
void arm_list_storage_keys(const ServerContext&, const ArmRequest&, httplib::Response&);
void arm_check_storage_name(const ServerContext&, const ArmRequest&, httplib::Response&);

}  // namespace batchai::cp
