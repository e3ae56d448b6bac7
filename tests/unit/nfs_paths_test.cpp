// The control plane's side of job files on NFS file servers: the resolution of a job's paths
// onto a fileServers volume (the configured server only, nothing outside its export) and what
// its client takes from the volume's mountOptions.
#include <gtest/gtest.h>

#include <string>

#include "controlplane/job_files.hpp"
#include "controlplane/nfs_files.hpp"
#include "controlplane/nfs_paths.hpp"

namespace batchai::cp {
namespace {

using nlohmann::json;

FileServers servers() {
  return {{"nfs1", FileServer{"10.0.0.4", "/mnt/data"}}};
}

json nfs_volumes(const std::string& id =
                     "/subscriptions/s/resourceGroups/g/providers/"
                     "Microsoft.BatchAI/workspaces/w/fileServers/nfs1",
                 const std::string& source = "", const std::string& options = "") {
  json v = {{"relativeMountPath", "nfs"},
            // What a document may say of the server: never used, the configured one is.
            {"fileServer",
             {{"id", id},
              {"mountSettings",
               {{"fileServerInternalIP", "203.0.113.9"}, {"mountPoint", "/elsewhere"}}}}}};
  if (!source.empty()) v["sourceDirectory"] = source;
  if (!options.empty()) v["mountOptions"] = options;
  return {{"fileServers", json::array({v})}};
}

NfsDirectory directory_of(const std::optional<std::variant<NfsDirectory, ApiError>>& d) {
  if (!d || !std::holds_alternative<NfsDirectory>(*d)) {
    ADD_FAILURE() << (d ? std::get<ApiError>(*d).message : "on no fileServers volume");
    return {};
  }
  return std::get<NfsDirectory>(*d);
}

void expect_unreachable(const std::optional<std::variant<NfsDirectory, ApiError>>& d,
                        const std::string& why) {
  ASSERT_TRUE(d);
  ASSERT_TRUE(std::holds_alternative<ApiError>(*d));
  EXPECT_EQ(std::get<ApiError>(*d).status, 404);
  EXPECT_EQ(std::get<ApiError>(*d).code, "FilesNotReachable");
  EXPECT_NE(std::get<ApiError>(*d).message.find(why), std::string::npos)
      << std::get<ApiError>(*d).message;
}

TEST(NfsPaths, APathOnAJobFileServerVolumeIsOnTheConfiguredServer) {
  const FileServers held = servers();
  ShareVolumes v{nfs_volumes(), nullptr, nullptr};
  const auto& d = directory_of(
      nfs_directory("$AZ_BATCHAI_JOB_MOUNT_ROOT/nfs/runs", "seg/stdouterr", "f", v, &held));
  EXPECT_EQ(d.host, "10.0.0.4");  // the configured server's, not the document's mountSettings
  EXPECT_EQ(d.export_path, "/mnt/data");
  EXPECT_EQ(d.path, "runs/seg/stdouterr");
  EXPECT_EQ(d.version, 3);
  EXPECT_EQ(d.port, 0);
  // Below sourceDirectory, on a cluster volume through ${AZ_BATCHAI_MOUNT_ROOT}, by a bare name.
  ShareVolumes c{nullptr, nfs_volumes("nfs1", "/team/a/", "rw,vers=4.1,port=20492"), nullptr};
  const auto& root = directory_of(nfs_directory("${AZ_BATCHAI_MOUNT_ROOT}/nfs", "", "f", c, &held));
  EXPECT_EQ(root.path, "team/a");
  EXPECT_EQ(root.version, 4);
  EXPECT_EQ(root.port, 20492);
}

TEST(NfsPaths, APathOutsideEveryFileServerVolumeIsNotOnOne) {
  const FileServers held = servers();
  ShareVolumes v{nfs_volumes(), nullptr, nullptr};
  EXPECT_FALSE(nfs_directory("$AZ_BATCHAI_JOB_MOUNT_ROOT/other/x", "s", "f", v, &held));
  EXPECT_FALSE(nfs_directory("$AZ_BATCHAI_JOB_MOUNT_ROOT/nfsx", "s", "f", v, &held));
  EXPECT_FALSE(nfs_directory("$AZ_BATCHAI_MOUNT_ROOT/nfs", "s", "f", v, &held));  // a job volume
  EXPECT_FALSE(nfs_directory("/mnt/data/x", "s", "f", v, &held));
  // A share is not a file server volume.
  ShareVolumes f{{{"azureFileShares",
                   {{{"relativeMountPath", "nfs"},
                     {"azureFileUrl", "https://held.file.core.windows.net/s"}}}}},
                 nullptr,
                 nullptr};
  EXPECT_FALSE(nfs_directory("$AZ_BATCHAI_JOB_MOUNT_ROOT/nfs", "s", "f", f, &held));
}

TEST(NfsPaths, TraversalOddNamesAndServersNotConfiguredAreRefused) {
  const FileServers held = servers();
  ShareVolumes v{nfs_volumes(), nullptr, nullptr};
  const std::string root = "$AZ_BATCHAI_JOB_MOUNT_ROOT/nfs";
  expect_unreachable(nfs_directory(root + "/../x", "s", "f", v, &held), "\"..\"");
  expect_unreachable(nfs_directory(root + "/./x", "s", "f", v, &held), "\"..\"");
  expect_unreachable(nfs_directory(root, "a/../../b", "f", v, &held), "\"..\"");
  expect_unreachable(nfs_directory(root + "/$HOME", "s", "f", v, &held), "variable");
  expect_unreachable(nfs_directory(root + "/a\tb", "s", "f", v, &held), "plain NFS name");
  expect_unreachable(nfs_directory(root + "/a\xC0\x80", "s", "f", v, &held), "plain NFS name");
  expect_unreachable(nfs_directory(root + "/" + std::string(256, 'x'), "", "f", v, &held),
                     "plain NFS name");
  for (const char* source : {"../etc", "a/../../b", "./a"}) {
    ShareVolumes s{nfs_volumes("nfs1", source), nullptr, nullptr};
    expect_unreachable(nfs_directory(root, "s", "f", s, &held), "plain NFS name");
  }
  ShareVolumes other{nfs_volumes("nfs2"), nullptr, nullptr};
  expect_unreachable(nfs_directory(root, "s", "f", other, &held), "--file-server");
  expect_unreachable(nfs_directory(root, "s", "f", v, nullptr), "--file-server");
  ShareVolumes no_id{{{"fileServers", {{{"relativeMountPath", "nfs"}}}}}, nullptr, nullptr};
  expect_unreachable(nfs_directory(root, "s", "f", no_id, &held), "--file-server");
  ShareVolumes bad_version{nfs_volumes("nfs1", "", "vers=2"), nullptr, nullptr};
  expect_unreachable(nfs_directory(root, "s", "f", bad_version, &held), "vers=2");
}

TEST(NfsPaths, TheClientsOptionsComeFromMountOptions) {
  auto plain = nfs_client_options("");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->version, 3);
  EXPECT_EQ(plain->port, 0);
  EXPECT_EQ(plain->mount_port, 0);
  for (const char* v4 : {"vers=4", "nfsvers=4", "rw,vers=4.0", "hard,nfsvers=4.2,noatime"}) {
    auto o = nfs_client_options(v4);
    ASSERT_TRUE(o) << v4;
    EXPECT_EQ(o->version, 4) << v4;
  }
  auto v3 = nfs_client_options("vers=3,port=2050,mountport=635,timeo=600,rsize=1048576");
  ASSERT_TRUE(v3);
  EXPECT_EQ(v3->version, 3);
  EXPECT_EQ(v3->port, 2050);
  EXPECT_EQ(v3->mount_port, 635);
  for (const char* bad : {"vers=2", "nfsvers=5", "vers=4.10", "vers=", "port=65536", "port=x",
                          "port=-1", "mountport=1e3"}) {
    EXPECT_FALSE(nfs_client_options(bad)) << bad;
  }
}

TEST(NfsPaths, AJobsDirectoryOnAFileServerAndItsSubdirectories) {
  const FileServers held = servers();
  JobRecord job;
  job.workspace = "ws";
  job.experiment = "exp";
  job.name = "job";
  job.uuid = "00000000-0000-0000-0000-000000000001";
  job.properties = {{"stdOutErrPathPrefix", "$AZ_BATCHAI_JOB_MOUNT_ROOT/nfs/logs"},
                    {"mountVolumes", nfs_volumes()}};
  JobFilesPlace place{std::nullopt, nullptr, nullptr, &held};
  auto dir = job_directory(job, "stdouterr", place);
  ASSERT_TRUE(std::holds_alternative<JobDirectory>(dir)) << std::get<ApiError>(dir).message;
  auto& d = std::get<JobDirectory>(dir);
  ASSERT_TRUE(d.nfs);
  EXPECT_FALSE(d.smb || d.blob);
  EXPECT_TRUE(d.nfs->path.starts_with("logs/")) << d.nfs->path;
  EXPECT_TRUE(d.nfs->path.ends_with("/stdouterr")) << d.nfs->path;
  const std::string base = d.nfs->path;
  EXPECT_FALSE(descend(d, "sub/deeper"));
  EXPECT_EQ(d.nfs->path, base + "/sub/deeper");
  for (const char* bad : {"..", "a/../b", "a//b", "a\x01", "a\xff"}) {
    JobDirectory copy = std::get<JobDirectory>(dir);
    EXPECT_TRUE(descend(copy, bad)) << bad;
  }
  // A file server the control plane is not configured with: the job's files are not reached.
  auto none = job_directory(job, "stdouterr", JobFilesPlace{std::nullopt, nullptr, nullptr});
  ASSERT_TRUE(std::holds_alternative<ApiError>(none));
  EXPECT_EQ(std::get<ApiError>(none).code, "FilesNotReachable");
}

TEST(NfsNames, PlainNamesOnly) {
  for (const char* good : {"a.txt", "x y", "caf\xC3\xA9", "$x", "a\\b", "\xF0\x9F\x98\x80"}) {
    EXPECT_TRUE(is_nfs_name(good)) << good;
  }
  for (const std::string& bad :
       {std::string(), std::string("."), std::string(".."), std::string("a/b"), std::string("a\nb"),
        std::string("a\x7f"), std::string("\xC3"), std::string("\xED\xA0\x80"),
        std::string("\xF4\x90\x80\x80"), std::string(256, 'x')}) {
    EXPECT_FALSE(is_nfs_name(bad)) << bad;
  }
}

}  // namespace
}  // namespace batchai::cp
