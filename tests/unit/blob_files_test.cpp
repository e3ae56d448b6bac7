// The control plane's side of job files in blob containers: the List Blobs scanner, the
// resolution of a job's paths onto a blob volume, and the blob SAS links.
#include <gtest/gtest.h>

#include <string>

#include "common/blob_sas.hpp"
#include "controlplane/blob_files.hpp"
#include "controlplane/blob_list_xml.hpp"
#include "controlplane/job_files.hpp"
#include "controlplane/share_paths.hpp"
#include "controlplane/storage_accounts.hpp"

namespace batchai::cp {
namespace {

using nlohmann::json;

std::string blob_xml(const std::string& name, const std::string& size = "12",
                     const std::string& modified = "Sun, 06 Nov 1994 08:49:37 GMT") {
  return "<Blob><Name>" + name + "</Name><Properties><Last-Modified>" + modified +
         "</Last-Modified><Etag>0x8D</Etag><Content-Length>" + size +
         "</Content-Length><Content-Type>text/plain</Content-Type></Properties>"
         "<OrMetadata /></Blob>";
}

std::string page_xml(const std::string& entries, const std::string& marker = "") {
  return "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
         "<EnumerationResults ServiceEndpoint=\"http://127.0.0.1:10000/dev/\" "
         "ContainerName='logs'><Prefix>a/</Prefix><Delimiter>/</Delimiter><Blobs>" +
         entries + "</Blobs><NextMarker>" + marker + "</NextMarker></EnumerationResults>";
}

TEST(BlobListXml, ReadsBlobsPrefixesAndTheNextMarker) {
  auto page = parse_blob_list(
      page_xml(blob_xml("a/stdout.txt", "1234") + "<BlobPrefix><Name>a/sub/</Name></BlobPrefix>" +
                   blob_xml("a/x &amp; y&#x20AC;&#65;&lt;&gt;&quot;&apos;.txt", "0"),
               "2!88!MDAwMDE2IWEvc3RkZXJyLnR4dCEwMDAwMjgh"));
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->blobs.size(), 2u);
  EXPECT_EQ(page->blobs[0].name, "a/stdout.txt");
  EXPECT_EQ(page->blobs[0].size, 1234);
  EXPECT_EQ(page->blobs[0].last_modified_ms, 784111777000);
  EXPECT_EQ(page->blobs[1].name,
            "a/x & y\xE2\x82\xAC"
            "A<>\"'.txt");
  EXPECT_EQ(page->blobs[1].size, 0);
  ASSERT_EQ(page->prefixes.size(), 1u);
  EXPECT_EQ(page->prefixes[0], "a/sub/");
  EXPECT_EQ(page->next_marker, "2!88!MDAwMDE2IWEvc3RkZXJyLnR4dCEwMDAwMjgh");
}

TEST(BlobListXml, AnEmptyListingAndSelfClosingElements) {
  auto page = parse_blob_list(
      "<?xml version=\"1.0\"?><EnumerationResults><Blobs /><NextMarker/></EnumerationResults>");
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_TRUE(page->blobs.empty());
  EXPECT_TRUE(page->prefixes.empty());
  EXPECT_EQ(page->next_marker, "");
}

TEST(BlobListXml, AnEncodedNameIsLeftOut) {
  auto page =
      parse_blob_list(page_xml("<Blob><Name Encoded=\"true\">a%2Fb</Name><Properties>"
                               "<Last-Modified>Sun, 06 Nov 1994 08:49:37 GMT"
                               "</Last-Modified><Content-Length>1</Content-Length>"
                               "</Properties></Blob>" +
                               blob_xml("a/ok")));
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->blobs.size(), 1u);
  EXPECT_EQ(page->blobs[0].name, "a/ok");
}

void expect_refused(const std::string& xml, const std::string& why) {
  auto page = parse_blob_list(xml);
  ASSERT_FALSE(page) << "accepted: " << xml.substr(0, 200);
  EXPECT_NE(page.error().message.find(why), std::string::npos) << page.error().message;
}

