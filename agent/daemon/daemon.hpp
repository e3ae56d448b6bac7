// `batchai-agent daemon`: registers with the control plane, long-polls its desired state, runs
// the tasks it is given through their supervisors, and reports node and task state on every
// change until the control plane has it (docs/protocol.md, docs/daemon.md).
#pragma once

#include <string>

namespace batchai {

int run_daemon(const std::string& config_path);

}  // namespace batchai
