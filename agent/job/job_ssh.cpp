#include "agent/job/job_ssh.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/fs.hpp"

namespace batchai {

namespace {

std::string sshd_config_text(const GangContext& gang, const JobSshPaths& p,
                             const std::string& job_shell) {
  return "# The sshd of one multi-node job (batchai-agent, docs/multi-node.md)\n"
         "Port " +
         std::to_string(gang.ssh_port) + "\n" + "ListenAddress " + gang.node_ip() + "\n" +
         "HostKey " + p.host_key + "\n" + "AuthorizedKeysFile " + p.authorized_keys +
         "\n"
         "PidFile none\n"
         "PubkeyAuthentication yes\n"
         "PasswordAuthentication no\n"
         "KbdInteractiveAuthentication no\n"
         "PermitRootLogin prohibit-password\n"
         "AllowUsers root\n"
         "UsePAM no\n"
         // The files are the agent's own, root-only, in a root-only directory; the checks of
         // StrictModes walk up to / and refuse a world-writable /tmp above a test's state dir.
         "StrictModes no\n"
         "PermitUserEnvironment no\n"
         "AllowAgentForwarding no\n"
         "AllowTcpForwarding no\n"
         "X11Forwarding no\n"
         "PermitTunnel no\n"
         "PrintMotd no\n"
         "ForceCommand " +
         shell_quoted(job_shell) + " " + shell_quoted(p.environment) + "\n";
}

// Only the job's nodes: ssh elsewhere from a job (git, scp to a server) keeps ssh's defaults.
std::string ssh_config_text(const GangContext& gang, const JobSshPaths& p) {
  std::string hosts;
  for (const auto& h : gang.hosts) hosts += " " + h;
  return "Host" + hosts +
         "\n"
         "  Port " +
         std::to_string(gang.ssh_port) + "\n" +
         "  User root\n"
         "  IdentityFile " +
         p.private_key + "\n" +
         "  IdentitiesOnly yes\n"
         "  UserKnownHostsFile " +
         p.known_hosts + "\n" +
         "  GlobalKnownHostsFile /dev/null\n"
         "  StrictHostKeyChecking yes\n"
         "  BatchMode yes\n"
         "  LogLevel ERROR\n";
}

// The job's key, from the job's nodes only.
std::string authorized_keys_text(const GangContext& gang, const std::string& public_key) {
  return "from=\"" + host_list(gang.hosts) + "\" " + public_key + "\n";
}

std::string known_hosts_text(const GangContext& gang, const std::string& host_public_key) {
  std::string text;
  for (const auto& h : gang.hosts) {
    text.append("[").append(h).append("]:").append(std::to_string(gang.ssh_port));
    text.append(" ").append(host_public_key).append("\n");
  }
  return text;
}

std::string environment_text(const std::vector<std::string>& environment, const std::string& cwd) {
  std::string text = cwd + '\0';
  for (const auto& e : environment) text += e + '\0';
  return text;
}

}  // namespace

JobSshPaths job_ssh_paths(const std::string& dir) {
  return {dir,
          join_path(dir, "id_ecdsa"),
          join_path(dir, "host_key"),
          join_path(dir, "authorized_keys"),
          join_path(dir, "known_hosts"),
          join_path(dir, "ssh_config"),
          join_path(dir, "ssh"),
          join_path(dir, "sshd_config"),
          join_path(dir, "environment"),
          join_path(dir, "ready"),
          join_path(dir, "sshfs.log")};
}

std::vector<std::string> sshd_argv(const GangContext& gang, const JobSshPaths& paths) {
  return {gang.sshd_program, "-D", "-e", "-f", paths.sshd_config};
}

Status write_job_ssh(const GangContext& gang, const protocol::JobSshIdentity& identity,
                     const std::vector<std::string>& environment, const std::string& cwd,
                     const std::string& job_shell) {
  const JobSshPaths p = job_ssh_paths(gang.ssh_dir);
  if (auto s = make_dirs(p.dir, 0700); !s) return s;
  ::chmod(p.dir.c_str(), 0700);
  // A job queued again keeps its uuid and so this directory: what its last run left (the
  // ready mark above all, which would let sessions in before the job preparation) goes.
  for (const auto& stale : {p.ready, p.sshfs_log}) {
    if (::unlink(stale.c_str()) != 0 && errno != ENOENT) {
      return err("cannot remove " + stale + ": " + errno_text(errno));
    }
  }
  const std::string wrapper = "#!/bin/sh\nexec " + std::string(kSshProgram) + " -F " +
                              shell_quoted(p.ssh_config) + " \"$@\"\n";
  const std::pair<std::string, std::string> files[] = {
      {p.private_key, identity.private_key},
      {p.host_key, identity.host_private_key},
      {p.authorized_keys, authorized_keys_text(gang, identity.public_key)},
      {p.known_hosts, known_hosts_text(gang, identity.host_public_key)},
      {p.ssh_config, ssh_config_text(gang, p)},
      {p.sshd_config, sshd_config_text(gang, p, job_shell)},
      {p.environment, environment_text(environment, cwd)},
  };
  for (const auto& [path, content] : files) {
    const std::string text =
        content.ends_with('\n') || path == p.environment ? content : content + "\n";
    if (auto s = write_file_atomic(path, text, 0600); !s) return s;
  }
  return write_file_atomic(p.ssh_command, wrapper, 0700);
}

std::vector<std::string> remove_job_ssh(const std::string& dir) {
  std::vector<std::string> warnings;
  const JobSshPaths p = job_ssh_paths(dir);
  for (const auto& path :
       {p.private_key, p.host_key, p.authorized_keys, p.known_hosts, p.ssh_config, p.ssh_command,
        p.sshd_config, p.environment, p.ready, p.sshfs_log}) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      warnings.push_back("cannot remove " + path + ": " + errno_text(errno));
    }
  }
  if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) {
    warnings.push_back("cannot remove " + dir + ": " + errno_text(errno));
  }
  return warnings;
}

}  // namespace batchai