TEST(BlobListXml, HostileAnswersAreRefused) {
  const std::string good = page_xml(blob_xml("a/b"));
  for (std::size_t cut : {1u, 10u, 60u, 120u, 200u}) {
    expect_refused(good.substr(0, good.size() - cut), "");  // truncated anywhere
  }
  expect_refused("", "ends early");
  expect_refused("<Other></Other>", "not one EnumerationResults");
  expect_refused(good + "<EnumerationResults></EnumerationResults>", "not one");
  expect_refused("<!DOCTYPE x [<!ENTITY a \"b\">]>" + good, "DOCTYPE");
  expect_refused(page_xml("<!-- c -->"), "comment");
  expect_refused(page_xml("<![CDATA[x]]>"), "CDATA");
  expect_refused(page_xml("<Blob></Blobs>"), "does not match");
  expect_refused(page_xml(blob_xml("a/&bogus;")), "unknown entity");
  expect_refused(page_xml(blob_xml("a/&amp")), "raw '&'");
  expect_refused(page_xml(blob_xml("a/&#0;")), "not an XML character");
  expect_refused(page_xml(blob_xml("a/&#xD800;")), "not an XML character");
  expect_refused(page_xml(blob_xml("a/&#x110000;")), "not an XML character");
  expect_refused(page_xml(blob_xml("a/\xC0\xAF")), "not UTF-8");  // an overlong '/'
  expect_refused(page_xml(blob_xml("a/\x01")), "not UTF-8");
  expect_refused(page_xml(blob_xml("a/b", "-1")), "Content-Length");
  expect_refused(page_xml(blob_xml("a/b", "12x")), "Content-Length");
  expect_refused(page_xml(blob_xml("a/b", "99999999999999999999")), "Content-Length");
  expect_refused(page_xml(blob_xml("a/b", "1", "06 Nov 1994 08:49:37 GMT")), "RFC 1123");
  expect_refused(page_xml(blob_xml("a/b", "1", "Sun, 06 Nov 1994 25:49:37 GMT")), "RFC 1123");
  expect_refused(page_xml(blob_xml("a/b", "1", "Sun, 06 Foo 1994 08:49:37 GMT")), "RFC 1123");
  expect_refused(page_xml("<Blob><Name>a/b</Name></Blob>"), "without its");
  expect_refused(page_xml("<Blob><Properties><Content-Length>1</Content-Length></Properties>"
                          "</Blob>"),
                 "without its");
  expect_refused(page_xml("<BlobPrefix></BlobPrefix>"), "without its Name");
  expect_refused(page_xml("<Blob><Name>a</Name><Name>b</Name></Blob>"), "two Name");
  expect_refused(page_xml("<Blob><Name>a<b/></Name></Blob>"), "inside Name");
  expect_refused(page_xml("<Blob x=1></Blob>"), "quoted value");
  expect_refused(page_xml("<Blob x=\"1></Blob>"), "does not end");
  expect_refused("text<EnumerationResults></EnumerationResults>", "outside");
}

TEST(BlobListXml, SizesAndDepthAreBounded) {
  std::string deep;
  for (int i = 0; i < 20; ++i) deep += "<d>";
  expect_refused(page_xml(deep), "nested over 16");
  expect_refused(page_xml(blob_xml("a/" + std::string(20000, 'x'))), "over 16 KiB");
  expect_refused(std::string(kMaxBlobListBytes + 1, ' '), "over 8 MiB");
  std::string many;
  for (int i = 0; i < 5001; ++i) many += "<BlobPrefix><Name>p/</Name></BlobPrefix>";
  expect_refused(page_xml(many), "over 5000");
  // A long text in an element not taken is skipped, not refused.
  auto page = parse_blob_list(page_xml(
      "<Blob><Name>a/b</Name><Metadata><m>" + std::string(20000, 'x') +
      "</m></Metadata><Properties><Last-Modified>Sun, 06 Nov 1994 08:49:37 GMT</Last-Modified>"
      "<Content-Length>3</Content-Length></Properties></Blob>"));
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_EQ(page->blobs.size(), 1u);
}

TEST(BlobListXml, Rfc1123Dates) {
  auto ms = parse_rfc1123_ms("Thu, 01 Jan 1970 00:00:00 GMT");
  ASSERT_TRUE(ms);
  EXPECT_EQ(*ms, 0);
  ms = parse_rfc1123_ms("Tue, 29 Feb 2028 23:59:59 GMT");
  ASSERT_TRUE(ms);
  EXPECT_EQ(*ms, 1835481599000);
  EXPECT_FALSE(parse_rfc1123_ms("Tue, 29 Feb 2028 23:59:59 UTC"));
  EXPECT_FALSE(parse_rfc1123_ms("Tue, +9 Feb 2028 23:59:59 GMT"));
}

// --- paths --------------------------------------------------------------------------------

StorageAccounts accounts() {
  auto a = StorageAccounts::parse(
      R"({"accounts": [{"name": "held", "key": "c2VjcmV0LWtleS1vZi10aGUtdGVzdA==",
                        "blobEndpoint": "http://127.0.0.1:10000/held/"}]})");
  EXPECT_TRUE(a) << a.error().message;
  return *a;
}

