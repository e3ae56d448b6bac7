// Hostile job documents (issue: hostile input): fields far longer than any real one reach every
// pattern and loop of the parser, which must refuse them by name and not crash (std::regex
// recursed once per character: a 100 KB field was a SIGSEGV); values that would reach a mount
// driver, a credentials file or a message as something else are refused at validation.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "common/text_pattern.hpp"
#include "jobspec/job_parser.hpp"
#include "jobspec/rules.hpp"

namespace batchai {
namespace {

using nlohmann::json;

const json kBase = {{"nodeCount", 1},
                    {"stdOutErrPathPrefix", "$AZ_BATCHAI_JOB_MOUNT_ROOT/logs"},
                    {"customToolkitSettings", {{"commandLine", "echo hi"}}}};

json file_share(const std::string& account, const std::string& url, const std::string& key) {
  return {{"accountName", account},
          {"azureFileUrl", url},
          {"credentials", {{"accountKey", key}}},
          {"relativeMountPath", "logs"}};
}

json blob(const std::string& account, const std::string& container, const std::string& options) {
  return {{"accountName", account},
          {"containerName", container},
          {"credentials", {{"accountKey", "a2V5MQ=="}}},
          {"relativeMountPath", "data"},
          {"mountOptions", options}};
}

// The errors of a document, each "path: message".
std::vector<std::string> errors_of(const json& props) {
  ParsedJob p = parse_job_document(json{{"properties", props}}.dump());
  std::vector<std::string> out;
  for (const auto& d : p.diagnostics.errors()) out.push_back(d.path + ": " + d.message);
  return out;
}

bool has_error_at(const json& props, const std::string& path) {
  for (const auto& e : errors_of(props)) {
    if (e.rfind(path + ": ", 0) == 0) return true;
  }
  return false;
}

const std::string kHuge(200 * 1024, 'a');

TEST(HostileDocument, AHugeValueInAnyPatternCheckedFieldIsRefusedByNameNotACrash) {
  struct Case {
    const char* path;
    json props;
  };
  std::vector<Case> cases;
  auto with = [](const char* key, json value) {
    json p = kBase;
    p[key] = std::move(value);
    return p;
  };
  const std::string prefix = "properties.mountVolumes.";
  cases.push_back({"properties.mountVolumes.azureFileShares[0].azureFileUrl",
                   with("mountVolumes",
                        {{"azureFileShares", {file_share("acct", "https://" + kHuge, "a2V5")}}})});
  cases.push_back({"properties.mountVolumes.azureFileShares[0].accountName",
                   with("mountVolumes",
                        {{"azureFileShares",
                          {file_share(kHuge, "https://a.file.core.windows.net/logs", "a2V5")}}})});
  cases.push_back({"properties.mountVolumes.azureBlobFileSystems[0].containerName",
                   with("mountVolumes", {{"azureBlobFileSystems", {blob("acct", kHuge, "")}}})});
  cases.push_back(
      {"properties.mountVolumes.fileServers[0].fileServer.mountSettings.fileServerInternalIP",
       with("mountVolumes",
            {{"fileServers",
              {{{"fileServer",
                 {{"id", "nfs1"},
                  {"mountSettings", {{"fileServerInternalIP", kHuge}, {"mountPoint", "/x"}}}}},
                {"relativeMountPath", "nfs"}}}}})});
  cases.push_back({"properties.containerSettings.imageSourceRegistry.image",
                   with("containerSettings", {{"imageSourceRegistry", {{"image", kHuge}}}})});
  cases.push_back({"properties.schedulingPriority", with("schedulingPriority", kHuge)});
  cases.push_back({"properties.maxWallClockTime", with("constraints", json::object())});
  cases.back().props["constraints"]["maxWallClockTime"] = kHuge;
  cases.back().path = "properties.constraints.maxWallClockTime";
  for (const auto& c : cases) {
    EXPECT_TRUE(has_error_at(c.props, c.path)) << c.path;
  }
  // 2018-03-01's output type, matched case-insensitively.
  json old = kBase;
  old["outputDirectories"] = {{{"id", "MODEL"}, {"pathPrefix", "/o"}, {"type", kHuge}}};
  ParsedJob p = parse_job_document(json{
      {"$schema",
       "https://raw.githubusercontent.com/Azure/BatchAI/master/schemas/"
       "2018-03-01/job.json"},
      {"properties", old}}.dump());
  ASSERT_TRUE(p.diagnostics.has_errors());
  EXPECT_EQ(p.diagnostics.errors()[0].path, "properties.outputDirectories[0].type");
}

TEST(HostileDocument, MessagesShowTheStartOfAHugeValueNotAllOfIt) {
  json p = kBase;
  p["mountVolumes"] = {{"azureFileShares", {file_share(kHuge, "https://x/y", "a2V5")}}};
  for (const auto& e : errors_of(p)) EXPECT_LT(e.size(), 1024u) << e.substr(0, 200);
  EXPECT_EQ(quote_value(std::string(300, 'x')), "\"" + std::string(200, 'x') + "\"... (300 bytes)");
  // Cut between characters, never inside one: the message stays valid UTF-8.
  std::string euros;
  for (int i = 0; i < 100; ++i) euros += "\xe2\x82\xac";
  EXPECT_TRUE(is_valid_utf8(quote_value(euros)));
}

TEST(HostileDocument, ThousandsOfBadFieldsGiveAHundredLinesAndACount) {
  json p = kBase;
  p["environmentVariables"] = json::array();
  for (int i = 0; i < 5000; ++i)
    p["environmentVariables"].push_back({{"name", "1bad"}, {"value", ""}});
  ParsedJob parsed = parse_job_document(json{{"properties", p}}.dump());
  EXPECT_EQ(parsed.diagnostics.error_count(), 5000u);
  EXPECT_EQ(parsed.diagnostics.errors().size(), Diagnostics::kKept);
  const std::string rendered =
      Diagnostics::render(parsed.diagnostics.errors(), parsed.diagnostics.error_count());
  EXPECT_NE(rendered.find("... and 4900 more"), std::string::npos);
}

TEST(HostileDocument, ValuesThatWouldChangeAMountOrACredentialsFileAreRefused) {
  const std::string url = "https://acct.file.core.windows.net/logs";
  auto share_error = [&](const std::string& account, const std::string& u, const std::string& key,
                         const std::string& field) {
    json p = kBase;
    p["mountVolumes"] = {{"azureFileShares", {file_share(account, u, key)}}};
    return has_error_at(p, "properties.mountVolumes.azureFileShares[0]." + field);
  };
  // A comma in the account adds cifs options; a newline in the key adds credentials lines.
  EXPECT_TRUE(share_error("acct,uid=0,forceuid", url, "a2V5", "accountName"));
  EXPECT_TRUE(share_error("Acct", url, "a2V5", "accountName"));
  EXPECT_TRUE(share_error("acct", url, "a2V5\nusername=root", "credentials.accountKey"));
  EXPECT_TRUE(share_error("acct", url, "not a key!", "credentials.accountKey"));
  EXPECT_TRUE(
      share_error("acct", "https://acct.file.core.windows.net/Bad--Share", "a2V5", "azureFileUrl"));
  EXPECT_FALSE(share_error("acct", url, "a2V5", "accountName"));
  // A blob account that moves the endpoint host (the SAS would go there).
  json p = kBase;
  p["mountVolumes"] = {{"azureBlobFileSystems", {blob("evil.example.com/x", "data", "")}}};
  EXPECT_TRUE(has_error_at(p, "properties.mountVolumes.azureBlobFileSystems[0].accountName"));
  // rclone's remote control server and its TLS switch.
  for (const char* options : {"rc,rc_addr=0.0.0.0:5572,rc_no_auth", "-o no_check_certificate"}) {
    p["mountVolumes"] = {{"azureBlobFileSystems", {blob("acct", "data", options)}}};
    EXPECT_TRUE(has_error_at(p, "properties.mountVolumes.azureBlobFileSystems[0].mountOptions"))
        << options;
  }
}

TEST(HostileDocument, ControlCharactersInPathsAndNamesAreRefused) {
  json p = kBase;
  p["stdOutErrPathPrefix"] = "/mnt/logs\nbatchai-agent: job x succeeded";
  EXPECT_TRUE(has_error_at(p, "properties.stdOutErrPathPrefix"));
  p = kBase;
  p["outputDirectories"] = {{{"id", "MODEL"}, {"pathPrefix", "/o\t"}}};
  EXPECT_TRUE(has_error_at(p, "properties.outputDirectories[0].pathPrefix"));
  p = kBase;
  p["mountVolumes"] = {
      {"unmanagedFileSystems",
       {{{"mountCommand", "mount -t tmpfs none"}, {"relativeMountPath", "a\x7f"}}}}};
  EXPECT_TRUE(has_error_at(p, "properties.mountVolumes.unmanagedFileSystems[0].relativeMountPath"));
  // A command line is text: lines are fine.
  p = kBase;
  p["customToolkitSettings"]["commandLine"] = "echo a\necho b";
  EXPECT_TRUE(errors_of(p).empty());
}

TEST(HostileDocument, ImageReferencesFollowDockersGrammar) {
  for (const char* good : {"ubuntu", "ubuntu:22.04",
                           "library/ubuntu@sha256:"
                           "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                           "localhost:5000/team/image:1.0", "myregistry.azurecr.io/a/b-c_d.e:x"}) {
    EXPECT_EQ(check_image_reference(good), "") << good;
  }
  for (const char* bad : {"Ubuntu", "ubuntu:", "-ubuntu", "a//b", "ubuntu:22.04 --privileged",
                          "a:b:c", "ubuntu@sha256:xyz"}) {
    EXPECT_NE(check_image_reference(bad), "") << bad;
  }
  EXPECT_NE(check_registry_server("https://host:5000/\nx"), "");
  EXPECT_EQ(check_registry_server("myregistry.azurecr.io"), "");
}

TEST(HostileDocument, DurationsBelowAMillisecondAndBadExperimentNamesAreRefused) {
  json p = kBase;
  p["constraints"] = {{"maxWallClockTime", "PT0.0001S"}};
  EXPECT_TRUE(has_error_at(p, "properties.constraints.maxWallClockTime"));
  json old = kBase;
  old["experimentName"] = "../../etc";
  ParsedJob parsed = parse_job_document(json{
      {"$schema",
       "https://raw.githubusercontent.com/Azure/BatchAI/master/schemas/"
       "2018-03-01/job.json"},
      {"properties", old}}.dump());
  ASSERT_TRUE(parsed.diagnostics.has_errors());
  EXPECT_EQ(parsed.diagnostics.errors()[0].path, "properties.experimentName");
}

TEST(TextPattern, IsLinearOnAMegabyteThatWouldHaveOverflowedTheStack) {
  const TextPattern p("[a-z](?:[a-z0-9]|-[a-z0-9])*");
  const std::string long_text(1 << 20, 'a');
  EXPECT_TRUE(p.full_match(long_text));
  EXPECT_FALSE(p.full_match(long_text + "-"));
  std::vector<std::string> groups;
  const TextPattern g("(a+)(b*)(c)?");
  ASSERT_TRUE(g.full_match("aab", &groups));
  EXPECT_EQ(groups, (std::vector<std::string>{"aa", "b", ""}));
}

}  // namespace
}  // namespace batchai
