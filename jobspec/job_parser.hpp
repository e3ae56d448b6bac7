// Parses and validates a job document (the CLI's {"$schema", "properties"} form or the bare
// properties object, API 2018-05-01 or 2018-03-01). Every problem is reported at once, each with
// its JSON path; unknown fields are warnings. Nothing here touches the system.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

#include "common/diagnostics.hpp"
#include "jobspec/job_spec.hpp"

namespace batchai {

constexpr std::size_t kMaxJobDocumentBytes = 4 * 1024 * 1024;

struct ParsedJob {
  JobSpec spec;             // meaningful only when diagnostics has no errors
  Diagnostics diagnostics;  // errors and warnings, with JSON paths
};

ParsedJob parse_job_document(const std::string& text);

// The same for a document that arrives parsed already (a task's assignment): the text's own
// checks (size, duplicate fields) were the receiver's to make.
ParsedJob parse_job_json(const nlohmann::json& document);

}  // namespace batchai