json blob_volumes(const std::string& account = "held", const std::string& container = "logs",
                  const std::string& mount = "blobs") {
  return {{"azureBlobFileSystems",
           {{{"accountName", account},
             {"containerName", container},
             {"relativeMountPath", mount},
             {"credentials", {{"accountKey", "from-the-document"}}}}}}};
}

TEST(BlobPaths, APathOnAJobBlobVolumeIsInItsContainer) {
  const StorageAccounts held = accounts();
  ShareVolumes v{blob_volumes(), nullptr, &held};
  auto d = blob_directory("$AZ_BATCHAI_JOB_MOUNT_ROOT/blobs/runs", "seg/stdouterr", "f", v);
  ASSERT_TRUE(d);
  ASSERT_TRUE(std::holds_alternative<BlobDirectory>(*d)) << std::get<ApiError>(*d).message;
  const auto& b = std::get<BlobDirectory>(*d);
  EXPECT_EQ(b.endpoint, "http://127.0.0.1:10000/held");  // the held account's, not the document's
  EXPECT_EQ(b.account, "held");
  EXPECT_EQ(b.key, "c2VjcmV0LWtleS1vZi10aGUtdGVzdA==");
  EXPECT_EQ(b.container, "logs");
  EXPECT_EQ(b.path, "runs/seg/stdouterr");
  // The container's root, and a cluster volume through ${AZ_BATCHAI_MOUNT_ROOT}.
  ShareVolumes c{nullptr, blob_volumes(), &held};
  auto root = blob_directory("${AZ_BATCHAI_MOUNT_ROOT}/blobs", "", "f", c);
  ASSERT_TRUE(root && std::holds_alternative<BlobDirectory>(*root));
  EXPECT_EQ(std::get<BlobDirectory>(*root).path, "");
}

TEST(BlobPaths, APathOutsideEveryBlobVolumeIsNotOnOne) {
  const StorageAccounts held = accounts();
  ShareVolumes v{blob_volumes(), nullptr, &held};
  EXPECT_FALSE(blob_directory("$AZ_BATCHAI_JOB_MOUNT_ROOT/other/x", "s", "f", v));
  EXPECT_FALSE(blob_directory("$AZ_BATCHAI_JOB_MOUNT_ROOT/blobsx", "s", "f", v));
  EXPECT_FALSE(blob_directory("$AZ_BATCHAI_MOUNT_ROOT/blobs", "s", "f", v));  // a job volume
  EXPECT_FALSE(blob_directory("/mnt/blobs", "s", "f", v));
  EXPECT_FALSE(blob_directory("$AZ_BATCHAI_JOB_MOUNT_ROOTX/blobs", "s", "f", v));
  // A file share is not a blob volume, and the other way round.
  ShareVolumes f{{{"azureFileShares",
                   {{{"relativeMountPath", "blobs"},
                     {"azureFileUrl", "https://held.file.core.windows.net/s"}}}}},
                 nullptr,
                 &held};
  EXPECT_FALSE(blob_directory("$AZ_BATCHAI_JOB_MOUNT_ROOT/blobs", "s", "f", f));
  EXPECT_FALSE(share_directory("$AZ_BATCHAI_JOB_MOUNT_ROOT/blobs", "s", "f", v));
}

void expect_unreachable(const std::optional<std::variant<BlobDirectory, ApiError>>& d,
                        const std::string& why) {
  ASSERT_TRUE(d);
  ASSERT_TRUE(std::holds_alternative<ApiError>(*d));
  EXPECT_EQ(std::get<ApiError>(*d).code, "FilesNotReachable");
  EXPECT_NE(std::get<ApiError>(*d).message.find(why), std::string::npos)
      << std::get<ApiError>(*d).message;
}

