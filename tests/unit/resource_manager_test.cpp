// The resource-manager API's pieces that take outside input whole: paths, access tokens, and
// the signed download links of job files.
#include <gtest/gtest.h>

#include "controlplane/access_tokens.hpp"
#include "controlplane/arm_path.hpp"
#include "controlplane/file_links.hpp"

namespace batchai::cp {
namespace {

TEST(ArmPath, SplitsAJobPathWhateverTheCaseOfItsKeywords) {
  auto p = parse_arm_path(
      "/subscriptions/S/resourcegroups/batchai.quickstart/providers/Microsoft.BatchAI/"
      "workspaces/ws/experiments/Exp/jobs/j1/listOutputFiles");
  ASSERT_TRUE(p);
  EXPECT_EQ(*p->subscription, "S");
  EXPECT_EQ(*p->resource_group, "batchai.quickstart");
  EXPECT_EQ(p->kind(), "microsoft.batchai/workspaces/experiments/jobs:listoutputfiles");
  EXPECT_EQ(p->name_of("experiments"), "Exp");  // names keep their case
  auto same = parse_arm_path(
      "//subscriptions/S/resourceGroups/batchai.quickstart/providers/microsoft.batchai/"
      "Workspaces/ws/Experiments/Exp/Jobs/j1/listoutputfiles");
  ASSERT_TRUE(same);
  EXPECT_EQ(same->kind(), p->kind());
}

TEST(ArmPath, TellsCollectionsFromResources) {
  auto list = parse_arm_path("/subscriptions/S/providers/Microsoft.Storage/storageAccounts");
  ASSERT_TRUE(list);
  EXPECT_FALSE(list->resource_group);
  EXPECT_EQ(list->kind(), "microsoft.storage:storageaccounts");
  auto groups = parse_arm_path("/subscriptions/S/resourcegroups");
  ASSERT_TRUE(groups);
  EXPECT_TRUE(groups->groups);
  EXPECT_FALSE(groups->resource_group);
  auto subs = parse_arm_path("/subscriptions");
  ASSERT_TRUE(subs);
  EXPECT_FALSE(subs->subscription);
}

TEST(ArmPath, RefusesWhatIsNotOfTheShape) {
  EXPECT_FALSE(parse_arm_path("/v1/clusters/x"));
  EXPECT_FALSE(parse_arm_path("/subscriptions/S/resourcegroups/providers/Microsoft.BatchAI"));
  EXPECT_FALSE(parse_arm_path("/subscriptions/S/something/else"));
  EXPECT_FALSE(parse_arm_path("/subscriptions/S/providers"));
  EXPECT_FALSE(parse_arm_path("/subscriptions/" + std::string(kMaxArmPathBytes, 'a')));
  std::string deep = "/subscriptions/S/providers/p";
  for (int i = 0; i < 20; ++i) deep += "/t/n";
  EXPECT_FALSE(parse_arm_path(deep));
}

AccessTokens tokens() {
  auto t =
      AccessTokens::from("# principals\napp-1 secret-1\n\napp.2 secret-2\n", std::string(32, 'k'));
  EXPECT_TRUE(t) << t.error().message;
  return *t;
}

TEST(AccessTokens, IssuesOnlyForTheRightSecretAndVerifiesUntilExpiry) {
  auto t = tokens();
  EXPECT_FALSE(t.issue("app-1", "secret-2", 1000));
  EXPECT_FALSE(t.issue("app-3", "secret-1", 1000));
  auto token = t.issue("app-1", "secret-1", 1000);
  ASSERT_TRUE(token);
  EXPECT_TRUE(t.verify(*token, 1000));
  EXPECT_TRUE(t.verify(*token, 1000 + kAccessTokenSeconds - 1));
  EXPECT_FALSE(t.verify(*token, 1000 + kAccessTokenSeconds));
}

TEST(AccessTokens, ATamperedTokenOrOneOfAnotherKeyFails) {
  auto t = tokens();
  const std::string token = *t.issue("app-1", "secret-1", 1000);
  std::string later = token;
  later.replace(later.find("~4600~"), 6, "~9600~");
  EXPECT_FALSE(t.verify(later, 1000));
  std::string other = token;
  other.replace(other.find("app-1"), 5, "app.2");
  EXPECT_FALSE(t.verify(other, 1000));
  EXPECT_FALSE(t.verify(token.substr(0, token.size() - 1), 1000));
  EXPECT_FALSE(t.verify("bai1~", 1000));
  EXPECT_FALSE(t.verify("bai1~~~", 1000));
  auto keyed = AccessTokens::from("app-1 secret-1\n", std::string(32, 'x'));
  EXPECT_FALSE(keyed->verify(token, 1000));
}

TEST(AccessTokens, ANewSecretEndsTheOldTokensAndAnEmptyFileIsRefused) {
  auto before = AccessTokens::from("app-1 secret-1\n", std::string(32, 'k'));
  const std::string token = *before->issue("app-1", "secret-1", 1000);
  auto after = AccessTokens::from("app-1 secret-2\n", std::string(32, 'k'));
  EXPECT_TRUE(before->verify(token, 1000));
  EXPECT_FALSE(after->verify(token, 1000));
  EXPECT_FALSE(AccessTokens::from("# nobody\n\n", std::string(32, 'k')));
}

TEST(AccessTokens, AMalformedPrincipalsFileNamesTheLine) {
  auto extra = AccessTokens::from("app-1 secret-1\napp-2 a b\n", std::string(32, 'k'));
  ASSERT_FALSE(extra);
  EXPECT_NE(extra.error().message.find("line 2"), std::string::npos);
  EXPECT_FALSE(AccessTokens::from("app/1 secret\n", std::string(32, 'k')));
  EXPECT_FALSE(AccessTokens::from("a s\na t\n", std::string(32, 'k')));
}

TEST(FileLinks, ALinkChecksOutOnlyWholeAndInTime) {
  FileLinks links(std::string(32, 'f'));
  const FileLink link{"ws/exp/job", "uuid-1", "stdouterr", "stderr.txt", 2000};
  const std::string url = links.make(link);
  EXPECT_EQ(url.rfind(kFileLinkPath, 0), 0u);
  const std::string sig = url.substr(url.find("&sig=") + 5);
  EXPECT_TRUE(links.check("ws/exp/job", "uuid-1", "stdouterr", "stderr.txt", "2000", sig, 1999));
  EXPECT_FALSE(links.check("ws/exp/job", "uuid-1", "stdouterr", "stderr.txt", "2000", sig, 2000));
  EXPECT_FALSE(links.check("ws/exp/job", "uuid-1", "stdouterr", "stdout.txt", "2000", sig, 1));
  EXPECT_FALSE(links.check("ws/exp/job", "uuid-2", "stdouterr", "stderr.txt", "2000", sig, 1));
  EXPECT_FALSE(links.check("ws/exp/job", "uuid-1", "MODEL", "stderr.txt", "2000", sig, 1));
  EXPECT_FALSE(links.check("ws/exp/job", "uuid-1", "stdouterr", "stderr.txt", "9999", sig, 1));
  EXPECT_FALSE(links.check("ws/exp/job", "uuid-1", "stdouterr", "stderr.txt", "2000", "", 1));
  FileLinks other(std::string(32, 'g'));
  EXPECT_FALSE(other.check("ws/exp/job", "uuid-1", "stdouterr", "stderr.txt", "2000", sig, 1));
}

}  // namespace
}  // namespace batchai::cp
