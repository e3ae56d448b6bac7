// batchai job show | list | terminate
#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/table.hpp"

namespace batchai::cli {
using nlohmann::json;

int job_show(Context& ctx, const std::string& name) {
  json job;
  if (auto f = call(ctx, "GET", job_path(ctx.job(name)), nullptr, &job)) {
    return report("job show " + name, *f);
  }
  print_json(job);
  return kExitOk;
}

int job_list(Context& ctx) {
  const std::string what = "job list";
  json answer;
  if (auto f = call(ctx, "GET", jobs_path(ctx.workspace, ctx.experiment), nullptr, &answer)) {
    return report(what, *f);
  }
  json jobs = list_items(answer);
  if (!jobs.is_array()) {
    return report(what, fail(kExitServer, "the server's answer is no job list"));
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& job : jobs) {
    rows.push_back({cell(field(job, "name")), cell(field(job, "executionState")),
                    cell(field(job, "creationTime")), cell(field(job, "executionInfo.exitCode"))});
  }
  std::string table =
      render_table({{"Name"}, {"State"}, {"Creation time"}, {"Exit code", true}}, rows);
  std::fputs(table.c_str(), stdout);
  return kExitOk;
}

int job_terminate(Context& ctx, const std::string& name) {
  json answer;
  if (auto f = call(ctx, "POST", job_terminate_path(ctx.job(name)), nullptr, &answer)) {
    return report("job terminate " + name, *f);
  }
  if (answer.is_object() && !answer.empty()) print_json(answer);
  return kExitOk;
}

}  // namespace batchai::cli
