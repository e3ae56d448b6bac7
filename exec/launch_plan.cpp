#include "exec/launch_plan.hpp"

#include <nlohmann/json.hpp>

namespace batchai {

using nlohmann::json;

namespace {

json tasks_to_json(const std::vector<TaskSpec>& specs) {
  json tasks = json::array();
  for (const auto& t : specs) {
    tasks.push_back({{"name", t.name},
                     {"argv", t.argv},
                     {"env", t.env},
                     {"cwd", t.cwd},
                     {"stdout", t.stdout_path},
                     {"stderr", t.stderr_path},
                     {"primary", t.primary}});
  }
  return tasks;
}

Result<std::vector<TaskSpec>> tasks_from(const json& list) {
  std::vector<TaskSpec> tasks;
  for (const auto& t : list) {
    TaskSpec task;
    task.name = t.at("name").get<std::string>();
    task.argv = t.at("argv").get<std::vector<std::string>>();
    task.env = t.at("env").get<std::vector<std::string>>();
    task.cwd = t.at("cwd").get<std::string>();
    task.stdout_path = t.at("stdout").get<std::string>();
    task.stderr_path = t.at("stderr").get<std::string>();
    task.primary = t.at("primary").get<bool>();
    if (task.argv.empty()) return err("task " + task.name + " has an empty argv");
    tasks.push_back(std::move(task));
  }
  return tasks;
}

}  // namespace

std::string plan_to_json(const LaunchPlan& plan) {
  json steps = json::array();
  for (const auto& step : plan.steps) {
    const json tasks = tasks_to_json(step.tasks);
    steps.push_back({{"name", step.name},
                     {"failureCode", step.failure_code},
                     {"hold", step.hold},
                     {"tasks", tasks}});
  }
  json j = {{"version", 1},
            {"jobId", plan.job_id},
            {"jobName", plan.job_name},
            {"executionLog", plan.execution_log},
            {"deadlineWallMs", plan.deadline_wall_ms},
            {"maxWallClockMs", plan.max_wall_clock_ms},
            {"graceMs", plan.grace_ms},
            {"unkillableAfterMs", plan.unkillable_after_ms},
            {"endWithParent", plan.end_with_parent},
            {"cgroupParent", plan.cgroup_parent},
            {"filesRoot", plan.files_root},
            {"services", tasks_to_json(plan.services)},
            {"readyFile", plan.ready_file},
            {"steps", steps}};
  // Invalid UTF-8 is replaced rather than thrown about: callers validate what users give.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<LaunchPlan> plan_from_json(const std::string& text) {
  try {
    json j = json::parse(text);
    if (j.at("version").get<int>() != 1) return err("unsupported launch plan version");
    LaunchPlan plan;
    plan.job_id = j.at("jobId").get<std::string>();
    plan.job_name = j.at("jobName").get<std::string>();
    plan.execution_log = j.at("executionLog").get<std::string>();
    plan.deadline_wall_ms = j.at("deadlineWallMs").get<std::int64_t>();
    plan.max_wall_clock_ms = j.at("maxWallClockMs").get<std::int64_t>();
    plan.grace_ms = j.at("graceMs").get<std::int64_t>();
    plan.unkillable_after_ms = j.value("unkillableAfterMs", plan.unkillable_after_ms);
    plan.end_with_parent = j.at("endWithParent").get<bool>();
    plan.cgroup_parent = j.at("cgroupParent").get<std::string>();
    plan.files_root = j.value("filesRoot", "");
    plan.ready_file = j.value("readyFile", "");
    auto services = tasks_from(j.value("services", json::array()));
    if (!services) return services.error();
    plan.services = std::move(*services);
    for (const auto& s : j.at("steps")) {
      StepSpec step;
      step.name = s.at("name").get<std::string>();
      step.failure_code = s.at("failureCode").get<std::string>();
      step.hold = s.value("hold", false);
      auto tasks = tasks_from(s.at("tasks"));
      if (!tasks) return tasks.error();
      step.tasks = std::move(*tasks);
      plan.steps.push_back(std::move(step));
    }
    return plan;
  } catch (const json::exception& e) {
    return err(std::string("invalid launch plan: ") + e.what());
  }
}

}  // namespace batchai
