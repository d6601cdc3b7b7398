package fsdiff

import (
	"archive/tar"
	"context"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/imgslim/imgslim/layers"
)

// A Reader primed with what a scan recorded gives the filesystem it reads
// itself, whatever the scan's func reads of each content (all, some,
// nothing); the func sees every entry and every byte it reads.
func TestRecorderMatchesRead(t *testing.T) {
	xattr := reg("usr/bin/ping", "ping")
	xattr.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": "\x01\x02"}
	l1 := layer(t, dir("etc/"), reg("etc/passwd", "root:x:0:0::/root:/bin/sh\n"), reg("big", strings.Repeat("0123456789", 10000)),
		link("etc/hl", "etc/passwd", tar.TypeLink), link("etc/sl", "/etc/passwd", tar.TypeSymlink), xattr, reg("empty", ""))
	l2 := layer(t, reg("etc/.wh.sl", ""), dir("opt/"), reg("opt/.wh..wh..opq", ""), reg("big", "smaller"))
	img := image(t, l1, l2)
	want := read(t, img)
	for _, mode := range []string{"all", "some", "none"} {
		t.Run(mode, func(t *testing.T) {
			rd := NewReader()
			ls, _ := img.Layers()
			for _, l := range ls {
				var rec Recorder
				seen := 0
				_, err := layers.ScanTo(context.Background(), l, layers.ScanOptions{}, rec.Wrap(func(h *tar.Header, _ int64, r io.Reader) error {
					seen++
					switch mode {
					case "all":
						b, err := io.ReadAll(r)
						if err == nil && int64(len(b)) != h.Size {
							t.Errorf("%s: the func read %d bytes, want %d", h.Name, len(b), h.Size)
						}
						return err
					case "some":
						_, err := io.ReadFull(r, make([]byte, min(h.Size, 3)))
						return err
					}
					return nil
				}))
				if err != nil {
					t.Fatal(err)
				}
				if seen == 0 {
					t.Errorf("the func saw no entry")
				}
				read, err := NewReader().layer(context.Background(), l)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(rec.items, read) {
					t.Errorf("recorded %d entries, read %d: not the same", len(rec.items), len(read))
				}
				d, _ := l.Digest()
				rd.Prime(d, &rec)
			}
			got, err := rd.Read(context.Background(), img)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}
