// GET /jobfiles?...: the downloadUrl of a file that listOutputFiles found on an Azure Files share
// or below the node root (controlplane/file_links.hpp).
#include <algorithm>
#include <charconv>
#include <optional>

#include "common/time.hpp"
#include "controlplane/file_links.hpp"

#include "controlplane/job_files.hpp"
#include "controlplane/names.hpp"
#include "controlplane/routes.hpp"

namespace batchai::cp {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxChunkBytes = std::size_t{4} * 1024 * 1024;

// Whether a Range header (one range: bytes=N-, bytes=N-M or bytes=-N, as az's file stream and
// download tools send) asks for something within a file of size bytes; httplib then serves the
// range itself.
bool range_within(const std::string& header, std::int64_t size) {
  if (!header.starts_with("bytes=") || header.find(',') != std::string::npos) return false;
  const std::string spec = header.substr(6);
  const auto dash = spec.find('-');
  if (dash == std::string::npos) return false;
  auto whole = [](const std::string& t, std::int64_t& v) {
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    return !t.empty() && ec == std::errc() && end == t.data() + t.size() && v >= 0;
  };
  std::int64_t first = 0, last = 0;
  if (dash == 0) return whole(spec.substr(1), last) && last > 0 && size > 0;  // the last N bytes
  if (!whole(spec.substr(0, dash), first) || first >= size) return false;
  return dash + 1 == spec.size() || (whole(spec.substr(dash + 1), last) && last >= first);
}

// GET /jobfiles?job&uuid&dir&path&se&sig: a downloadUrl of listOutputFiles. The link is the
// credential; the file is read where listOutputFiles found it (over SMB, or beneath the node
// root with no link followed), in chunks, so a large model streams.
void link_route(const ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  auto p = [&](const char* name) { return req.get_param_value(name); };
  auto link = ctx.file_links->check(p("job"), p("uuid"), p("dir"), p("path"), p("se"), p("sig"),
                                    wall_ms() / 1000);
  if (!link) {
    return send_error(res, {403, "AuthenticationFailed",
                            "the link is not valid or has expired: list the files again"});
  }
  auto job = ctx.store.read([&](const State& s) -> std::optional<JobRecord> {
    auto it = s.jobs.find(link->job_key);
    if (it == s.jobs.end() || it->second.uuid != link->uuid || it->second.deleted) {
      return std::nullopt;
    }
    return it->second;
  });
  if (!job) return send_error(res, not_found("JobNotFound", "the job does not exist any more"));
  auto dir = job_directory(*job, link->directory, place_of(ctx, *job));
  if (auto* e = std::get_if<ApiError>(&dir)) return send_error(res, *e);
  JobDirectory where = std::get<JobDirectory>(dir);
  // path: [<subdirectories>/]<name>, below the output directory.
  const auto slash = link->path.rfind('/');
  const std::string name = slash == std::string::npos ? link->path : link->path.substr(slash + 1);
  if (slash != std::string::npos) {
    if (auto e = descend(where, link->path.substr(0, slash))) return send_error(res, *e);
  }
  auto head = read_file_chunk(where, name, 0, 0);
  if (auto* e = std::get_if<ApiError>(&head)) return send_error(res, *e);
  const std::int64_t size = std::get<FileChunk>(head).file_size;
  // httplib applies the request's Range itself (206, Content-Range) to what the provider gives
  // at each offset of the whole file; a range past the end is answered here.
  if (req.has_header("Range") && !range_within(req.get_header_value("Range"), size)) {
    // httplib would cut the error's body to the range and add a Content-Range of its own: the
    // request (httplib's, not const where it lives) forgets its ranges for this answer.
    const_cast<httplib::Request&>(req).ranges.clear();
    res.set_header("Content-Range", "bytes */" + std::to_string(size));
    return send_error(res, {416, "InvalidRange",
                            "the range is not within the file's " + std::to_string(size) +
                                " bytes (one range, bytes=N-, N-M or -N)"});
  }
  // A range that runs past the end ends at the end (RFC 9110 14.1.2); httplib 0.11 would announce
  // the range's length as asked and then send fewer bytes.
  for (auto& range : const_cast<httplib::Request&>(req).ranges) {
    if (range.first >= 0 && (range.second < 0 || range.second >= size)) range.second = size - 1;
  }
  res.set_header("Accept-Ranges", "bytes");
  if (size == 0) return res.set_content("", "application/octet-stream");
  res.set_content_provider(
      static_cast<std::size_t>(size), "application/octet-stream",
      [where, name](std::size_t offset, std::size_t want, httplib::DataSink& sink) {
        // httplib calls this outside its handlers' exception guard.
        try {
          auto chunk = read_file_chunk(where, name, static_cast<std::int64_t>(offset),
                                       std::min(want, kMaxChunkBytes));
          auto* c = std::get_if<FileChunk>(&chunk);
          // A file cut short while it is sent ends the answer early: the client sees a short
          // body.
          if (c == nullptr || c->bytes.empty()) return false;
          return sink.write(c->bytes.data(), c->bytes.size());
        } catch (const std::exception&) {
          return false;
        }
      });
}

}  // namespace

void add_file_link_route(httplib::Server& server, const ServerContext& ctx) {
  // No bearer token: the link's signature is its credential (what az's file stream expects).
  server.Get(kFileLinkPath, [&ctx](const httplib::Request& req, httplib::Response& res) {
    try {
      link_route(ctx, req, res);
    } catch (const std::exception&) {
      send_error(res, {500, "InternalError", "the control plane failed to answer"});
    }
  });
}

}  // namespace batchai::cp
