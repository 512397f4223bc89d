// The replicas of a mirrored model and the steps that drive them: one replica per device of
// the strategy, replica 0 being the model the user holds; one thread per replica (the
// device's worker thread); gradients summed across replicas by the strategy's collective.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "distribute/strategy_state.h"
#include "train/batch_buffers.h"
#include "train/distribution.h"
#include "train/model_state.h"

namespace kerosene::distribute {

class MirroredModel : public train::Replicas {
 public:
  MirroredModel(std::shared_ptr<detail::StrategyState> strategy, train::ModelState& primary);
  ~MirroredModel() override;

  /// Builds the other replicas on first use (the primary must be built and compiled), then
  /// copies replica 0's weights to every replica (and worker 0's to every worker), so all start
  /// equal even after set_weights.
  void prepare() override;
  void copy_optimizer_state() override;

  /// rows[0..n) are split across the replicas as evenly as possible (n may be 0).
  void train_step(const std::vector<Tensor>& xs, const std::vector<Tensor>& ys, const int64_t* rows, int64_t n,
                  int64_t global_batch, train::StepTotals& totals) override;
  void test_step(const std::vector<Tensor>& xs, const std::vector<Tensor>& ys, const int64_t* rows, int64_t n,
                 train::StepTotals& totals) override;
  void predict(const std::vector<Tensor>& xs, const int64_t* rows, int64_t n, const std::vector<float*>& outs) override;

  int replicas() const override { return static_cast<int>(strategy_->devices.size()); }
  train::ModelState& replica_model(int r) override { return replica(r); }

 private:
  train::ModelState& replica(int r) { return r == 0 ? primary_ : *others_[static_cast<size_t>(r) - 1]; }
  /// Runs f(r) on every replica's thread, concurrently; rethrows the first failure (after the
  /// others have stopped: a failing replica aborts the collective so nobody waits for it).
  void run(const std::function<void(int)>& f);
  /// Replica r's rows of a batch of n: [begin, end).
  std::pair<int64_t, int64_t> share(int r, int64_t n) const;
  void sum_across_workers(std::vector<train::StepTotals>& per_replica, train::StepTotals& totals);
  /// Gives every replica's layers (each node's, shared layers' later calls too) their way to sum
  /// across replicas (synchronized BatchNormalization), active during train_step only.
  void connect_cross_replica_sums();

  std::shared_ptr<detail::StrategyState> strategy_;
  train::ModelState& primary_;
  std::vector<std::unique_ptr<train::ModelState>> others_;
  std::vector<train::BatchBuffers> buffers_;
  const void* compiled_with_ = nullptr;  // the primary's optimizer the replicas copied
  std::atomic<bool> in_train_step_{false};
};

}  // namespace kerosene::distribute
