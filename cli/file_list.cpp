// batchai job file list -j JOB -d DIRECTORY
#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/table.hpp"

namespace batchai::cli {

using nlohmann::json;

int job_file_list(Context& ctx, const FileListArgs& args) {
  const std::string what = "job file list " + args.job + " -d " + args.directory;
  json answer;
  if (auto f =
          call(ctx, "GET", job_files_path(ctx.job(args.job), args.directory), nullptr, &answer)) {
    return report(what, *f);
  }
  json files = list_items(answer);
  if (!files.is_array()) {
    return report(what, fail(kExitServer, "the server's answer is no file list"));
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& file : files) {
    std::string name = cell(field(file, "name"));
    if (field(file, "isDirectory") == true) name += "/";
    json size = field(file, "size");
    if (size.is_null()) size = field(file, "contentLength");  // Batch AI's name for it
    rows.push_back({name, cell(size), cell(field(file, "lastModified"))});
  }
  std::string table = render_table({{"Name"}, {"Size", true}, {"Last modified"}}, rows);
  std::fputs(table.c_str(), stdout);
  return kExitOk;
}

}  // namespace batchai::cli
