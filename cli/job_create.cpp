// batchai job create -n NAME -f job.json
#include "cli/commands.hpp"
#include "cli/local_document.hpp"
#include "cli/output.hpp"
#include "cli/storage_account.hpp"

namespace batchai::cli {

using nlohmann::json;

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
  json job;
  if (auto f = call(ctx, "PUT", job_path(ctx.job(args.name)), &*doc, &job)) {
    return report(what, *f);
  }
  print_json(job);
  return kExitOk;
}

}  // namespace batchai::cli
