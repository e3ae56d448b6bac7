// What users read: a job and a cluster in the shape `az batchai job show` and
// `az batchai cluster show` printed (the seeds' sample outputs), secrets replaced by null.
#pragma once

#include <nlohmann/json.hpp>

#include "controlplane/model.hpp"

namespace batchai::cp {

nlohmann::json view_job(const JobRecord& job);
nlohmann::json view_cluster(const State& s, const ClusterRecord& cluster);

}  // namespace batchai::cp
