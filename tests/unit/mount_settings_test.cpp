// The pure parts of the mounts: storage settings, blob mount options, the container token and
// rclone's obscured secrets. The mounts themselves are tested against real servers
// (tests/mounts, tests/vm).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/blob_sas.hpp"
#include "jobspec/job_parser.hpp"
#include "jobspec/mount_options.hpp"
#include "mount/prepared_mount.hpp"
#include "mount/rclone_config.hpp"
#include "mount/storage_config.hpp"

namespace batchai {
namespace {

StorageSettings read(const std::string& text, Diagnostics& d) {
  nlohmann::json j = nlohmann::json::parse(text);
  JsonReader r(j, "storage", d);
  StorageSettings s = read_storage_settings(r, d);
  r.warn_unknown();
  return s;
}

TEST(StorageSettings, DefaultsAreAzurePublicCloud) {
  Diagnostics d;
  StorageSettings s = read("{}", d);
  EXPECT_FALSE(d.has_errors());
  EXPECT_EQ(s.smb_port, 445);
  EXPECT_EQ(s.smb_driver, SmbDriver::kAuto);
  EXPECT_EQ(with_account(s.azure_blob_endpoint, "acct"), "https://acct.blob.core.windows.net");
  EXPECT_EQ(s.mount_attempts, 3);
}

TEST(StorageSettings, BadValuesNameTheSetting) {
  Diagnostics d;
  read(R"({"smbPort": 0, "smbDriver": "nfs", "azureBlobEndpoint": "ftp://x",
           "azureFileHost": "a b", "runtimeDirectory": "relative", "mountAttempts": 99,
           "surprise": 1})",
       d);
  std::string all = Diagnostics::render(d.errors());
  for (const char* key :
       {"storage.smbPort", "storage.smbDriver", "storage.azureBlobEndpoint",
        "storage.azureFileHost", "storage.runtimeDirectory", "storage.mountAttempts"}) {
    EXPECT_NE(all.find(key), std::string::npos) << key << " in\n" << all;
  }
  EXPECT_EQ(d.warnings().size(), 1u);  // the unknown key
}

TEST(BlobMountOptions, BlobfuseOptionsBecomeRcloneOptions) {
  auto o = blob_mount_options(
      "-o attr_timeout=240 -o entry_timeout=240 -o negative_timeout=120 "
      "-o allow_other,ro --dir-cache-time=30s");
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(*o, (std::vector<std::string>{"attr_timeout=240s", "read_only", "dir_cache_time=30s"}));
}

TEST(BlobMountOptions, OnlyTheAllowListReachesRclone) {
  // rclone's remote control server (as root, unauthenticated), its TLS switch, its config.
  for (const char* bad : {"rc,rc_addr=0.0.0.0:5572,rc_no_auth", "-o no_check_certificate", "--rc",
                          "-o rc_no_auth", "-o daemon", "-o allow_root"}) {
    auto o = blob_mount_options(bad);
    ASSERT_FALSE(o) << bad;
    EXPECT_NE(o.error().message.find("is not an option a job may set"), std::string::npos)
        << o.error().message;
  }
  auto ok = blob_mount_options("-o vfs_cache_max_age=1h,uid=1000 --gid=1000");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(*ok, (std::vector<std::string>{"vfs_cache_max_age=1h", "uid=1000", "gid=1000"}));
}

TEST(NfsMountOptions, OnlyTheAllowListReachesMount) {
  for (const char* bad :
       {"rw,suid", "dev", "exec,rw", "uid=0", "vers=4,context=x", "rw,,=x", "sec=krb5;x"}) {
    EXPECT_FALSE(nfs_mount_options(bad)) << bad;
  }
  auto ok = nfs_mount_options("rw,hard,vers=4.2,proto=tcp");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->size(), 4u);
  auto empty = nfs_mount_options("");
  ASSERT_TRUE(empty);
  EXPECT_EQ(*empty, (std::vector<std::string>{"rw"}));
}

TEST(BlobMountOptions, OptionsTheAgentSetsOrMalformedOnesAreErrors) {
  for (const char* bad :
       {"-o config=/etc/passwd", "-o cache_dir=/", "-o", "-o a=b;rm", "-o attr_timeout"}) {
    EXPECT_FALSE(blob_mount_options(bad)) << bad;
  }
}

TEST(ContainerSas, AReadOnlyMountsTokenCanOnlyReadAndList) {
  auto url = container_sas_url("http://127.0.0.1:10000/acct", "acct", "c2VjcmV0a2V5", "data",
                               2000000000, "rl");
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_NE(url->find("&sp=rl&"), std::string::npos) << *url;
}

TEST(ContainerSas, GrantsTheContainerOnlyAndNeedsABase64Key) {
  auto url =
      container_sas_url("http://127.0.0.1:10000/acct", "acct", "c2VjcmV0a2V5", "data", 2000000000);
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_EQ(url->rfind("http://127.0.0.1:10000/acct/data?", 0), 0u) << *url;
  EXPECT_NE(url->find("sr=c&sp=racwdl&se=2033-05-18T03%3A33%3A20Z&sig="), std::string::npos)
      << *url;
  EXPECT_EQ(url->find("c2VjcmV0a2V5"), std::string::npos);  // the key itself is not in it
  EXPECT_FALSE(container_sas_url("http://x/acct", "acct", "not base64!", "data", 0));
}

TEST(ContainerSas, SignaturesAreRedactedFromDriverMessages) {
  EXPECT_EQ(redact_sas(R"(Get "http://x/c?sv=1&sig=ab%2Bc&se=2": dial tcp; sig=zz)"),
            R"(Get "http://x/c?sv=1&sig=REDACTED&se=2": dial tcp; sig=REDACTED)");
}

TEST(RcloneConfig, ObscuredSecretsAreFreshAndUrlSafe) {
  auto a = rclone_obscure("password");
  auto b = rclone_obscure("password");
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);          // a random IV each time
  EXPECT_EQ(a->size(), 32u);  // base64url without padding of 16 + 8 bytes
  EXPECT_EQ(
      a->find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos);
  EXPECT_FALSE(rclone_config({{"pass", "two\nlines"}}));
}

TEST(FileServerVolume, MountSettingsAreReadAndChecked) {
  auto parsed = parse_job_document(R"({"properties": {"nodeCount": 1,
    "customToolkitSettings": {"commandLine": "true"}, "stdOutErrPathPrefix": "/logs",
    "mountVolumes": {"fileServers": [
      {"fileServer": {"id": "fs1", "mountSettings": {"fileServerInternalIP": "10.0.0.4",
                      "mountPoint": "/mnt/data"}}, "relativeMountPath": "nfs"},
      {"fileServer": {"id": "fs2", "mountSettings": {"fileServerInternalIP": "1.2.3.4;x",
                      "mountPoint": "/a/../b"}}, "relativeMountPath": "nfs2"}]}}})");
  std::string all = Diagnostics::render(parsed.diagnostics.errors());
  EXPECT_NE(all.find("fileServers[1].fileServer.mountSettings.fileServerInternalIP"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("fileServers[1].fileServer.mountSettings.mountPoint"), std::string::npos)
      << all;
  ASSERT_EQ(parsed.spec.mount_volumes.size(), 2u);
  EXPECT_EQ(parsed.spec.mount_volumes[0].file_server_ip, "10.0.0.4");
  EXPECT_EQ(parsed.spec.mount_volumes[0].file_server_export, "/mnt/data");
}

}  // namespace
}  // namespace batchai
