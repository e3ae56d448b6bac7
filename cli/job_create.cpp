// batchai job create -n NAME -f job.json
#include "cli/commands.hpp"
#include "cli/local_document.hpp"
#include "cli/output.hpp"

namespace batchai::cli {

using nlohmann::json;

int job_create(Context& ctx, const JobCreateArgs& args) {
  const std::string what = "job create " + args.name;
  auto doc = read_json_document(args.file);
  if (!doc) return report(what, fail(kExitUsage, doc.error().message));
  // The cluster the job runs on: -c when given, else the document's properties.cluster, else
  // the server's default cluster.
  if (ctx.cluster_given) settings_of(*doc)["cluster"] = {{"id", ctx.cluster}};
  json job;
  if (auto f = call(ctx, "PUT", job_path(ctx.job(args.name)), &*doc, &job)) {
    return report(what, *f);
  }
  print_json(job);
  return kExitOk;
}

}  // namespace batchai::cli
