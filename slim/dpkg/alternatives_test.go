package dpkg

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestAlternatives(t *testing.T) {
	admin := map[string][]byte{
		// gcc's only: the whole group goes.
		"cpp": []byte("auto\n/lib/cpp\n\n/usr/bin/cpp\n10\n\n"),
		// auto, the best goes: the next best takes over, its slave too.
		"cc": []byte("auto\n/usr/bin/cc\ncc.1.gz\n/usr/share/man/man1/cc.1.gz\n\n/usr/bin/clang\n10\n/usr/share/man/man1/clang.1.gz\n/usr/bin/gcc\n20\n/usr/share/man/man1/gcc.1.gz\n/usr/bin/tcc\n10\n/usr/share/man/man1/tcc.1.gz\n\n"),
		// manual on the one that goes: back to auto; the new choice has no
		// slave, whose links go and which leaves the admin file.
		"c++": []byte("manual\n/usr/bin/c++\nc++.1.gz\n/usr/share/man/man1/c++.1.gz\n\n/usr/bin/false\n5\n\n/usr/bin/g++\n20\n/usr/share/man/man1/g++.1.gz\n\n"),
		// manual on one that stays: only the admin file changes.
		"c99": []byte("manual\n/usr/bin/c99\n\n/usr/bin/c99-gcc\n20\n/usr/bin/true\n5\n\n"),
		// nothing of it goes.
		"pager": []byte("auto\n/usr/bin/pager\n\n/bin/more\n50\n/usr/bin/less\n77\n\n"),
		// the new choice's slave path goes too: the slave's links go.
		"ld": []byte("auto\n/usr/bin/ld\nld.1.gz\n/usr/share/man/man1/ld.1.gz\n\n/usr/bin/ld.bfd\n20\n/usr/share/man/man1/ld.bfd.1.gz\n/usr/bin/ld.gold\n10\n/usr/share/man/man1/ld.gold.1.gz\n\n"),
	}
	current := map[string]string{"cc": "/usr/bin/gcc", "c++": "/usr/bin/g++", "c99": "/usr/bin/true", "pager": "/usr/bin/less"} // ld, cpp: the best
	files := []string{"/usr/bin/cpp", "/usr/bin/gcc", "/usr/share/man/man1/gcc.1.gz", "/usr/bin/g++", "/usr/bin/c99-gcc",
		"/usr/bin/ld.bfd", "/usr/share/man/man1/ld.gold.1.gz", "/usr/lib/gcc"}
	ch, err := (&Result{}).Alternatives(files, admin, current)
	if err != nil {
		t.Fatal(err)
	}
	wantRemove := []string{
		"/etc/alternatives/c++.1.gz", "/etc/alternatives/cpp", "/etc/alternatives/ld.1.gz",
		"/lib/cpp",
		"/usr/share/man/man1/c++.1.gz", "/usr/share/man/man1/ld.1.gz",
		"/var/lib/dpkg/alternatives/cpp",
	}
	if !slices.Equal(ch.Remove, wantRemove) {
		t.Errorf("Remove:\ngot  %q\nwant %q", ch.Remove, wantRemove)
	}
	wantLinks := map[string]string{
		"/etc/alternatives/cc":        "/usr/bin/clang", // first of the priority 10 ones by path
		"/usr/bin/cc":                 "/etc/alternatives/cc",
		"/etc/alternatives/cc.1.gz":   "/usr/share/man/man1/clang.1.gz",
		"/usr/share/man/man1/cc.1.gz": "/etc/alternatives/cc.1.gz",
		"/etc/alternatives/c++":       "/usr/bin/false",
		"/usr/bin/c++":                "/etc/alternatives/c++",
		"/etc/alternatives/ld":        "/usr/bin/ld.gold",
		"/usr/bin/ld":                 "/etc/alternatives/ld",
	}
	if !maps.Equal(ch.Symlinks, wantLinks) {
		t.Errorf("Symlinks:\ngot  %q\nwant %q", ch.Symlinks, wantLinks)
	}
	wantWrite := map[string]string{
		"/var/lib/dpkg/alternatives/cc":  "auto\n/usr/bin/cc\ncc.1.gz\n/usr/share/man/man1/cc.1.gz\n\n/usr/bin/clang\n10\n/usr/share/man/man1/clang.1.gz\n/usr/bin/tcc\n10\n/usr/share/man/man1/tcc.1.gz\n\n",
		"/var/lib/dpkg/alternatives/c++": "auto\n/usr/bin/c++\n\n/usr/bin/false\n5\n\n",
		"/var/lib/dpkg/alternatives/c99": "manual\n/usr/bin/c99\n\n/usr/bin/true\n5\n\n",
		"/var/lib/dpkg/alternatives/ld":  "auto\n/usr/bin/ld\nld.1.gz\n/usr/share/man/man1/ld.1.gz\n\n/usr/bin/ld.gold\n10\n/usr/share/man/man1/ld.gold.1.gz\n\n",
	}
	got := map[string]string{}
	for k, v := range ch.Write {
		got[k] = string(v)
	}
	if !maps.Equal(got, wantWrite) {
		t.Errorf("Write:\ngot  %q\nwant %q", got, wantWrite)
	}
}

func TestAlternativesErrors(t *testing.T) {
	for _, tc := range []struct{ admin, want string }{
		{"", "end of file reading the mode"},
		{"sometimes\n/usr/bin/cc\n\n\n", `got mode "sometimes"`},
		{"auto\n/usr/bin/cc\n", "end of file reading a slave name"},
		{"auto\n/usr/bin/cc\ncc.1.gz\n", "end of file reading a slave link"},
		{"auto\n/usr/bin/cc\n\n/usr/bin/gcc\n", "end of file reading a priority"},
		{"auto\n/usr/bin/cc\n\n/usr/bin/gcc\nhigh\n\n", `got "high", want an integer`},
		{"auto\n/usr/bin/cc\ncc.1.gz\n/x\n\n/usr/bin/gcc\n20\n", "end of file reading a slave path"},
	} {
		_, err := (&Result{}).Alternatives(nil, map[string][]byte{"cc": []byte(tc.admin)}, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "alternatives cc") {
			t.Errorf("admin %q: got error %v, want one naming cc and containing %q", tc.admin, err, tc.want)
		}
	}
}
