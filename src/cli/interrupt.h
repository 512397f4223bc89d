// Ctrl-C during `kerosene train`: the first SIGINT stops training after the current batch, so
// the progress line is finished and the run says where it stopped; a second one ends the
// process at once, as usual.
#pragma once

#include <string>

#include "kerosene/callbacks.h"

namespace kerosene::cli {

/// Installs the SIGINT handler for its lifetime (restoring the previous one after) and, as a
/// callback given to fit, stops training at the end of the batch during which SIGINT came.
class StopOnInterrupt : public Callback {
 public:
  StopOnInterrupt();
  ~StopOnInterrupt() override;
  StopOnInterrupt(const StopOnInterrupt&) = delete;
  StopOnInterrupt& operator=(const StopOnInterrupt&) = delete;

  void on_epoch_begin(int epoch, Logs& logs) override;
  void on_train_batch_end(int batch, Logs& logs) override;

  /// Whether SIGINT came while this object was alive.
  bool interrupted() const;
  /// "epoch 2/5, batch 120/1875": the last batch that was trained.
  std::string where() const;

 private:
  int epoch_ = 0, batch_ = -1;
};

}  // namespace kerosene::cli
