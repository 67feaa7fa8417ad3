#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "commands.h"
#include "gpu_setup.h"
#include "http_server.h"
#include "r1/base/log.h"
#include "r1/kernels/cpu_features.h"
#include "runner_state.h"

namespace r1::runner {
namespace {

status load_into(runner_state& st, const serve_options& o, tensor_type kv_type) {
  const auto t0 = std::chrono::steady_clock::now();
  R1_ASSIGN_OR_RETURN(st.model, engine::model::load(o.models, [&](double p) { st.progress.store(p * 0.9); }));
  engine::context_params cp;
  cp.n_ctx = o.ctx;
  cp.n_seq = o.parallel;
  cp.kv_type = kv_type;
  cp.n_threads = o.threads;
  cp.n_batch = o.batch;
  cp.huge_pages = o.huge_pages != "off";
  if (cp.n_ctx <= 0) cp.n_ctx = static_cast<int32_t>(st.model->hparams().n_ctx_train);
  R1_ASSIGN_OR_RETURN(gpu_choice gpus, plan_gpus(*st.model, o, kv_type, cp.n_ctx));
  st.backends = std::move(gpus.registry);
  cp.gpus = gpus.offload;
  if (cp.gpus.empty()) {
    // AMX copies only for a model wholly on the CPU (GPU layers never run the AMX GEMM).
    R1_ASSIGN_OR_RETURN(engine::repack_options ro, make_repack_options(o.repack, o.repack_budget, o.huge_pages, o.threads));
    R1_RETURN_IF_ERROR(st.model->repack_for_amx(ro).error());
  }
  R1_LOG(info, "runner") << "memory plan:\n" << gpus.plan.to_text();
  R1_ASSIGN_OR_RETURN(st.ctx, engine::context::create(*st.model, cp));
  R1_ASSIGN_OR_RETURN(st.prompts, prompt_builder::create(*st.model));
  st.loop = std::make_unique<inference_loop>(*st.ctx);
  st.loop->start();

  const engine::model_hparams& hp = st.model->hparams();
  const engine::model_info& mi = st.model->info();
  runner_protocol::load_info& info = st.info;
  info.architecture = hp.architecture;
  info.model_name = mi.name;
  info.file_type = mi.file_type;
  info.parameter_count = mi.parameter_count;
  info.n_ctx = static_cast<uint32_t>(st.ctx->params().n_ctx);
  info.n_ctx_train = hp.n_ctx_train;
  info.n_parallel = static_cast<uint32_t>(o.parallel);
  info.n_vocab = hp.n_vocab;
  info.n_embd = hp.n_embd;
  info.n_layer = hp.n_layer;
  info.kv_type = o.kv_type;
  info.threads = static_cast<uint32_t>(st.ctx->n_threads());
  info.backend = "cpu";
  for (const engine::device_usage& d : st.ctx->devices()) {
    info.backend = d.backend;
    info.devices.push_back({d.backend, d.index, d.name, d.first_layer, d.n_layers, d.output, d.bytes});
    info.vram_bytes += d.bytes;
    info.n_gpu_layers += d.n_layers;
  }
  info.kernel_path = kernels::kernel_path_name();
  info.weights_bytes = mi.weights_bytes;
  info.kv_bytes = st.ctx->kv().bytes();
  // The AMX weight copies are host memory the runner holds beside the mapping: counted with
  // the scratch buffers, so the daemon's size and memory budget see them, less the originals
  // they replace (Q8_0: released from the resident set).
  const engine::repack_report& rp = st.model->repack();
  info.scratch_bytes = st.ctx->scratch_bytes() + (rp.bytes - std::min(rp.bytes, rp.released_bytes));
  info.load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  info.has_chat_template = st.prompts->has_template();
  info.thinking = st.prompts->template_thinks();
  return ok_status();
}

}  // namespace

int run_serve(const serve_options& o) {
  if (!o.socket.empty()) {
    std::fprintf(stderr,
                 "r1-runner: --socket is not supported: the cpp-httplib of this build (0.11.4) listens on TCP "
                 "only; use --port 0\n");
    return 2;
  }
  auto kv_type = parse_kv_type(o.kv_type);
  if (!kv_type.ok()) {
    std::fprintf(stderr, "r1-runner: %s\n", kv_type.error().message().c_str());
    return 2;
  }
  // SIGTERM/SIGINT are taken by a dedicated thread with sigwait; every other thread
  // (started below) inherits the blocked mask. A vanished client must not kill us.
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  runner_state st;
  http_server server(st);
  auto port = server.bind(o.host, o.port);
  if (!port.ok()) {
    std::fprintf(stderr, "r1-runner: %s\n", port.error().message().c_str());
    return 1;
  }
  std::printf("listening on %s:%d\n", o.host.c_str(), *port);
  std::fflush(stdout);
  R1_LOG(info, "runner") << "listening on " << o.host << ":" << *port << ", loading " << o.models.front();

  std::thread loader([&] {
    status s = load_into(st, o, *kv_type);
    if (s.ok()) {
      st.progress.store(1.0);
      st.phase.store(runner_phase::ready, std::memory_order_release);
      R1_LOG(info, "runner") << "ready: " << st.info.architecture << ", ctx " << st.info.n_ctx << " x "
                             << st.info.n_parallel << ", kv " << st.info.kv_type << " (" << (st.info.kv_bytes >> 20)
                             << " MiB), " << st.info.threads << " threads, " << st.info.kernel_path;
    } else {
      st.error = s.to_string();
      st.phase.store(runner_phase::error, std::memory_order_release);
      R1_LOG(error, "runner") << "load failed: " << st.error;
    }
  });

  std::atomic<bool> exiting{false};
  std::thread signals([&] {
    const timespec tick{0, 200 * 1000 * 1000};
    while (!exiting.load()) {
      const int sig = sigtimedwait(&sigs, nullptr, &tick);
      if (sig == SIGTERM || sig == SIGINT) {
        R1_LOG(info, "runner") << "signal " << sig << ": shutting down";
        break;
      }
    }
    // Finish every request (cancelled ones get a final chunk), then stop listening.
    loader.join();
    if (st.loop) st.loop->stop();
    // The listener drops unsent chunks once stopped: let open streams write their last one.
    for (int i = 0; i < 250 && st.open_streams.load() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    // stop() only acts on a running listener: repeat until listen() has returned.
    while (!exiting.load()) {
      server.stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });

  const bool listened = server.listen();
  exiting.store(true);
  signals.join();
  if (st.loop) st.loop->stop();
  R1_LOG(info, "runner") << "stopped";
  return listened ? 0 : 1;
}

}  // namespace r1::runner
