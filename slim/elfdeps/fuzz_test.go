package elfdeps

import (
	"bytes"
	"debug/elf"
	"os"
	"reflect"
	"sort"
	"testing"
)

// FuzzResolve feeds arbitrary bytes to the ELF and "#!" parsers, and to
// Resolve as a program, a library, a dlopened library and an interpreter
// of an image. Whatever they are, nothing may panic, and when Resolve
// answers, its answer is sorted, deduplicated, the same twice, and asks
// only for regular files.
func FuzzResolve(f *testing.F) {
	f.Add(buildELF(elfSpec{interp: ldso, needed: []string{"libc.so.6", "libfuzz.so"}, runpath: "$ORIGIN/../lib:${LIB}:$PLATFORM"}))
	f.Add(buildELF(elfSpec{class: elf.ELFCLASS32, machine: elf.EM_386, interp: "/lib/ld-linux.so.2", needed: []string{"libfuzz.so"}, rpath: "/x"}))
	f.Add(buildELF(elfSpec{machine: elf.EM_AARCH64, interp: "/lib/ld-musl-aarch64.so.1", needed: []string{"libc.musl-aarch64.so.1"}}))
	f.Add(buildELF(elfSpec{soname: "libfuzz.so", needed: []string{"/prog", "libfuzz.so"}, flags1: uint64(elf.DF_1_NODEFLIB)}))
	f.Add([]byte("#!/usr/bin/env -S python3 -u\n"))
	f.Add([]byte("#!/prog\n"))
	f.Add([]byte("#! \t/usr/bin/env\x00node\n"))
	f.Add([]byte("\x7fELF\x02\x01\x01"))
	if b, err := os.ReadFile("/usr/bin/true"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		parseShebang(data)
		envCommand(string(data))
		readELF(bytes.NewReader(data), int64(len(data)))

		img := func() *memFS {
			return glibcImage().
				file("/prog", data, 0o755).
				file("/usr/bin/env", data, 0o755).
				file("/usr/bin/python3", data, 0o755).
				file(multiarch+"/libfuzz.so", data, 0o755).
				file("/etc/ld.so.cache", nil, 0o644).
				file("/etc/ld.so.conf", data, 0o644).
				file("/etc/nsswitch.conf", data, 0o644)
		}
		// Dlopen maps the same bytes again, by another path.
		dl := Dlopen(multiarch+"/libfuzz.so", "/usr/bin/python3", "/nowhere.so")
		res, err := Resolve(img(), "/prog", []string{"PATH=/usr/bin", "LD_LIBRARY_PATH=$ORIGIN:/lib"}, dl)
		if err != nil {
			return
		}
		if !sort.SliceIsSorted(res.Files, func(i, j int) bool { return res.Files[i].Path < res.Files[j].Path }) ||
			!sort.StringsAreSorted(res.Missing) || len(res.Fetch) != 0 {
			t.Fatalf("unsorted or fetching with every content at hand: %v", res)
		}
		for i := 1; i < len(res.Files); i++ {
			if res.Files[i].Path == res.Files[i-1].Path {
				t.Fatalf("%s twice", res.Files[i].Path)
			}
		}
		again, err := Resolve(img(), "/prog", []string{"PATH=/usr/bin", "LD_LIBRARY_PATH=$ORIGIN:/lib"}, dl)
		if err != nil || !reflect.DeepEqual(res, again) {
			t.Fatalf("not the same twice: %v, %v / %v", res, again, err)
		}
		m := img().unfetch()
		for round := 0; ; round++ {
			r, err := Resolve(m, "/prog", nil, dl)
			if err != nil || len(r.Fetch) == 0 {
				break
			}
			if round > 20 {
				t.Fatalf("still fetching after %d rounds: %q", round, r.Fetch)
			}
			for _, p := range r.Fetch {
				if n, ok := m.nodes[p]; !ok || !n.mode.IsRegular() || !n.pending {
					t.Fatalf("asked to fetch %s, not a regular file not fetched yet", p)
				}
			}
			m.fetch(r.Fetch)
		}
	})
}
