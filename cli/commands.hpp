// The batchai commands; each returns the process's exit status (exit_codes.hpp) and reports its
// own errors on stderr.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cli/context.hpp"

namespace batchai::cli {

struct JobCreateArgs {
  std::string name;
  std::string file;
};

struct FileStreamArgs {
  std::string job;
  std::string file;
  std::string directory = "stdouterr";
  double interval_seconds = 1.0;
};

struct FileListArgs {
  std::string job;
  std::string directory = "stdouterr";
};

struct ClusterCreateArgs {
  std::string name;
  std::optional<std::int64_t> target_node_count;
  std::string file;  // optional cluster document
};

int job_create(Context& ctx, const JobCreateArgs& args);
int job_show(Context& ctx, const std::string& name);
int job_list(Context& ctx);
int job_terminate(Context& ctx, const std::string& name);
int job_file_stream(Context& ctx, const FileStreamArgs& args);
int job_file_list(Context& ctx, const FileListArgs& args);
int cluster_show(Context& ctx, const std::string& name);
int cluster_create(Context& ctx, const ClusterCreateArgs& args);

}  // namespace batchai::cli
