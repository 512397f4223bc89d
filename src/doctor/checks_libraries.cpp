// Checks of the CUDA libraries kerosene's plugin uses: cuBLAS and cuDNN (required), NCCL (only
// for training on several GPUs), each loaded by the doctor and compared with the build's version.
#include "doctor/checks.h"

namespace kerosene::doctor::checks {
namespace {

struct LibraryRule {
  const char* name;
  const LibraryFacts& library;
  Version built;
  bool required;          ///< missing fails (else warns)
  bool major_must_match;  ///< another major fails (else warns)
  std::string install;    ///< how to get it
};

// What to compare a library with: the build's version, else (a plugin from another build, named
// by KEROSENE_CUDA_PLUGIN) the plugin's.
Version expected(const Facts& facts, const Version& build, const Version& plugin) {
  return build.known() || !facts.plugin.loaded ? build : plugin;
}

Check library_check(const Facts& facts, const LibraryRule& rule) {
  const LibraryFacts& lib = rule.library;
  const std::string name = rule.name;
  const bool used = facts.build.with_cuda || facts.plugin.loaded;
  if (!lib.loaded) {
    if (!used) {
      return skip(rule.name, "not found (" + lib.error + "); this build has no CUDA plugin that would use it");
    }
    if (!rule.required) {
      return warn(rule.name, lib.error + "; only training on several GPUs needs " + name, rule.install);
    }
    return fail(rule.name, lib.error, name + " cannot be loaded (" + lib.error + ")", rule.install);
  }
  std::string detail = name + " " + lib.version.text() + " at " + lib.path;
  if (!rule.built.known()) {
    return pass(rule.name, used ? detail : detail + "; this build has no CUDA plugin that would use it");
  }
  detail += " (kerosene was built with " + rule.built.text() + ")";
  if (!lib.version.known()) return warn(rule.name, detail + ": " + lib.error, rule.install);
  if (lib.version.major != rule.built.major) {
    const std::string mismatch = name + " " + lib.version.text() + " is loaded but kerosene was built with " + name +
                                 " " + rule.built.text() + ", another major version";
    if (rule.major_must_match) {
      return fail(rule.name, detail + ": the major versions must match", mismatch, rule.install);
    }
    return warn(rule.name, detail + ": another major version", rule.install);
  }
  if (lib.version < rule.built) {
    return warn(rule.name, detail + ": older than the build's, so functions kerosene uses may be missing",
                "upgrade to " + name + " " + rule.built.text() + " or newer; " + rule.install);
  }
  return pass(rule.name, detail);
}

std::string library_path_hint() { return ", or add the directory that holds it to LD_LIBRARY_PATH"; }

}  // namespace

Check cublas(const Facts& facts) {
  const Version built = facts.build.cublas.known() ? facts.build.cublas : facts.plugin.built_cublas;
  const std::string major = built.known() ? std::to_string(built.major) : "<CUDA major>";
  std::string install = "install cuBLAS ";
  install += major + " (it comes with the CUDA toolkit, or as the libcublas-" + major + "-<minor> package)";
  return library_check(facts, {kCublas, facts.cublas, expected(facts, facts.build.cublas, facts.plugin.built_cublas),
                               true, true, install + library_path_hint()});
}

Check cudnn(const Facts& facts) {
  const Version built = expected(facts, facts.build.cudnn, facts.plugin.built_cudnn);
  const std::string major = built.known() ? std::to_string(built.major) : "9";
  const std::string cuda = facts.build.cuda.known() ? std::to_string(facts.build.cuda.major) : "<CUDA major>";
  return library_check(
      facts, {kCudnn, facts.cudnn, built, true, true,
              "install cuDNN " + major + " for CUDA " + cuda + " (Debian/Ubuntu: apt install libcudnn" + major +
                  "-cuda-" + cuda + ")" + library_path_hint()});
}

Check nccl(const Facts& facts) {
  return library_check(facts, {kNccl, facts.nccl, facts.build.nccl, false, false,
                               "install NCCL 2 (Debian/Ubuntu: apt install libnccl2)" + library_path_hint()});
}

}  // namespace kerosene::doctor::checks
