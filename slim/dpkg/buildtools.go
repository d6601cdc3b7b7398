package dpkg

import (
	"regexp"
	"strings"
)

// buildTools are the Debian packages BuildTools matches by exact name.
var buildTools = map[string]bool{
	// the build-essential set and the packaging tools around it
	"build-essential": true, "dpkg-dev": true, "debhelper": true, "fakeroot": true,
	"make": true, "make-guile": true, "patch": true,
	// autotools
	"autoconf": true, "autoconf-archive": true, "automake": true, "autotools-dev": true,
	"autopoint": true, "libtool": true, "libtool-bin": true, "m4": true,
	"gettext": true, "intltool": true,
	// other build systems and generators
	"pkg-config": true, "pkgconf": true, "pkgconf-bin": true,
	"cmake": true, "cmake-data": true, "ninja-build": true, "meson": true, "scons": true,
	"bison": true, "byacc": true, "flex": true, "gperf": true, "swig": true, "ccache": true,
	// compilers of other languages
	"golang": true, "golang-go": true, "golang-src": true, "rustc": true, "cargo": true,
	// version control used to fetch sources
	"git": true, "git-man": true,
}

// compilerRE matches the GCC and Clang drivers: gcc, gcc-12,
// gcc-12-x86-64-linux-gnu, gcc-x86-64-linux-gnu, and the same for g++, cpp,
// gfortran...; not gcc-12-base nor libgcc-s1, which programs run with.
var compilerRE = regexp.MustCompile(`^(gcc|g\+\+|cpp|gfortran|gccgo|gdc|gobjc|gobjc\+\+|gm2|clang|lld)(-[0-9.]+)?(-[a-z0-9_-]+-linux-gnu[a-z0-9]*)?$`)

// goRE matches the versioned Go toolchains: golang-1.19-go, golang-1.19-src.
var goRE = regexp.MustCompile(`^golang-[0-9.]+-(go|src)$`)

// BuildTools is the default matcher of the "buildtools" rule set: the
// packages that build software and that a program does not need to run.
// It matches:
//
//   - build-essential, dpkg-dev, debhelper and dh-*, fakeroot, make,
//     make-guile, patch;
//   - the compiler drivers gcc, g++, cpp, gfortran, gccgo, gdc, gobjc,
//     gobjc++, gm2, clang and lld, plain, versioned (gcc-12) or for a
//     target (gcc-12-x86-64-linux-gnu, cpp-x86-64-linux-gnu), but not
//     gcc-12-base;
//   - binutils and binutils-*;
//   - every *-dev and *-dev-bin package (headers, static libraries,
//     pkg-config files: libc6-dev, linux-libc-dev, libssl-dev,
//     python3-dev, libc-dev-bin) and linux-headers-*;
//   - autoconf, autoconf-archive, automake and automake-*, autotools-dev,
//     autopoint, libtool, libtool-bin, m4, gettext (not gettext-base,
//     which has envsubst), intltool;
//   - pkg-config, pkgconf, pkgconf-bin, cmake, cmake-data, ninja-build,
//     meson, scons, bison, byacc, flex, gperf, swig, ccache;
//   - the Go and Rust toolchains: golang, golang-go, golang-src,
//     golang-N-go, golang-N-src, rustc, cargo;
//   - git and git-man.
//
// The libraries these pull in (libisl23, libmpc3, libbinutils...) are not
// matched: the autoremove step takes them once nothing needs them.
func BuildTools(name string) bool {
	switch {
	case buildTools[name],
		compilerRE.MatchString(name),
		goRE.MatchString(name),
		name == "binutils", strings.HasPrefix(name, "binutils-"),
		strings.HasSuffix(name, "-dev"), strings.HasSuffix(name, "-dev-bin"),
		strings.HasPrefix(name, "linux-headers-"),
		strings.HasPrefix(name, "automake-"),
		strings.HasPrefix(name, "dh-"):
		return true
	}
	return false
}
