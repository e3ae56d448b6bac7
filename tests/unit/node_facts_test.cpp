// The node facts read from the file system: InfiniBand's character devices.
#include "heartbeat/node_facts.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace batchai {
namespace {

TEST(NodeFacts, InfiniBandIsTheVerbsAndConnectionManagerCharacterDevicesOnly) {
  EXPECT_TRUE(infiniband_devices("/nonexistent/infiniband").empty());
  char tmpl[] = "/tmp/ib-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  std::ofstream(dir + "/uverbs8") << "x";                            // not a device
  ASSERT_EQ(::symlink("/dev/null", (dir + "/uverbs9").c_str()), 0);  // a link: never followed
  const bool root = ::geteuid() == 0;
  if (root) {
    // Made as the kernel names them; /dev/null's numbers, so nothing real is reachable.
    for (const char* name : {"uverbs0", "rdma_cm", "umad0"}) {
      ASSERT_EQ(::mknod((dir + "/" + name).c_str(), S_IFCHR | 0600, ::makedev(1, 3)), 0);
    }
  }
  const auto found = infiniband_devices(dir);
  if (root) {
    EXPECT_EQ(found, (std::vector<std::string>{dir + "/rdma_cm", dir + "/uverbs0"}));
  } else {
    EXPECT_TRUE(found.empty());
  }
  for (const char* name : {"uverbs8", "uverbs9", "uverbs0", "rdma_cm", "umad0"}) {
    ::unlink((dir + "/" + name).c_str());
  }
  ::rmdir(dir.c_str());
}

}  // namespace
}  // namespace batchai
