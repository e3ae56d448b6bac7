// batchai job file stream -j JOB -f FILE [-d DIRECTORY]: like `az batchai job file stream`, polls
// the file for the bytes after those already written and stops once the job has ended and no
// bytes remain.
#include <chrono>
#include <cstdio>
#include <thread>

#include "cli/commands.hpp"
#include "protocol/messages.hpp"

namespace batchai::cli {

int job_file_stream(Context& ctx, const FileStreamArgs& args) {
  const std::string what = "job file stream " + args.job + " " + args.directory + "/" + args.file;
  const JobRef job = ctx.job(args.job);
  const auto interval = std::chrono::duration<double>(args.interval_seconds);
  std::int64_t offset = 0;
  bool said_waiting = false;
  for (;;) {
    auto r = ctx.http.send("GET", job_file_path(job, args.directory, args.file, offset));
    // Only a file that does not exist yet is worth waiting for; any other error (no such job,
    // no such output directory, files not reachable) ends the stream.
    auto failure = failure_of(r);
    const bool missing = failure && failure->server_code == "FileNotFound";
    if (failure && !missing) return report(what, *failure);
    // X-Job-State comes with the answer; without it (a server that leaves it out), the job
    // itself says.
    std::string state = r->header("x-job-state");
    if (state.empty()) {
      if (auto f = fetch_job_state(ctx, job, &state)) return report(what, *f);
    }
    const bool ended = protocol::is_final_task_state(state);
    if (missing) {
      if (ended) return report(what, *failure);
      if (!said_waiting) std::fputs("File not found yet, waiting...\n", stderr);
      said_waiting = true;
    } else if (!r->body.empty()) {
      if (std::fwrite(r->body.data(), 1, r->body.size(), stdout) != r->body.size() ||
          std::fflush(stdout) != 0) {
        return report(what, fail(kExitServer, "cannot write to standard output"));
      }
      offset += static_cast<std::int64_t>(r->body.size());
      continue;  // there may be more right away
    } else if (ended) {
      return kExitOk;
    }
    std::this_thread::sleep_for(interval);
  }
}

}  // namespace batchai::cli
