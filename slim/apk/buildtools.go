package apk

import (
	"regexp"
	"strings"
)

var buildTools = map[string]bool{
	"build-base": true, "alpine-sdk": true, "abuild": true,
	"gcc": true, "g++": true, "gfortran": true, "clang": true, "lld": true,
	"musl-dev": true, "libc-dev": true, "fortify-headers": true, "linux-headers": true,
	"make": true, "patch": true,
	"binutils": true, "binutils-gold": true,
	"autoconf": true, "automake": true, "libtool": true, "m4": true,
	"pkgconf": true, "pkgconfig": true,
	"cmake": true, "samurai": true, "ninja": true, "meson": true,
	"bison": true, "flex": true, "gperf": true, "swig": true, "ccache": true,
	"go": true, "rust": true, "cargo": true,
	"git": true,
}

// clangRE matches the versioned Clang packages: clang16, clang17.
var clangRE = regexp.MustCompile(`^clang[0-9]+$`)

// BuildTools is the default matcher of the "buildtools" rule set for apk:
//
//   - build-base, alpine-sdk, abuild;
//   - gcc, g++, gfortran, clang, clangN, lld (not libgcc nor libstdc++,
//     which programs run with);
//   - musl-dev, libc-dev, fortify-headers, linux-headers and every *-dev
//     package;
//   - make, patch, binutils, binutils-gold, autoconf, automake, libtool,
//     m4, pkgconf, pkgconfig, cmake, samurai, ninja, meson, bison, flex,
//     gperf, swig, ccache;
//   - go, rust, cargo, git;
//   - the virtual packages of `apk add --virtual` whose name starts with
//     ".build" or ".fetch" (.build-deps, .build-dependencies, .fetch-deps).
//
// The libraries they pull in (gmp, mpc1, isl26...) go with them when
// nothing else needs them.
func BuildTools(name string) bool {
	return buildTools[name] ||
		clangRE.MatchString(name) ||
		strings.HasSuffix(name, "-dev") ||
		strings.HasPrefix(name, ".build") ||
		strings.HasPrefix(name, ".fetch")
}
