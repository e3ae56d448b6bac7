// batchai-controlplane: the reference control plane of docs/protocol.md. A worked example and a
// test fixture for the agent and the CLI, not a production service (README.md says why).
#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <thread>
#include <tuple>

#include "controlplane/node_sweeper.hpp"
#include "controlplane/options.hpp"
#include "controlplane/server.hpp"
#include "controlplane/store.hpp"

namespace {

using namespace batchai::cp;

// What the resource-manager API needs from files: the service principals (and the token signing
// key in the state directory) and the storage accounts. Logs the problem and returns false.
bool load_resource_manager(const Options& o, std::optional<AccessTokens>& tokens,
                           StorageAccounts& accounts) {
  if (!o.service_principals_file.empty()) {
    auto text = read_secret_file(o.service_principals_file, 1 << 20);
    if (!text) {
      spdlog::error("--service-principals: {}", text.error().message);
      return false;
    }
    auto loaded = AccessTokens::load(*text, o.state_dir + "/token-signing.key");
    if (!loaded) {
      spdlog::error("--service-principals {}: {}", o.service_principals_file,
                    loaded.error().message);
      return false;
    }
    tokens = std::move(*loaded);
  }
  if (!o.storage_accounts_file.empty()) {
    auto text = read_secret_file(o.storage_accounts_file, 1 << 20);
    auto parsed =
        text ? StorageAccounts::parse(*text) : batchai::Result<StorageAccounts>(text.error());
    if (!parsed) {
      spdlog::error("--storage-accounts {}: {}", o.storage_accounts_file, parsed.error().message);
      return false;
    }
    accounts = std::move(*parsed);
  }
  return true;
}

int run(Options& o) {
  if (auto s = check_options(o); !s) {
    spdlog::error("{}", s.error().message);
    return 2;
  }
  Credentials credentials;
  credentials.mutual_tls = !o.client_ca.empty();
  for (auto [option, file, token] :
       {std::tuple{"--token-file", &o.token_file, &credentials.user_token},
        std::tuple{"--node-token-file", &o.node_token_file, &credentials.node_token}}) {
    if (file->empty()) continue;
    auto t = load_token(*file);
    if (!t) {
      spdlog::error("{}: {}", option, t.error().message);
      return 2;
    }
    *token = *t;
  }
  if (credentials.user_token && credentials.user_token == credentials.node_token) {
    spdlog::error(
        "--token-file and --node-token-file hold the same token: a node could act as a "
        "user");
    return 2;
  }
  if (credentials.mutual_tls && !credentials.user_token) {
    spdlog::warn(
        "mutual TLS without --token-file: the user routes answer 403 (a node's "
        "certificate is no user's credential)");
  }
  auto store = Store::open(o.state_dir, o.cluster);
  if (!store) {
    spdlog::error("{}", store.error().message);
    return 1;
  }
  std::optional<AccessTokens> tokens;
  StorageAccounts accounts;
  if (!load_resource_manager(o, tokens, accounts)) return 2;
  if (tokens) credentials.access_tokens = &*tokens;
  const FileLinks file_links;
  auto server = make_server(o);
  if (!server) {
    spdlog::error("{}", server.error().message);
    return 1;
  }
  if (o.insecure_http) {
    spdlog::warn("plain http (--insecure-http): requests and job secrets travel unencrypted");
  }
  ServerContext ctx{**store,     o.cluster,      o.node_root,      {o.poll_wait_seconds, 0},
                    credentials, o.file_servers, !o.insecure_http, &accounts,
                    &file_links, o.public_url};
  configure_server(**server, ctx);

  // Signals are taken by one thread; every other thread (httplib's workers) starts after this.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);

  int port = o.port;
  if (port == 0) {
    port = (*server)->bind_to_any_port(o.host);
  } else if (!(*server)->bind_to_port(o.host, port)) {
    port = -1;
  }
  if (port < 0) {
    spdlog::error("cannot listen on {}", o.listen);
    return 1;
  }
  widen_backlog(**server);
  spdlog::info("listening on {}:{} ({}{}), state in {}", o.host, port,
               o.insecure_http ? "http" : "https", o.client_ca.empty() ? "" : ", mutual TLS",
               o.state_dir);
  std::thread signals([&] {
    int sig = 0;
    sigwait(&set, &sig);
    spdlog::info("signal {}: stopping", sig);
    (*store)->shutdown();
    (*server)->stop();
  });
  std::thread sweeper([&] { sweep_lost_nodes(**store, o.node_lost_seconds * 1000LL); });
  const bool served = (*server)->listen_after_bind();
  ::kill(::getpid(), SIGTERM);  // ends the signal thread if listening failed on its own
  signals.join();
  sweeper.join();
  return served ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_default_logger(spdlog::stderr_logger_mt("batchai-controlplane"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  Options options;
  if (auto exit_code = parse_options(argc, argv, options)) return *exit_code;
  try {
    return run(options);
  } catch (const std::exception& e) {
    spdlog::error("internal error: {}", e.what());
    return 1;
  }
}
