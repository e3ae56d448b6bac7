// batchai: the user's command line for the control plane, after `az batchai` (docs/cli.md).
#include <curl/curl.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/connection.hpp"

namespace {

using namespace batchai::cli;

// A subcommand that hands options it does not know to its parent: global options may come
// after the command too.
CLI::App* command(CLI::App* parent, const std::string& name, const std::string& help) {
  auto* cmd = parent->add_subcommand(name, help);
  cmd->fallthrough();
  return cmd;
}

// -d: which of the job's directories, as `az batchai job file ...` names it.
void add_directory_option(CLI::App* cmd, std::string& directory) {
  cmd->add_option("-d,--output-directory-id", directory,
                  "stdouterr or an output directory's id, e.g. MODEL")
      ->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"batchai: submit and watch training jobs on a Batch AI-style GPU cluster"};
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("--version", std::string("batchai ") + BATCHAI_VERSION);

  ConnectionOptions conn;
  std::string resource_group = kDefaultResourceGroup, workspace = "default", experiment = "default",
              cluster;
  app.add_option("--server", conn.server,
                 "The control plane's URL (default: $BATCHAI_SERVER, else " +
                     std::string(kDefaultServer) + ")");
  app.add_option("--cacert", conn.cacert, "CA bundle to verify the server with (PEM)");
  app.add_option("--token-file", conn.token_file, "File holding the bearer token");
  app.add_flag("--insecure-http", conn.insecure_http,
               "Allow plain http:// to a server other than this machine (unencrypted!)");
  app.add_option("-g,--resource-group", resource_group, "Resource group")->capture_default_str();
  app.add_option("-w,--workspace", workspace, "Workspace")->capture_default_str();
  app.add_option("-e,--experiment", experiment, "Experiment")->capture_default_str();
  auto* cluster_opt = app.add_option(
      "-c,--cluster", cluster,
      "Cluster a new job runs on (default: the job document's, else the server's default)");

  auto* job = command(&app, "job", "Create, show, list and terminate jobs; their files");
  job->require_subcommand(1);

  JobCreateArgs create;
  auto* job_create_cmd = command(job, "create", "Submit a job from a job document");
  job_create_cmd->add_option("-n,--name", create.name, "Job name")->required();
  job_create_cmd->add_option("-f,--config-file", create.file, "The job document (job.json)")
      ->required();

  std::string job_name;
  auto* job_show_cmd = command(job, "show", "Print a job as JSON");
  job_show_cmd->add_option("-n,--name", job_name, "Job name")->required();
  auto* job_list_cmd = command(job, "list", "List the experiment's jobs");
  auto* job_terminate_cmd = command(job, "terminate", "Terminate a job");
  job_terminate_cmd->add_option("-n,--name", job_name, "Job name")->required();

  auto* file = command(job, "file", "A job's output files");
  file->require_subcommand(1);
  FileStreamArgs stream;
  auto* stream_cmd = command(file, "stream", "Print a file as it grows until the job ends");
  stream_cmd->add_option("-j,--job", stream.job, "Job name")->required();
  stream_cmd->add_option("-f,--file-name", stream.file, "File name, e.g. stderr.txt")->required();
  add_directory_option(stream_cmd, stream.directory);
  stream_cmd->add_option("--interval", stream.interval_seconds, "Seconds between polls of the file")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 3600.0));
  FileListArgs list;
  auto* list_cmd = command(file, "list", "List the files of stdouterr or an output directory");
  list_cmd->add_option("-j,--job", list.job, "Job name")->required();
  add_directory_option(list_cmd, list.directory);

  auto* cluster_cmd = command(&app, "cluster", "Show and create clusters");
  cluster_cmd->require_subcommand(1);
  std::string cluster_name;
  auto* cluster_show_cmd = command(cluster_cmd, "show", "Print a cluster as JSON");
  cluster_show_cmd->add_option("-n,--name", cluster_name, "Cluster name")->required();
  ClusterCreateArgs cluster_create_args;
  auto* cluster_create_cmd = command(cluster_cmd, "create", "Create or update a cluster");
  cluster_create_cmd->add_option("-n,--name", cluster_create_args.name, "Cluster name")->required();
  cluster_create_cmd
      ->add_option("-t,--target-node-count", cluster_create_args.target_node_count,
                   "Nodes the cluster should have (default 1)")
      ->check(CLI::NonNegativeNumber);
  cluster_create_cmd->add_option("-f,--config-file", cluster_create_args.file,
                                 "A cluster document (nodeSetup, scaleSettings)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  curl_global_init(CURL_GLOBAL_DEFAULT);
  auto config = connection_config(conn);
  if (!config) {
    std::fprintf(stderr, "batchai: %s\n", config.error().message.c_str());
    return kExitUsage;
  }
  HttpClient http(std::move(*config));
  Context ctx{http, {resource_group, workspace}, experiment, cluster, cluster_opt->count() > 0};
  try {
    if (*job_create_cmd) return job_create(ctx, create);
    if (*job_show_cmd) return job_show(ctx, job_name);
    if (*job_list_cmd) return job_list(ctx);
    if (*job_terminate_cmd) return job_terminate(ctx, job_name);
    if (*stream_cmd) return job_file_stream(ctx, stream);
    if (*list_cmd) return job_file_list(ctx, list);
    if (*cluster_show_cmd) return cluster_show(ctx, cluster_name);
    if (*cluster_create_cmd) return cluster_create(ctx, cluster_create_args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "batchai: internal error: %s\n", e.what());
    return kExitServer;
  }
  return kExitUsage;
}
