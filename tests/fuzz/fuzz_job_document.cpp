// The job document parser (jobspec/job_parser.hpp) on any bytes: run-job's file, a job create's
// body on the control plane. Also the parsed form a task's assignment carries.
#include <cstddef>
#include <cstdint>
#include <string>

#include "jobspec/job_parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  batchai::ParsedJob parsed = batchai::parse_job_document(text);
  (void)batchai::Diagnostics::render(parsed.diagnostics.errors(), parsed.diagnostics.error_count());
  try {
    auto j = nlohmann::json::parse(text, nullptr, true);
    (void)batchai::parse_job_json(j);
  } catch (const nlohmann::json::exception&) {
  }
  return 0;
}
