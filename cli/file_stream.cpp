// batchai job file stream -j JOB -f FILE [-d DIRECTORY]: like `az batchai job file stream`, finds
// the file with listOutputFiles, reads the bytes after those already written through its
// download link (Range), and stops once the job has ended and no bytes remain.
#include <chrono>
#include <cstdio>
#include <thread>

#include "cli/commands.hpp"
#include "cli/output_files.hpp"
#include "protocol/messages.hpp"

namespace batchai::cli {

namespace {

constexpr std::int64_t kChunkBytes = std::int64_t{4} << 20;

// The file's download link, or "" while it does not exist.
std::optional<Failure> find_link(Context& ctx, const FileStreamArgs& args, std::string* url) {
  std::vector<OutputFile> files;
  if (auto f = list_output_files(ctx, ctx.job(args.job), args.directory, &files)) return f;
  url->clear();
  for (const auto& file : files) {
    if (file.name == args.file && !file.directory) *url = file.download_url;
  }
  return std::nullopt;
}

// Writes the answer's bytes from offset on; a server that ignored the Range (200) sent the
// whole file, of which the first offset bytes are already out.
std::optional<Failure> write_new_bytes(const HttpResponse& r, std::int64_t* offset) {
  std::size_t skip = 0;
  if (r.status == 200)
    skip = static_cast<std::size_t>(
        std::min<std::int64_t>(*offset, static_cast<std::int64_t>(r.body.size())));
  const std::size_t n = r.body.size() - skip;
  if (std::fwrite(r.body.data() + skip, 1, n, stdout) != n || std::fflush(stdout) != 0) {
    return fail(kExitServer, "cannot write to standard output");
  }
  *offset += static_cast<std::int64_t>(n);
  return std::nullopt;
}

}  // namespace

int job_file_stream(Context& ctx, const FileStreamArgs& args) {
  const std::string what = "job file stream " + args.job + " " + args.directory + "/" + args.file;
  const auto interval = std::chrono::duration<double>(args.interval_seconds);
  std::int64_t offset = 0;
  std::string url;
  bool said_waiting = false;
  for (;;) {
    // The state is asked before the bytes: bytes written before the job ended are there to read
    // when the state says it has ended.
    std::string state;
    if (auto f = fetch_job_state(ctx, ctx.job(args.job), &state)) return report(what, *f);
    const bool ended = protocol::is_final_task_state(state);
    if (url.empty()) {
      if (auto f = find_link(ctx, args, &url)) return report(what, *f);
    }
    if (url.empty()) {
      if (ended) {
        return report(what, fail(kExitServer, "the job has ended and " + args.directory + "/" +
                                                  args.file + " does not exist"));
      }
      if (!said_waiting) std::fputs("File not found yet, waiting...\n", stderr);
      said_waiting = true;
      std::this_thread::sleep_for(interval);
      continue;
    }
    auto r = read_link(ctx, url, offset, kChunkBytes);
    if (!r) return report(what, fail(kExitConnection, r.error().message));
    if (r->status == 200 || r->status == 206) {
      const std::int64_t before = offset;
      if (auto f = write_new_bytes(*r, &offset)) return report(what, *f);
      if (offset > before) continue;  // there may be more right away
    } else if (r->status == 403 || r->status == 404) {
      url.clear();                  // the link expired, or the file went: list again
    } else if (r->status != 416) {  // 416: no bytes after offset yet
      return report(what, *failure_of(r));
    }
    if (ended && r->status != 403 && r->status != 404) return kExitOk;
    std::this_thread::sleep_for(interval);
  }
}

}  // namespace batchai::cli
