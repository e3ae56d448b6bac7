// File-system helpers of common/fs.hpp, on a real temporary tree.
#include "common/fs.hpp"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>

namespace batchai {
namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_link(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::set<std::string> entries(const std::string& dir) {
  std::set<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") out.insert(name);
  }
  ::closedir(d);
  return out;
}

void put(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary);
  f << content;
  ASSERT_TRUE(f.good()) << path;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

class FsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/batchai-fs-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr) << errno;
    root_ = tmpl;
  }
  void TearDown() override {
    if (root_.empty()) return;
    std::string cmd = "rm -rf --one-file-system '" + root_ + "'";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
  }
  std::string p(const std::string& rel) const { return root_ + "/" + rel; }

  std::string root_;
};

TEST_F(FsTest, WriteFileAtomicWritesContentAndMode) {
  const std::string path = p("state.json");
  const std::string content =
      std::string("line 1\nbinary \0 byte\n", 21) + std::string(100000, 'x');
  ASSERT_TRUE(write_file_atomic(path, content, 0600).ok());
  EXPECT_EQ(slurp(path), content);
  EXPECT_EQ(mode_of(path), 0600u);
  // Only the file itself is left: no temporary next to it.
  EXPECT_EQ(entries(root_), std::set<std::string>{"state.json"});
}

TEST_F(FsTest, WriteFileAtomicModeIgnoresUmaskAndReplaces) {
  const std::string path = p("status");
  mode_t old = ::umask(077);
  auto s = write_file_atomic(path, "first", 0644);
  ::umask(old);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(mode_of(path), 0644u);

  ASSERT_TRUE(write_file_atomic(path, "second, longer", 0600).ok());
  EXPECT_EQ(slurp(path), "second, longer");
  EXPECT_EQ(mode_of(path), 0600u);
  ASSERT_TRUE(write_file_atomic(path, "", 0600).ok());
  EXPECT_EQ(slurp(path), "");
  EXPECT_EQ(entries(root_), std::set<std::string>{"status"});
}

TEST_F(FsTest, WriteFileAtomicReportsAMissingDirectory) {
  auto s = write_file_atomic(p("no/such/dir/file"), "x", 0600);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find(p("no/such/dir/file")), std::string::npos) << s.error().message;
  EXPECT_TRUE(entries(root_).empty());
}

TEST_F(FsTest, ReadFileHonoursTheSizeLimit) {
  const std::string path = p("ten");
  put(path, "0123456789");
  auto exact = read_file(path, 10);
  ASSERT_TRUE(exact.ok()) << exact.error().message;
  EXPECT_EQ(exact.value(), "0123456789");

  auto over = read_file(path, 9);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().message, path + " is 10 bytes, more than the limit of 9");
}

TEST_F(FsTest, ReadFileRefusesMissingAndNonRegular) {
  auto missing = read_file(p("missing"), 100);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("cannot open " + p("missing")), std::string::npos);

  auto dir = read_file(root_, 100);
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.error().message, root_ + " is not a regular file");
}

TEST_F(FsTest, MakeDirsCreatesEveryLevelWithTheMode) {
  const std::string deep = p("a/b/c");
  mode_t old = ::umask(0);
  auto s = make_dirs(deep, 0750);
  ::umask(old);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_TRUE(is_dir(p("a")));
  EXPECT_TRUE(is_dir(p("a/b")));
  EXPECT_TRUE(is_dir(deep));
  EXPECT_EQ(mode_of(p("a/b")), 0750u);
  // Existing directories are fine, a trailing slash too.
  EXPECT_TRUE(make_dirs(deep, 0750).ok());
  EXPECT_TRUE(make_dirs(deep + "/", 0750).ok());
}

TEST_F(FsTest, MakeDirsRefusesAFileInTheWay) {
  put(p("file"), "x");
  auto s = make_dirs(p("file"), 0755);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, p("file") + " exists and is not a directory");
  EXPECT_FALSE(make_dirs(p("file/sub"), 0755).ok());
  EXPECT_FALSE(make_dirs("", 0755).ok());
}

TEST(JoinPath, SingleSlashes) {
  EXPECT_EQ(join_path("a", "b"), "a/b");
  EXPECT_EQ(join_path("a/", "b"), "a/b");
  EXPECT_EQ(join_path("a//", "//b"), "a/b");
  EXPECT_EQ(join_path("/x/y", "z/w"), "/x/y/z/w");
  EXPECT_EQ(join_path("/", "b"), "/b");
  EXPECT_EQ(join_path("/", "/b"), "/b");
  EXPECT_EQ(join_path("", "b"), "b");
  EXPECT_EQ(join_path("a", ""), "a");
  EXPECT_EQ(join_path("a", "b/"), "a/b/");
}

