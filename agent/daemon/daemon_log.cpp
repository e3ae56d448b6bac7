#include "agent/daemon/daemon_log.hpp"

#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <vector>

namespace batchai {

namespace {

struct JobFields {
  std::string task_id, job_name, job_uuid;
};
thread_local std::optional<JobFields> current_job;

int priority_of(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return LOG_DEBUG;
    case spdlog::level::info:
      return LOG_INFO;
    case spdlog::level::warn:
      return LOG_WARNING;
    case spdlog::level::err:
      return LOG_ERR;
    case spdlog::level::critical:
      return LOG_CRIT;
    default:
      return LOG_NOTICE;
  }
}

// spdlog's own systemd sink sends no fields of ours; this one does.
class JournalSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit JournalSink(const std::string& node_id)
      : node_field_(node_id.empty() ? "" : "NODE_ID=" + node_id) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::vector<std::string> fields;
    fields.reserve(8);
    fields.push_back("MESSAGE=" + std::string(msg.payload.data(), msg.payload.size()));
    fields.push_back("PRIORITY=" + std::to_string(priority_of(msg.level)));
    fields.push_back("SYSLOG_IDENTIFIER=batchai-agent");
    if (!node_field_.empty()) fields.push_back(node_field_);
    if (current_job) {
      fields.push_back("TASK_ID=" + current_job->task_id);
      if (!current_job->job_name.empty()) fields.push_back("JOB_NAME=" + current_job->job_name);
      if (!current_job->job_uuid.empty()) fields.push_back("JOB_UUID=" + current_job->job_uuid);
    }
    std::vector<iovec> iov;
    iov.reserve(fields.size());
    for (auto& f : fields) iov.push_back({f.data(), f.size()});
    if (sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) < 0) {
      // The journal is gone (stopping?): the line still goes somewhere.
      std::fprintf(stderr, "%s\n", fields[0].c_str() + 8);
    }
  }
  void flush_() override {}

 private:
  std::string node_field_;
};

// Whether stderr is connected to the journal (the unit's StandardError=journal).
bool stderr_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  struct stat st {};
  if (::fstat(2, &st) != 0) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
  return dev == st.st_dev && ino == st.st_ino;
}

}  // namespace

void init_daemon_log(const std::string& node_id) {
  std::shared_ptr<spdlog::logger> logger;
  if (stderr_is_journal()) {
    logger =
        std::make_shared<spdlog::logger>("batchai-agent", std::make_shared<JournalSink>(node_id));
    logger->set_pattern("%v");
  } else {
    logger = std::make_shared<spdlog::logger>("batchai-agent",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
  }
  spdlog::set_default_logger(logger);
}

JobLogFields::JobLogFields(const std::string& task_id, const std::string& job_name,
                           const std::string& job_uuid) {
  current_job = JobFields{task_id, job_name, job_uuid};
}

JobLogFields::~JobLogFields() {
  current_job.reset();
}

}  // namespace batchai
