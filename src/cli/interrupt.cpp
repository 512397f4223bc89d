#include "cli/interrupt.h"

#include <csignal>

#include "kerosene/sequential.h"
#include "train/model_state.h"

namespace kerosene::cli {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;
struct sigaction g_previous {};

extern "C" void on_sigint(int) { g_interrupted = 1; }

}  // namespace

StopOnInterrupt::StopOnInterrupt() {
  g_interrupted = 0;
  struct sigaction action {};
  action.sa_handler = on_sigint;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;  // a second Ctrl-C takes the default action: the process ends
  sigaction(SIGINT, &action, &g_previous);
}

StopOnInterrupt::~StopOnInterrupt() { sigaction(SIGINT, &g_previous, nullptr); }

void StopOnInterrupt::on_epoch_begin(int epoch, Logs&) {
  epoch_ = epoch;
  batch_ = -1;
}

void StopOnInterrupt::on_train_batch_end(int batch, Logs&) {
  batch_ = batch;
  if (g_interrupted != 0 && model() != nullptr) {
    model()->stop_training = true;
    model()->state().interrupted = true;  // BackupAndRestore keeps its backup for the next run
  }
}

bool StopOnInterrupt::interrupted() const { return g_interrupted != 0; }

std::string StopOnInterrupt::where() const {
  // Appended piece by piece: GCC 12 misreads "literal" + std::string&& as an overlapping copy.
  std::string text = "epoch ";
  text += std::to_string(epoch_ + 1);
  text += '/';
  text += std::to_string(params().epochs);
  text += ", batch ";
  text += std::to_string(batch_ + 1);
  if (params().steps > 0) {
    text += '/';
    text += std::to_string(params().steps);
  }
  return text;
}

}  // namespace kerosene::cli
