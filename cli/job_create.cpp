// batchai job create -n NAME -f job.json
#include "cli/commands.hpp"
#include "cli/local_document.hpp"
#include "cli/output.hpp"
#include "cli/storage_account.hpp"

namespace batchai::cli {

using nlohmann::json;

namespace {

// The experiment, made when it does not exist yet (as `az batchai job create` does not: there
// the experiment is a step of its own; here a user who names one gets it).
std::optional<Failure> ensure_experiment(Context& ctx) {
  const std::string target = experiment_target(ctx.workspace, ctx.experiment);
  json experiment;
  auto f = call(ctx, "GET", target, nullptr, &experiment);
  if (!f || f->server_code != "ResourceNotFound") return f;
  const json empty = json::object();
  return call(ctx, "PUT", target, &empty, &experiment);
}

}  // namespace

int job_create(Context& ctx, const JobCreateArgs& args) {
  const std::string what = "job create " + args.name;
  auto doc = read_json_document(args.file);
  if (!doc) return report(what, fail(kExitUsage, doc.error().message));
  // The cluster the job runs on: -c when given, else the document's properties.cluster, else
  // the server's default cluster.
  if (ctx.cluster_given) settings_of(*doc)["cluster"] = {{"id", ctx.cluster}};
  json& settings = settings_of(*doc);
  if (settings.is_object() && settings.contains("mountVolumes")) {
    if (auto s = fill_storage_account(settings["mountVolumes"], "properties.mountVolumes",
                                      storage_account_from_environment());
        !s) {
      return report(what, fail(kExitUsage, s.error().message));
    }
  }
  if (auto f = ensure_experiment(ctx)) return report(what, *f);
  json job;
  if (auto f = call(ctx, "PUT", job_target(ctx.job(args.name)), &*doc, &job)) {
    return report(what, *f);
  }
  print_json(flatten_resource(job));
  return kExitOk;
}

}  // namespace batchai::cli
