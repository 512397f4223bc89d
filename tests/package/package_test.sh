#!/usr/bin/env bash
# A program of a user's own (tests/package/consumer, the README's example) built against kerosene
# three ways, and run: an installed copy in a temporary prefix (find_package), pkg-config, and
# the source tree (add_subdirectory; there kerosene is built again, as a shared library without
# MPI or CUDA and at -O0, to keep this test short), and the Debian packages of `cpack -G DEB`
# unpacked into a throw-away root (when dpkg-dev is there). Also: the README's copies of the consumer's
# files match them, the installed package names no path into the build tree, and a kerosene
# without MPI says so when asked for multi-worker training.
# Usage (ctest runs it as package.consumer): package_test.sh SOURCE_DIR BUILD_DIR [CMAKE]
set -euo pipefail
src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
cmake=$(command -v "${3:-cmake}")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kerosene-package.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
consumer="$src/tests/package/consumer"
jobs=$(nproc)

step() { echo "== [${SECONDS}s] $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
quiet() {  # runs a command, showing its output only when it fails
  local log="$tmp/log.$RANDOM"
  "$@" > "$log" 2>&1 || { cat "$log" >&2; fail "$*"; }
}
check_app() {  # the consumer trains and prints "kerosene 0.1.0: loss a -> b, accuracy c"
  local out err
  out=$("$@" 2>"$tmp/app.err") || fail "$1 failed: $out $(cat "$tmp/app.err")"
  err=$(cat "$tmp/app.err")
  echo "   $out"
  # stderr: only the line every fit logs about where it trains (whatever verbose is)
  [[ -z "$err" || "$err" =~ ^kerosene:\ Training\ will\ run\ on\ [^$'\n']*$ ]] ||
    fail "unexpected stderr from $1: $err"
  [[ "$out" =~ ^kerosene\ [0-9]+\.[0-9]+\.[0-9]+:\ loss\ [0-9.]+\ -\>\ [0-9.]+,\ accuracy ]] ||
    fail "unexpected output from $1: $out"
}

step "README.md shows tests/package/consumer's files verbatim"
for f in CMakeLists.txt main.cpp; do
  # The fenced block that follows the line "<!-- tests/package/consumer/$f -->".
  awk -v marker="<!-- tests/package/consumer/$f -->" '
    $0 == marker { found = 1; next }
    found && /^```/ { if (inside) exit; inside = 1; next }
    found && inside { print }' "$src/README.md" > "$tmp/readme.$f"
  [ -s "$tmp/readme.$f" ] || fail "README.md has no block after <!-- tests/package/consumer/$f -->"
  diff -u "$consumer/$f" "$tmp/readme.$f" || fail "README.md's copy of tests/package/consumer/$f differs from the file"
done

step "cmake --install into $tmp/prefix"
prefix="$tmp/prefix"
quiet "$cmake" --install "$build" --prefix "$prefix"
[ -f "$prefix/include/kerosene/kerosene.h" ] || fail "headers not installed"
config=$(find "$prefix" -name keroseneConfig.cmake)
[ -n "$config" ] && [ -f "$(dirname "$config")/keroseneConfigVersion.cmake" ] || fail "no keroseneConfig.cmake/keroseneConfigVersion.cmake"
pc=$(find "$prefix" -name kerosene.pc)
[ -n "$pc" ] || fail "no kerosene.pc"
find "$prefix" -name 'libkerosene.*' | grep -q . || fail "no libkerosene installed"
if grep -rlF --include='*.cmake' --include='*.pc' -- "$build" "$prefix"; then
  fail "the installed CMake package or kerosene.pc names the build tree"
fi
plugin=$(find "$prefix" -name libkerosene_cuda.so)
if [ -x "$prefix/bin/kerosene" ]; then
  out=$("$prefix/bin/kerosene" --version) || fail "installed kerosene --version: $out"
  echo "$out" | sed 's/^/   /'
  if [ -n "$plugin" ]; then
    # The installed tool looks for its plugin in the prefix, never in the build tree.
    out=$(env -u KEROSENE_CUDA_PLUGIN "$prefix/bin/kerosene" doctor 2>&1 || true)
    echo "$out" | grep -qF "$plugin" || fail "the installed kerosene doctor does not name $plugin: $out"
    if echo "$out" | grep -qF "$build/"; then fail "the installed kerosene looked into the build tree: $out"; fi
  fi
fi

step "find_package(kerosene) consumer"
quiet "$cmake" -S "$consumer" -B "$tmp/find" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix"
quiet "$cmake" --build "$tmp/find"
check_app "$tmp/find/my_app"
if [ -n "${plugin:-}" ]; then
  # A static libkerosene: the program finds the installed plugin through its RUNPATH.
  objdump -p "$tmp/find/my_app" | grep -E "R(UN)?PATH" | grep -qF "$(dirname "$plugin")" ||
    fail "my_app's RUNPATH lacks $(dirname "$plugin"): $(objdump -p "$tmp/find/my_app" | grep -E 'R(UN)?PATH')"
fi

step "pkg-config consumer: g++ main.cpp \$(pkg-config --cflags --libs kerosene)"
flags=$(PKG_CONFIG_PATH="$(dirname "$pc")" pkg-config --cflags --libs kerosene) || fail "pkg-config kerosene"
echo "   $flags"
# shellcheck disable=SC2086
quiet g++ -O1 "$consumer/main.cpp" -o "$tmp/my_app_pc" $flags
check_app "$tmp/my_app_pc"

cpack="$(dirname "$cmake")/cpack"
if [ -x "$cpack" ] && command -v dpkg-shlibdeps > /dev/null && [ -f "$build/CPackConfig.cmake" ]; then
  step "cpack -G DEB; the packages unpacked into a throw-away root; the consumer built against it"
  quiet "$cpack" -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/deb"
  for deb in "$tmp"/deb/*.deb; do
    echo "   $(basename "$deb"): $(dpkg-deb -f "$deb" Depends)"
    dpkg -x "$deb" "$tmp/root"
  done
  "$tmp/root/usr/bin/kerosene" --version > /dev/null || fail "the packaged kerosene --version failed"
  quiet "$cmake" -S "$consumer" -B "$tmp/deb-consumer" -G Ninja -DCMAKE_PREFIX_PATH="$tmp/root/usr"
  quiet "$cmake" --build "$tmp/deb-consumer"
  check_app "$tmp/deb-consumer/my_app"
fi

step "add_subdirectory consumer (kerosene built again: shared, no MPI, no CUDA, -O0; library only)"
sub="$tmp/subdir"
quiet "$cmake" -S "$src/tests/package/no_mpi" -B "$sub" -G Ninja -DKEROSENE_SOURCE_DIR="$src" \
  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O0 -DKEROSENE_WITH_CUDA=OFF -DKEROSENE_WITH_MPI=OFF \
  -DBUILD_SHARED_LIBS=ON
for package in GTest_DIR CLI11_DIR MPI_CXX_COMPILER; do
  if grep -q "^$package:[A-Z]*=/" "$sub/CMakeCache.txt"; then
    fail "kerosene as a subproject looked for $package (tests, tool and MPI should be off)"
  fi
done
quiet "$cmake" --build "$sub" --target my_app no_mpi_check -j "$jobs"
lib=$(find "$sub" -name 'libkerosene.so.*' -type f | head -1)
[ -n "$lib" ] || fail "no versioned libkerosene.so.* in the add_subdirectory build"
soname=$(objdump -p "$lib" | awk '$1 == "SONAME" { print $2 }')
echo "   $(basename "$lib"), soname $soname"
[[ "$soname" =~ ^libkerosene\.so\.[0-9]+\.[0-9]+$ ]] || fail "unexpected soname $soname"
check_app "$sub/consumer/my_app"
out=$("$sub/no_mpi_check" 2>&1) || fail "no_mpi_check: $out"
echo "$out" | sed 's/^/   /'
echo "$out" | grep -q "is_mpi_build: 0" || fail "build_info says MPI in a build without it"
echo "$out" | grep -q "RuntimeError: .*this build of kerosene has no MPI.*-DKEROSENE_WITH_MPI=ON" ||
  fail "the error for multi-worker training without MPI does not say why and how"

step "done"
