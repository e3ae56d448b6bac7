// The environment of a job's processes, in the order it was built: the node's base variables,
// the AZ_BATCHAI_* variables of reference §3, the user's environmentVariables and secrets.
// Secrets are marked so that they are never expanded into arguments, paths or logs.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "jobspec/expand.hpp"

namespace batchai {

class JobEnvironment {
 public:
  // Sets or replaces a variable, keeping its first position.
  void set(const std::string& name, const std::string& value, bool secret = false);
  bool has(const std::string& name) const;
  // The variable's value; "" when it is not set.
  std::string value_of(const std::string& name) const;
  void unset(const std::string& name);

  // A lookup for expansion. With allow_secrets false, a secret's name is an error that says
  // why (it would put the value into an argument or a path).
  VarLookup lookup(bool allow_secrets) const;

  // "NAME=VALUE" entries for execve; without secrets for programs that are not the job's.
  std::vector<std::string> to_envp(bool include_secrets = true) const;
  // Names only, for execution.log: values may be secret.
  std::vector<std::string> names() const;

  // The node's base environment: PATH, HOME, LANG, ... (not the caller's environment, so a job
  // runs the same from a terminal as under systemd), then the node's own additions (the agent's
  // "environment" setting, run-job's -e).
  static JobEnvironment node_base(
      const std::vector<std::pair<std::string, std::string>>& additions = {});

 private:
  struct Var {
    std::string name;
    std::string value;
    bool secret = false;
  };
  std::vector<Var> vars_;
};

}  // namespace batchai
