#include "cli/output_files.hpp"

#include "cli/output.hpp"
#include "cli/server_url.hpp"

namespace batchai::cli {

using nlohmann::json;

namespace {

// One entry of listOutputFiles: 2018-05-01's File. An entry without a name is the server's
// mistake, not a file.
std::optional<OutputFile> output_file_of(const json& entry) {
  json name = field(entry, "name");
  if (!name.is_string() || name.get<std::string>().empty()) return std::nullopt;
  OutputFile f;
  f.name = name.get<std::string>();
  f.directory = field(entry, "fileType") == "directory";
  json url = field(entry, "downloadUrl");
  if (url.is_string()) f.download_url = url.get<std::string>();
  f.size = field(entry, "properties.contentLength");
  f.last_modified = field(entry, "properties.lastModified");
  return f;
}

std::string range_header(std::int64_t offset, std::int64_t max_bytes) {
  return "Range: bytes=" + std::to_string(offset) + "-" + std::to_string(offset + max_bytes - 1);
}

}  // namespace

std::optional<Failure> list_output_files(Context& ctx, const JobRef& job,
                                         const std::string& directory,
                                         std::vector<OutputFile>* files) {
  json entries;
  if (auto f = call_list(ctx, "POST", job_output_files_target(job, directory), &entries)) return f;
  files->clear();
  for (const auto& entry : entries) {
    auto file = output_file_of(entry);
    if (!file) return fail(kExitServer, "the server listed a file without a name");
    files->push_back(std::move(*file));
  }
  return std::nullopt;
}

Result<HttpResponse> read_link(Context& ctx, const std::string& url, std::int64_t offset,
                               std::int64_t max_bytes) {
  auto parts = split_url(url);
  if (!parts) return parts.error();
  const std::vector<std::string> range = {range_header(offset, max_bytes)};
  if (parts->target.starts_with("/jobfiles?")) {
    return ctx.http.send("GET", parts->target, nullptr, range);
  }
  auto origin = parse_server_url(parts->origin);
  if (!origin) return origin.error();
  if (!origin->https && !origin->loopback) {
    return err("the download link " + parts->origin + " is plain http to another machine");
  }
  HttpClient storage(ClientConfig{*origin, ctx.http.config().cacert, ""});
  return storage.send("GET", parts->target, nullptr, range);
}

}  // namespace batchai::cli
