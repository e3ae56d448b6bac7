#include "exec/job_status.hpp"

#include <nlohmann/json.hpp>

#include "common/fs.hpp"

namespace batchai {

using nlohmann::json;

std::string to_string(JobState s) {
  switch (s) {
    case JobState::kRunning:
      return "running";
    case JobState::kTerminating:
      return "terminating";
    case JobState::kSucceeded:
      return "succeeded";
    case JobState::kFailed:
      return "failed";
  }
  return "";
}

std::string status_to_json(const JobStatus& s) {
  json errors = json::array();
  for (const auto& e : s.errors) {
    json details = json::array();
    for (const auto& d : e.details) details.push_back({{"name", d.name}, {"value", d.value}});
    errors.push_back({{"code", e.code}, {"message", e.message}, {"details", details}});
  }
  json tasks = json::array();
  for (const auto& t : s.tasks) {
    tasks.push_back({{"name", t.name},
                     {"pid", t.pid},
                     {"startMs", t.start_ms},
                     {"exitCode", t.exit_code ? json(*t.exit_code) : json(nullptr)}});
  }
  json j = {{"state", to_string(s.state)},
            {"step", s.step},
            {"exitCode", s.exit_code ? json(*s.exit_code) : json(nullptr)},
            {"errors", errors},
            {"startMs", s.start_ms},
            {"endMs", s.end_ms},
            {"supervisorPid", s.supervisor_pid},
            {"supervisorStartTicks", s.supervisor_start_ticks},
            {"bootId", s.boot_id},
            {"cgroup", s.cgroup},
            {"tasks", tasks}};
  return j.dump(2) + "\n";
}

Result<JobStatus> status_from_json(const std::string& text) {
  try {
    json j = json::parse(text);
    JobStatus s;
    std::string state = j.at("state").get<std::string>();
    if (state == "running")
      s.state = JobState::kRunning;
    else if (state == "terminating")
      s.state = JobState::kTerminating;
    else if (state == "succeeded")
      s.state = JobState::kSucceeded;
    else if (state == "failed")
      s.state = JobState::kFailed;
    else
      return err("unknown job state \"" + state + "\"");
    s.step = j.at("step").get<std::string>();
    if (!j.at("exitCode").is_null()) s.exit_code = j.at("exitCode").get<int>();
    for (const auto& e : j.at("errors")) {
      JobError err_value{e.at("code").get<std::string>(), e.at("message").get<std::string>(), {}};
      for (const auto& d : e.at("details")) {
        err_value.details.push_back(
            {d.at("name").get<std::string>(), d.at("value").get<std::string>()});
      }
      s.errors.push_back(std::move(err_value));
    }
    s.start_ms = j.at("startMs").get<std::int64_t>();
    s.end_ms = j.at("endMs").get<std::int64_t>();
    s.supervisor_pid = j.at("supervisorPid").get<pid_t>();
    s.supervisor_start_ticks = j.at("supervisorStartTicks").get<std::uint64_t>();
    s.boot_id = j.at("bootId").get<std::string>();
    s.cgroup = j.at("cgroup").get<std::string>();
    for (const auto& t : j.at("tasks")) {
      TaskResult r{t.at("name").get<std::string>(), t.at("pid").get<pid_t>(), std::nullopt,
                   t.value("startMs", std::int64_t{0})};
      if (!t.at("exitCode").is_null()) r.exit_code = t.at("exitCode").get<int>();
      s.tasks.push_back(std::move(r));
    }
    return s;
  } catch (const json::exception& e) {
    return err(std::string("invalid status: ") + e.what());
  }
}

Status write_status(const std::string& path, const JobStatus& status) {
  return write_file_atomic(path, status_to_json(status), 0644);
}

Result<JobStatus> read_status(const std::string& path) {
  auto text = read_file(path, 1 << 20);
  if (!text) return text.error();
  return status_from_json(*text);
}

}  // namespace batchai
