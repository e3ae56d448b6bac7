#include "agent/job/job_environment.hpp"

#include <pwd.h>
#include <unistd.h>

namespace batchai {

void JobEnvironment::set(const std::string& name, const std::string& value, bool secret) {
  for (auto& v : vars_) {
    if (v.name == name) {
      v.value = value;
      v.secret = secret;
      return;
    }
  }
  vars_.push_back({name, value, secret});
}

bool JobEnvironment::has(const std::string& name) const {
  for (const auto& v : vars_) {
    if (v.name == name) return true;
  }
  return false;
}

std::string JobEnvironment::value_of(const std::string& name) const {
  for (const auto& v : vars_) {
    if (v.name == name) return v.value;
  }
  return "";
}

VarLookup JobEnvironment::lookup(bool allow_secrets) const {
  return [this, allow_secrets](const std::string& name) -> Result<std::string> {
    for (const auto& v : vars_) {
      if (v.name != name) continue;
      if (v.secret && !allow_secrets) {
        return err("$" + name + " is a secret: secrets reach the job only as environment " +
                   "variables, never in arguments or paths");
      }
      return v.value;
    }
    return err("$" + name + " is not defined");
  };
}

void JobEnvironment::unset(const std::string& name) {
  std::erase_if(vars_, [&](const Var& v) { return v.name == name; });
}

std::vector<std::string> JobEnvironment::to_envp(bool include_secrets) const {
  std::vector<std::string> out;
  out.reserve(vars_.size());
  for (const auto& v : vars_) {
    if (include_secrets || !v.secret) out.push_back(v.name + "=" + v.value);
  }
  return out;
}

std::vector<std::string> JobEnvironment::names() const {
  std::vector<std::string> out;
  for (const auto& v : vars_) out.push_back(v.name);
  return out;
}

JobEnvironment JobEnvironment::node_base(
    const std::vector<std::pair<std::string, std::string>>& additions) {
  JobEnvironment env;
  std::string home = "/root", user = "root";
  if (const passwd* pw = ::getpwuid(::getuid())) {
    home = pw->pw_dir;
    user = pw->pw_name;
  }
  env.set("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  env.set("HOME", home);
  env.set("USER", user);
  env.set("LOGNAME", user);
  env.set("SHELL", "/bin/bash");
  env.set("LANG", "C.UTF-8");
  // Training scripts print progress; without this Python holds stdout in a buffer until exit
  // when it is a pipe, and nobody sees the job's progress live.
  env.set("PYTHONUNBUFFERED", "1");
  for (const auto& [name, value] : additions) env.set(name, value);
  return env;
}

}  // namespace batchai
