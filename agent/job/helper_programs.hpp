// Where the agent's own executables are: the agent itself (for sshd's ForceCommand and the
// launcher's wait, which other processes start) and its static helpers (batchai-pause,
// batchai-job-shell), beside it in a build tree or in /usr/libexec/batchai-agent/ as the
// package installs them.
#pragma once

#include <string>

namespace batchai {

// The agent's executable as a path others can run: /proc/self/exe names it only for this
// process, and after an upgrade replaced it, the new one is at the same path.
std::string agent_program();

// A helper by name ("batchai-pause"): beside the agent when there, else in libexec.
std::string helper_program(const std::string& name);

}  // namespace batchai
