/*
 * multi_worker_mnist: the Keras MNIST MLP trained by several processes (workers) with
 * MultiWorkerMirroredStrategy. Start it with mpirun (or srun):
 *
 *   mpirun -np 2 ./build/example_multi_worker_mnist            # two workers on this machine
 *   mpirun -np 4 -H node1:2,node2:2 ./build/example_multi_worker_mnist
 *   srun -N 2 --ntasks-per-node 1 ./build/example_multi_worker_mnist
 *
 * (as root, OpenMPI also wants --allow-run-as-root). Each worker trains on its own shard of the
 * data; batch_size is the global batch; gradients are summed across workers (MPI on CPUs, NCCL
 * on GPUs). Only worker 0 prints. A worker that dies or hangs makes the others stop with an
 * error naming it within KEROSENE_COLLECTIVE_TIMEOUT seconds (default 60).
 */
#include <kerosene/kerosene.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>

namespace ks = kerosene;

int main(int argc, char** argv) {
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 1;
  try {
    ks::distribute::MultiWorkerMirroredStrategy strategy;
    if (strategy.is_chief()) {
      std::printf("%d workers, %d replicas in sync (%s)\n", strategy.num_workers(), strategy.num_replicas_in_sync(),
                  strategy.reduction().c_str());
    }
    auto [train, test] = ks::datasets::mnist::load_data();
    auto x_train = train.x.to_float() / 255.0f, x_test = test.x.to_float() / 255.0f;

    std::optional<ks::Sequential> model;
    {
      auto scope = strategy.scope();
      model.emplace(ks::Sequential({ks::layers::Input({28, 28}), ks::layers::Flatten(),
                                    ks::layers::Dense(128, "relu"), ks::layers::Dense(10, "softmax")}));
      model->compile(ks::optimizers::Adam(), "sparse_categorical_crossentropy", {"accuracy"});
    }
    const int global_batch = 64 * strategy.num_workers();
    model->fit(x_train, train.y, {.batch_size = global_batch, .epochs = epochs});
    auto result = model->evaluate(x_test, test.y, {.batch_size = global_batch});
    if (strategy.is_chief()) std::printf("Test accuracy: %.4f\n", result["accuracy"]);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    ks::distribute::abort_all_workers(1);
  }
}
