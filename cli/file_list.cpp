// batchai job file list -j JOB -d DIRECTORY
#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/output_files.hpp"
#include "cli/table.hpp"

namespace batchai::cli {

int job_file_list(Context& ctx, const FileListArgs& args) {
  const std::string what = "job file list " + args.job + " -d " + args.directory;
  std::vector<OutputFile> files;
  if (auto f = list_output_files(ctx, ctx.job(args.job), args.directory, &files)) {
    return report(what, *f);
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& file : files) {
    rows.push_back({printable(file.name) + (file.directory ? "/" : ""), cell(file.size),
                    cell(file.last_modified)});
  }
  std::string table = render_table({{"Name"}, {"Size", true}, {"Last modified"}}, rows);
  std::fputs(table.c_str(), stdout);
  return kExitOk;
}

}  // namespace batchai::cli
