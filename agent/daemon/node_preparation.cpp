#include "agent/daemon/node_preparation.hpp"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "agent/job/layout.hpp"
#include "agent/node/admin_account.hpp"
#include "agent/node/node_setup.hpp"
#include "agent/node/node_volumes.hpp"
#include "agent/node/setup_task.hpp"
#include "common/digest.hpp"
#include "common/fs.hpp"

namespace batchai {

namespace {

// The most the cluster's volumes may take to mount (each volume's attempts, with their bounds);
// the watchdog allows this much meanwhile (agent/daemon/watchdog.hpp).
constexpr std::int64_t kVolumesBoundMs = 60LL * 60 * 1000;

std::vector<JobError> mount_volumes(const NodeSetup& setup, const DaemonConfig& config,
                                    const Watchdog& watchdog) {
  sd_notify(0, "STATUS=preparing: mounting the cluster's volumes");
  auto result = [&] {
    auto allowance = watchdog.allow(kVolumesBoundMs);
    return mount_node_volumes(setup.mount_volumes, config);
  }();
  for (const auto& line : result.mounted) spdlog::info("cluster volume {}", line);
  return result.errors;
}

std::vector<JobError> make_admin_account(const NodeSetup& setup, const DaemonConfig& config) {
  if (!setup.admin_account) return {};
  auto done = ensure_admin_account(*setup.admin_account, config.account_root);
  if (!done) return {{"AdminAccountFailed", done.error().message, {}}};
  if (!done->empty()) spdlog::info("admin account: {}", *done);
  return {};
}

std::vector<JobError> run_setup(const NodeSetup& setup, const DaemonConfig& config,
                                const std::string& boot_id, const std::atomic<bool>& stop,
                                const Watchdog& watchdog) {
  if (!setup.setup_task) return {};
  sd_notify(0, "STATUS=preparing: running the setup task");
  // The task may run for as long as it needs; the watchdog is served while it waits.
  auto result = run_setup_task(*setup.setup_task, config, boot_id, stop, [&] { watchdog.ping(); });
  for (const auto& line : result.log) spdlog::info("{}", line);
  return result.errors;
}

// What prepared.json holds: the boot, and the nodeSetup's digest (it may hold storage keys).
nlohmann::json prepared_record(const nlohmann::json& node_setup, const std::string& boot_id) {
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : sha256(node_setup.dump())) {
    hex += kHex[c >> 4];
    hex += kHex[c & 0xf];
  }
  return {{"bootId", boot_id}, {"nodeSetupSha256", hex}};
}

}  // namespace

bool prepared_in_this_boot(const nlohmann::json& node_setup, const DaemonConfig& config,
                           const std::string& boot_id) {
  auto text = read_file(StateLayout(config.state_dir).prepared_record(), 4096);
  if (!text) return false;
  return nlohmann::json::parse(*text, nullptr, false) == prepared_record(node_setup, boot_id);
}

std::vector<JobError> prepare_node(const nlohmann::json& node_setup, const DaemonConfig& config,
                                   const std::string& boot_id, const std::atomic<bool>& stop,
                                   const Watchdog& watchdog) {
  ParsedNodeSetup parsed = parse_node_setup(node_setup);
  std::vector<JobError> errors = std::move(parsed.errors);
  // The volumes first (the setup task may use them), then the admin account, before the setup
  // task (which may rely on it).
  if (errors.empty()) errors = mount_volumes(parsed.setup, config, watchdog);
  if (errors.empty()) errors = make_admin_account(parsed.setup, config);
  if (errors.empty()) errors = run_setup(parsed.setup, config, boot_id, stop, watchdog);
  for (const auto& e : errors) spdlog::error("node unusable: {}: {}", e.code, e.message);
  const std::string record = StateLayout(config.state_dir).prepared_record();
  if (errors.empty()) {
    (void)write_file_atomic(record, prepared_record(node_setup, boot_id).dump() + "\n", 0600);
  } else {
    (void)::unlink(record.c_str());
  }
  return errors;
}

}  // namespace batchai