TEST(BlobPaths, TraversalOddNamesAndAccountsNotHeldAreRefused) {
  const StorageAccounts held = accounts();
  ShareVolumes v{blob_volumes(), nullptr, &held};
  const std::string root = "$AZ_BATCHAI_JOB_MOUNT_ROOT/blobs";
  expect_unreachable(blob_directory(root + "/../x", "s", "f", v), "\"..\"");
  expect_unreachable(blob_directory(root + "/./x", "s", "f", v), "\"..\"");
  expect_unreachable(blob_directory(root, "a/../../b", "f", v), "\"..\"");
  expect_unreachable(blob_directory(root + "/$HOME", "s", "f", v), "variable");
  expect_unreachable(blob_directory(root + "/a\\b", "s", "f", v), "no blob path");
  expect_unreachable(blob_directory(root + "/a\tb", "s", "f", v), "no blob path");
  expect_unreachable(blob_directory(root + "/" + std::string(1100, 'x'), "", "f", v), "over 1024");
  ShareVolumes other{blob_volumes("notheld"), nullptr, &held};
  expect_unreachable(blob_directory(root, "s", "f", other), "--storage-accounts");
  ShareVolumes none{blob_volumes(), nullptr, nullptr};
  expect_unreachable(blob_directory(root, "s", "f", none), "--storage-accounts");
  for (const char* bad : {"Logs", "lo", "a--b", "-ab", "ab-", "a/b", "$root"}) {
    ShareVolumes c{blob_volumes("held", bad), nullptr, &held};
    expect_unreachable(blob_directory(root, "s", "f", c), "containerName");
  }
}

TEST(BlobPaths, AJobsDirectoryInAContainerAndItsSubdirectories) {
  const StorageAccounts held = accounts();
  JobRecord job;
  job.workspace = "ws";
  job.experiment = "exp";
  job.name = "job";
  job.uuid = "00000000-0000-0000-0000-000000000001";
  job.properties = {{"stdOutErrPathPrefix", "$AZ_BATCHAI_JOB_MOUNT_ROOT/blobs"},
                    {"mountVolumes", blob_volumes()}};
  auto dir = job_directory(job, "stdouterr", JobFilesPlace{std::nullopt, nullptr, &held});
  ASSERT_TRUE(std::holds_alternative<JobDirectory>(dir)) << std::get<ApiError>(dir).message;
  auto& d = std::get<JobDirectory>(dir);
  ASSERT_TRUE(d.blob);
  EXPECT_FALSE(d.smb);
  EXPECT_TRUE(d.blob->path.ends_with("/stdouterr")) << d.blob->path;
  const std::string base = d.blob->path;
  EXPECT_FALSE(descend(d, "sub/deeper"));
  EXPECT_EQ(d.blob->path, base + "/sub/deeper");
  for (const char* bad : {"..", "a/../b", "a//b", "a\\b", "a\x01"}) {
    JobDirectory copy = std::get<JobDirectory>(dir);
    EXPECT_TRUE(descend(copy, bad)) << bad;
  }
  JobDirectory copy = std::get<JobDirectory>(dir);
  EXPECT_TRUE(descend(copy, std::string(500, 'x') + "/" + std::string(500, 'y')));
}

// --- links ---------------------------------------------------------------------------------

TEST(BlobLinks, TheDownloadUrlIsAReadOnlySasForThatOneBlob) {
  BlobDirectory d{"http://127.0.0.1:10000/held", "held", "c2VjcmV0LWtleS1vZi10aGUtdGVzdA==", "logs",
                  "runs/a b"};
  auto url = blob_download_url(d, "std out#1.txt", 1700000000);
  ASSERT_TRUE(std::holds_alternative<std::string>(url)) << std::get<ApiError>(url).message;
  const std::string u = std::get<std::string>(url);
  EXPECT_TRUE(u.starts_with("http://127.0.0.1:10000/held/logs/runs/a%20b/std%20out%231.txt?")) << u;
  EXPECT_NE(u.find("&sr=b&sp=r&se=2023-11-14T22%3A13%3A20Z&sig="), std::string::npos) << u;
  EXPECT_TRUE(std::holds_alternative<ApiError>(blob_download_url(d, "a/b", 1700000000)));
  EXPECT_TRUE(std::holds_alternative<ApiError>(blob_download_url(d, "..", 1700000000)));
  // A different blob has a different signature.
  auto other = blob_download_url(d, "other.txt", 1700000000);
  const std::string o = std::get<std::string>(other);
  EXPECT_NE(u.substr(u.find("sig=")), o.substr(o.find("sig=")));
}

TEST(BlobLinks, AnUnreachableServiceIsA503NotAnException) {
  // Port 9 on loopback: nothing listens (connection refused at once).
  BlobDirectory d{"http://127.0.0.1:9/held", "held", "c2VjcmV0LWtleS1vZi10aGUtdGVzdA==", "logs",
                  ""};
  auto listed = list_blob_files(d, true);
  ASSERT_TRUE(std::holds_alternative<ApiError>(listed));
  EXPECT_EQ(std::get<ApiError>(listed).status, 503);
  EXPECT_EQ(std::get<ApiError>(listed).message.find("sig="), std::string::npos);
}

}  // namespace
}  // namespace batchai::cp
