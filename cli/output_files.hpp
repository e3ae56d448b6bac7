// A job's output files through the resource-manager API: listOutputFiles for the names, sizes and
// download links, and the links themselves for the bytes (docs/cli.md, "Job files").
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/context.hpp"

namespace batchai::cli {

struct OutputFile {
  std::string name;
  bool directory = false;
  std::string download_url;  // files only
  nlohmann::json size;       // contentLength, or null
  nlohmann::json last_modified;
};

// The files and subdirectories of stdouterr or an output directory, every page of them.
std::optional<Failure> list_output_files(Context& ctx, const JobRef& job,
                                         const std::string& directory,
                                         std::vector<OutputFile>* files);

// At most max_bytes of the file behind a download link, from offset (a Range request: 206 with
// the bytes, 416 past the end). A link to the control plane's own /jobfiles is asked of the
// control plane; any other (a storage service's) of its host, without the control plane's
// token, over https or to a loopback address only.
Result<HttpResponse> read_link(Context& ctx, const std::string& url, std::int64_t offset,
                               std::int64_t max_bytes);

}  // namespace batchai::cli