// A tree with files, nested directories, and links to a directory and a file outside it.
class TreeTest : public FsTest {
 protected:
  void SetUp() override {
    FsTest::SetUp();
    ASSERT_TRUE(make_dirs(p("outside/keep"), 0755).ok());
    put(p("outside/keep/precious.txt"), "do not delete");
    put(p("outside/file.txt"), "also precious");
    ASSERT_TRUE(make_dirs(p("tree/a/b/c"), 0755).ok());
    ASSERT_TRUE(make_dirs(p("tree/empty"), 0755).ok());
    put(p("tree/top.txt"), "1");
    put(p("tree/a/b/mid.txt"), "2");
    put(p("tree/a/b/c/deep.txt"), "3");
    put(p("tree/a/.hidden"), "4");
    ASSERT_EQ(::symlink(p("outside/keep").c_str(), p("tree/a/dirlink").c_str()), 0);
    ASSERT_EQ(::symlink(p("outside/file.txt").c_str(), p("tree/filelink").c_str()), 0);
    ASSERT_EQ(::symlink("/nonexistent/target", p("tree/dangling").c_str()), 0);
    ASSERT_EQ(::mkfifo(p("tree/fifo").c_str(), 0600), 0);
  }

  void expect_outside_untouched() {
    EXPECT_TRUE(is_dir(p("outside/keep")));
    EXPECT_EQ(slurp(p("outside/keep/precious.txt")), "do not delete");
    EXPECT_EQ(slurp(p("outside/file.txt")), "also precious");
  }
};

TEST_F(TreeTest, RemoveTreeRemovesEverythingAndNoLinkTarget) {
  auto s = remove_tree_one_fs(p("tree"));
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_FALSE(exists(p("tree")));
  expect_outside_untouched();
}

TEST_F(TreeTest, RemoveTreeOfMissingPathIsOk) {
  EXPECT_TRUE(remove_tree_one_fs(p("never-was")).ok());
}

TEST_F(TreeTest, RemoveTreeOnAFileOrALinkRemovesOnlyThat) {
  ASSERT_TRUE(remove_tree_one_fs(p("tree/top.txt")).ok());
  EXPECT_FALSE(exists(p("tree/top.txt")));
  // The path itself a link to a directory: the link goes, the directory stays whole.
  ASSERT_TRUE(remove_tree_one_fs(p("tree/a/dirlink")).ok());
  EXPECT_FALSE(exists(p("tree/a/dirlink")));
  EXPECT_TRUE(is_dir(p("tree/a/b")));
  expect_outside_untouched();
}

TEST_F(TreeTest, EmptyDirKeepsTheDirectoryAndRemovesLinksAsLinks) {
  ASSERT_TRUE(is_link(p("tree/a/dirlink")));
  auto s = empty_dir_one_fs(p("tree"));
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_TRUE(is_dir(p("tree")));
  EXPECT_TRUE(entries(p("tree")).empty());
  expect_outside_untouched();
}

TEST_F(TreeTest, EmptyDirOfMissingDirectoryIsOk) {
  EXPECT_TRUE(empty_dir_one_fs(p("never-was")).ok());
}

TEST_F(TreeTest, EmptyDirRefusesToFollowALinkGivenAsTheDirectory) {
  ASSERT_EQ(::symlink(p("outside").c_str(), p("link-to-outside").c_str()), 0);
  auto s = empty_dir_one_fs(p("link-to-outside"));
  EXPECT_FALSE(s.ok());
  expect_outside_untouched();
}

// Needs CAP_SYS_ADMIN to mount a tmpfs; skipped elsewhere.
TEST_F(TreeTest, NeverCrossesAMountPoint) {
  const std::string mp = p("tree/a/mnt");
  ASSERT_TRUE(make_dirs(mp, 0755).ok());
  if (::mount("batchai-test", mp.c_str(), "tmpfs", 0, "size=1m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here: " << errno_text(errno);
  }
  // Detach the mount even when an assertion below ends the test early.
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{mp};
  put(mp + "/on-the-mount.txt", "keep me");

  auto emptied = empty_dir_one_fs(p("tree"));
  EXPECT_FALSE(emptied.ok());
  if (!emptied.ok()) {
    EXPECT_NE(emptied.error().message.find(mp + " is a mount point; not removed"),
              std::string::npos)
        << emptied.error().message;
  }
  // What was beside it went; the mount, its content and the directories above it stayed.
  EXPECT_EQ(slurp(mp + "/on-the-mount.txt"), "keep me");
  EXPECT_FALSE(exists(p("tree/top.txt")));
  EXPECT_FALSE(exists(p("tree/a/b")));
  EXPECT_TRUE(is_dir(p("tree/a")));

  auto removed = remove_tree_one_fs(p("tree"));
  EXPECT_FALSE(removed.ok());
  EXPECT_EQ(slurp(mp + "/on-the-mount.txt"), "keep me");

  // The mount point itself given as the tree.
  auto direct = remove_tree_one_fs(mp);
  ASSERT_FALSE(direct.ok());
  EXPECT_EQ(direct.error().message, mp + " is a mount point; not removed");
  EXPECT_EQ(slurp(mp + "/on-the-mount.txt"), "keep me");

  ASSERT_EQ(::umount(mp.c_str()), 0) << errno_text(errno);
  EXPECT_TRUE(remove_tree_one_fs(p("tree")).ok());
  EXPECT_FALSE(exists(p("tree")));
  expect_outside_untouched();
}

}  // namespace
}  // namespace batchai
