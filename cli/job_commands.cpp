// batchai job show | list | terminate
#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/table.hpp"

namespace batchai::cli {
using nlohmann::json;

int job_show(Context& ctx, const std::string& name) {
  json job;
  if (auto f = get_resource(ctx, job_target(ctx.job(name)), &job)) {
    return report("job show " + name, *f);
  }
  print_json(job);
  return kExitOk;
}

int job_list(Context& ctx) {
  json jobs;
  if (auto f = call_list(ctx, "GET", jobs_target(ctx.workspace, ctx.experiment), &jobs)) {
    return report("job list", *f);
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& resource : jobs) {
    const json job = flatten_resource(resource);
    rows.push_back({cell(field(job, "name")), cell(field(job, "executionState")),
                    cell(field(job, "creationTime")), cell(field(job, "executionInfo.exitCode"))});
  }
  std::string table =
      render_table({{"Name"}, {"State"}, {"Creation time"}, {"Exit code", true}}, rows);
  std::fputs(table.c_str(), stdout);
  return kExitOk;
}

// Terminates, then prints the job as it now is (terminating, or ended if it had not started).
int job_terminate(Context& ctx, const std::string& name) {
  const std::string what = "job terminate " + name;
  json answer;
  if (auto f = call(ctx, "POST", job_terminate_target(ctx.job(name)), nullptr, &answer)) {
    return report(what, *f);
  }
  json job;
  if (auto f = get_resource(ctx, job_target(ctx.job(name)), &job)) return report(what, *f);
  print_json(job);
  return kExitOk;
}

}  // namespace batchai::cli
