#include "agent/node/admin_account.hpp"

#include <crypt.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sstream>
#include <vector>

#include "common/beneath.hpp"
#include "common/fs.hpp"
#include "common/text_pattern.hpp"
#include "common/unique_fd.hpp"

namespace batchai {

namespace {

using nlohmann::json;

// Runs argv with `input` on its stdin; fails with its output when it exits non-zero.
Status run_with_input(const std::vector<std::string>& argv, const std::string& input) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) {
    return err("pipe: " + errno_text(errno));
  }
  UniqueFd in_r(in[0]), in_w(in[1]), out_r(out[0]), out_w(out[1]);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  char* const envp[] = {const_cast<char*>("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), nullptr};
  pid_t pid = ::fork();
  if (pid < 0) return err("fork: " + errno_text(errno));
  if (pid == 0) {
    if (::dup2(in_r.get(), 0) < 0 || ::dup2(out_w.get(), 1) < 0 || ::dup2(out_w.get(), 2) < 0) {
      ::_exit(127);
    }
    ::execve(args[0], args.data(), envp);
    ::_exit(127);
  }
  in_r.reset();
  out_w.reset();
  for (std::size_t done = 0; done < input.size();) {
    ssize_t n = ::write(in_w.get(), input.data() + done, input.size() - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  in_w.reset();
  std::string output;
  char buf[1024];
  for (ssize_t n; (n = ::read(out_r.get(), buf, sizeof buf)) > 0 && output.size() < 4096;) {
    output.append(buf, static_cast<std::size_t>(n));
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return ok();
  while (!output.empty() && output.back() == '\n') output.pop_back();
  return err(argv[0] + " failed" + (output.empty() ? "" : ": " + output));
}

struct PasswdEntry {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
};

std::optional<PasswdEntry> passwd_entry(const std::string& root, const std::string& user) {
  auto text = read_file(join_path(root, "etc/passwd"), 16 << 20);
  if (!text) return std::nullopt;
  std::istringstream lines(*text);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> f;
    std::istringstream cells(line);
    for (std::string c; std::getline(cells, c, ':');) f.push_back(c);
    if (f.size() >= 6 && f[0] == user) {
      return PasswdEntry{static_cast<uid_t>(std::stoul(f[2])), static_cast<gid_t>(std::stoul(f[3])),
                         f[5]};
    }
  }
  return std::nullopt;
}

Result<std::string> hash_password(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn(nullptr, 0, nullptr, 0, salt, sizeof salt) == nullptr) {
    return err("cannot make a password salt");
  }
  crypt_data data{};
  const char* hash = crypt_rn(password.c_str(), salt, &data, sizeof data);
  if (hash == nullptr || hash[0] == '*') return err("cannot hash the password");
  return std::string(hash);
}

}  // namespace

namespace {

// ~/.ssh/authorized_keys with the key, the directory and the file the user's. The home is the
// user's to write: a link planted there (~/.ssh -> /etc) must not make root create or chown
// anything elsewhere, so the directory is opened beneath the root with no link followed, and the
// file is written, chowned and renamed through that descriptor.
Status install_ssh_key(const std::string& root, const PasswdEntry& entry, const std::string& user,
                       const std::string& key) {
  const std::string ssh_dir = join_path(join_path(root, entry.home), ".ssh");
  if (auto s = make_dirs_below(root, ssh_dir, 0700); !s) return s;
  auto dir = open_below(root, ssh_dir, O_RDONLY | O_DIRECTORY);
  if (!dir) return err("cannot open " + ssh_dir + ": " + dir.error().message);
  std::string text;
  struct stat st {};
  if (auto existing = open_beneath(dir->get(), "authorized_keys", O_RDONLY | O_NONBLOCK);
      existing && ::fstat(existing->get(), &st) == 0 && S_ISREG(st.st_mode)) {
    char buf[65536];
    for (ssize_t n; (n = ::read(existing->get(), buf, sizeof buf)) > 0 && text.size() < (1 << 20);)
      text.append(buf, static_cast<std::size_t>(n));
  }
  // The key as a line of its own (a comment that quotes it does not count).
  if (("\n" + text + "\n").find("\n" + key + "\n") == std::string::npos) {
    if (!text.empty() && text.back() != '\n') text += "\n";
    text += key + "\n";
  }
  const std::string tmp = ".authorized_keys.batchai";
  ::unlinkat(dir->get(), tmp.c_str(), 0);
  UniqueFd out(::openat(dir->get(), tmp.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out.valid()) return err("cannot write in " + ssh_dir + ": " + errno_text(errno));
  const bool written =
      ::write(out.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size());
  if (!written || ::fchown(out.get(), entry.uid, entry.gid) != 0 || ::fsync(out.get()) != 0 ||
      ::renameat(dir->get(), tmp.c_str(), dir->get(), "authorized_keys") != 0 ||
      ::fchown(dir->get(), entry.uid, entry.gid) != 0 || ::fchmod(dir->get(), 0700) != 0) {
    const int e = errno;
    ::unlinkat(dir->get(), tmp.c_str(), 0);
    return err("cannot give " + ssh_dir + " to " + user + ": " + errno_text(e));
  }
  return ok();
}

}  // namespace

Result<std::optional<AdminAccount>> admin_account_from(const json& node_setup) {
  if (!node_setup.is_object() || !node_setup.contains("userAccountSettings") ||
      node_setup["userAccountSettings"].is_null()) {
    return std::optional<AdminAccount>();
  }
  const json& s = node_setup["userAccountSettings"];
  const std::string at = "nodeSetup.userAccountSettings";
  if (!s.is_object()) return err(at + ": must be an object");
  AdminAccount a;
  static const TextPattern user_re("[a-z_][a-z0-9_-]{0,31}");
  if (!s.contains("adminUserName") || !s["adminUserName"].is_string() ||
      !user_re.full_match(s["adminUserName"].get<std::string>())) {
    return err(at +
               ".adminUserName: must be a user name like azureuser (lower-case letters, "
               "digits, '_' and '-', at most 32)");
  }
  a.user = s["adminUserName"];
  if (a.user == "root") return err(at + ".adminUserName: must not be root");
  if (s.contains("adminUserSshPublicKey") && !s["adminUserSshPublicKey"].is_null()) {
    // One line, bounded: 16 KiB covers an RSA 16384 key and its comment.
    static const TextPattern key_re(
        R"((ssh-|ecdsa-|sk-)[A-Za-z0-9@.-]{1,64} [A-Za-z0-9+/=]+( [^\r\n\x00]*)?)");
    if (!s["adminUserSshPublicKey"].is_string() ||
        s["adminUserSshPublicKey"].get_ref<const std::string&>().size() > 16384 ||
        !key_re.full_match(s["adminUserSshPublicKey"].get<std::string>())) {
      return err(at + ".adminUserSshPublicKey: must be one OpenSSH public key line");
    }
    a.ssh_public_key = s["adminUserSshPublicKey"];
  }
  if (s.contains("adminUserPassword") && !s["adminUserPassword"].is_null()) {
    if (!s["adminUserPassword"].is_string() || s["adminUserPassword"].get<std::string>().empty() ||
        s["adminUserPassword"].get<std::string>().find_first_of(":\n\r") != std::string::npos) {
      return err(at + ".adminUserPassword: must be a non-empty string on one line without ':'");
    }
    a.password = s["adminUserPassword"];
  }
  if (!a.ssh_public_key && !a.password) {
    return err(at + ": give adminUserSshPublicKey, adminUserPassword or both");
  }
  return std::optional<AdminAccount>(a);
}

Result<std::string> ensure_admin_account(const AdminAccount& a, const std::string& root) {
  std::string done;
  auto entry = passwd_entry(root, a.user);
  if (entry && entry->uid < 1000) {
    return err("the user " + a.user + " exists as a system account (uid " +
               std::to_string(entry->uid) + "); choose another adminUserName");
  }
  if (!entry) {
    if (auto s = run_with_input({"/usr/sbin/useradd", "--root", root, "--create-home", "--shell",
                                 "/bin/bash", "--user-group", a.user},
                                "");
        !s) {
      return s.error();
    }
    entry = passwd_entry(root, a.user);
    if (!entry) return err("useradd did not create " + a.user);
    done = "created " + a.user;
  } else {
    done = "updated " + a.user;
  }
  // sudo: without a password the key is the only way in, so sudo asks for none.
  const std::string sudoers = join_path(root, "etc/sudoers.d/batchai-admin-" + a.user);
  if (auto s = make_dirs(join_path(root, "etc/sudoers.d"), 0755); !s) return s.error();
  if (auto s = write_file_atomic(
          sudoers, a.user + (a.password ? " ALL=(ALL) ALL\n" : " ALL=(ALL) NOPASSWD:ALL\n"), 0440);
      !s) {
    return s.error();
  }
  if (a.ssh_public_key) {
    if (auto s = install_ssh_key(root, *entry, a.user, *a.ssh_public_key); !s) return s.error();
    done += ", SSH key installed";
  }
  if (a.password) {
    auto hash = hash_password(*a.password);
    if (!hash) return hash.error();
    if (auto s = run_with_input({"/usr/sbin/chpasswd", "--encrypted", "--root", root},
                                a.user + ":" + *hash + "\n");
        !s) {
      return s.error();
    }
    done += ", password set";
  }
  return done;
}

}  // namespace batchai
