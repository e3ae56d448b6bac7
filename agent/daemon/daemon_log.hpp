// The daemon's log. Under systemd (stderr is the journal's stream, as JOURNAL_STREAM says) each
// line goes to the journal with fields a reader can filter on:
//   journalctl -u batchai-agent NODE_ID=<id>      journalctl -u batchai-agent JOB_NAME=<job>
// Elsewhere (a terminal, the tests) lines go to stderr with a timestamp. The agent never logs a
// secret; the fields carry names and ids only.
#pragma once

#include <string>

namespace batchai {

// Installs spdlog's default logger; again once the configuration names the node.
void init_daemon_log(const std::string& node_id);

// Adds JOB_NAME=, TASK_ID= (and JOB_UUID= when known) to the journal entries this thread
// writes while the scope lives.
class JobLogFields {
 public:
  JobLogFields(const std::string& task_id, const std::string& job_name,
               const std::string& job_uuid = "");
  ~JobLogFields();
  JobLogFields(const JobLogFields&) = delete;
  JobLogFields& operator=(const JobLogFields&) = delete;
};

}  // namespace batchai
