package dpkg

import "testing"

func TestBuildTools(t *testing.T) {
	for name, want := range map[string]bool{
		"build-essential":             true,
		"gcc":                         true,
		"gcc-12":                      true,
		"gcc-14-x86-64-linux-gnu":     true,
		"gcc-x86-64-linux-gnu":        true,
		"gcc-arm-linux-gnueabihf":     true,
		"g++":                         true,
		"g++-12":                      true,
		"cpp":                         true,
		"cpp-12":                      true,
		"gfortran-12":                 true,
		"clang-16":                    true,
		"make":                        true,
		"binutils":                    true,
		"binutils-common":             true,
		"binutils-x86-64-linux-gnu":   true,
		"libc6-dev":                   true,
		"linux-libc-dev":              true,
		"libssl-dev":                  true,
		"python3-dev":                 true,
		"libc-dev-bin":                true,
		"linux-headers-6.1.0-9-amd64": true,
		"git":                         true,
		"git-man":                     true,
		"autoconf":                    true,
		"automake":                    true,
		"automake-1.16":               true,
		"libtool":                     true,
		"pkg-config":                  true,
		"pkgconf":                     true,
		"dpkg-dev":                    true,
		"debhelper":                   true,
		"dh-python":                   true,
		"patch":                       true,
		"bison":                       true,
		"flex":                        true,
		"cmake":                       true,
		"ninja-build":                 true,
		"golang-1.19-go":              true,
		"rustc":                       true,

		// what programs run with
		"gcc-12-base":        false,
		"libgcc-s1":          false,
		"libstdc++6":         false,
		"cpp-12-doc":         false,
		"libbinutils":        false, // autoremoved with binutils instead
		"libisl23":           false,
		"libc6":              false,
		"libssl3":            false,
		"python3":            false,
		"perl":               false,
		"udev":               false,
		"libudev1":           false,
		"gettext-base":       false,
		"git-lfs":            false,
		"dpkg":               false,
		"make-doc":           false,
		"clang-format-16":    false,
		"golang-1.19-doc":    false,
		"ca-certificates":    false,
		"libdevmapper1.02.1": false,
	} {
		if got := BuildTools(name); got != want {
			t.Errorf("BuildTools(%q) = %v, want %v", name, got, want)
		}
	}
}
