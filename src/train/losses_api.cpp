// kerosene::losses: loss objects as the specs compile parses (train/loss_catalog.h).
#include "kerosene/losses.h"

#include "train/loss_catalog.h"

namespace kerosene::losses {
namespace {

std::string object(const std::string& name, Reduction reduction, const std::string& options = "") {
  return name + options + ":reduction=" + (reduction == Reduction::sum ? "sum" : "sum_over_batch_size");
}

std::string crossentropy(const char* name, const CrossentropyOptions& o) {
  std::string options = o.from_logits ? ":from_logits" : "";
  options += ":label_smoothing=" + train::shortest(o.label_smoothing);
  return object(name, o.reduction, options);
}

}  // namespace

std::string SparseCategoricalCrossentropy(bool from_logits, Reduction reduction) {
  return object("sparse_categorical_crossentropy", reduction, from_logits ? ":from_logits" : "");
}
std::string CategoricalCrossentropy(const CrossentropyOptions& options) {
  return crossentropy("categorical_crossentropy", options);
}
std::string BinaryCrossentropy(const CrossentropyOptions& options) { return crossentropy("binary_crossentropy", options); }
std::string MeanSquaredError(Reduction reduction) { return object("mean_squared_error", reduction); }
std::string MeanAbsoluteError(Reduction reduction) { return object("mean_absolute_error", reduction); }
std::string Huber(float delta, Reduction reduction) {
  return object("huber", reduction, ":delta=" + train::shortest(delta));
}
std::string LogCosh(Reduction reduction) { return object("log_cosh", reduction); }
std::string MeanSquaredLogarithmicError(Reduction reduction) {
  return object("mean_squared_logarithmic_error", reduction);
}
std::string KLDivergence(Reduction reduction) { return object("kl_divergence", reduction); }
std::string Poisson(Reduction reduction) { return object("poisson", reduction); }
std::string Hinge(Reduction reduction) { return object("hinge", reduction); }
std::string SquaredHinge(Reduction reduction) { return object("squared_hinge", reduction); }
std::string CosineSimilarity(Reduction reduction) { return object("cosine_similarity", reduction); }

}  // namespace kerosene::losses
