#include "doctor/dl_library.h"

#include <link.h>

namespace kerosene::doctor {

OpenedLibrary open_library(const std::string& soname) {
  OpenedLibrary out;
  dlerror();  // clear a stale error, so the one read below is this call's
  out.handle = dlopen(soname.c_str(), RTLD_LAZY | RTLD_LOCAL);
  if (!out.handle) {
    const char* error = dlerror();
    out.error = error ? error : soname + ": dlopen failed without a message";
    return out;
  }
  link_map* map = nullptr;
  out.path = dlinfo(out.handle, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name ? map->l_name : soname;
  return out;
}

}  // namespace kerosene::doctor
