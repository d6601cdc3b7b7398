package locations

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in                string
		ref, path         string
		kind              Kind
		wantErr, notUsage bool
	}{
		{in: "docker://example.com/a/b:v1", kind: Registry, ref: "example.com/a/b:v1"},
		{in: "docker://127.0.0.1:5000/a@sha256:" + strings.Repeat("0", 64), kind: Registry, ref: "127.0.0.1:5000/a@sha256:" + strings.Repeat("0", 64)},
		{in: "docker-daemon:a/b:v1", kind: Daemon, ref: "a/b:v1"},
		{in: "docker-archive:/tmp/x.tar", kind: DockerArchive, path: "/tmp/x.tar"},
		{in: "docker-archive:/tmp/x.tar:a/b:v1", kind: DockerArchive, path: "/tmp/x.tar", ref: "a/b:v1"},
		{in: "oci:/tmp/layout", kind: OCILayout, path: "/tmp/layout"},
		{in: "oci:rel/layout:tag", kind: OCILayout, path: "rel/layout", ref: "tag"},
		{in: "oci-archive:/tmp/x.tar:tag", kind: OCIArchive, path: "/tmp/x.tar", ref: "tag"},
		{in: "a/b:v1", ref: "a/b:v1"},
		{in: "localhost:5000/a", ref: "localhost:5000/a"},
		{in: "", wantErr: true},
		{in: "docker://", wantErr: true},
		{in: "docker-daemon:", wantErr: true},
		{in: "oci:", wantErr: true},
		{in: "oci::tag", wantErr: true},
		{in: "foo://x", wantErr: true},
		{in: "http://example.com/x", wantErr: true},
		{in: "dir:/tmp/x", wantErr: true},
		{in: "containers-storage:x", wantErr: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			l, err := Parse(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Errorf("Parse(%q): got %+v, want an error", tc.in, l)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): got error %v, want nil", tc.in, err)
			}
			if l.Kind != tc.kind || l.Ref != tc.ref || l.Path != tc.path {
				t.Errorf("Parse(%q): got kind %q ref %q path %q, want %q %q %q", tc.in, l.Kind, l.Ref, l.Path, tc.kind, tc.ref, tc.path)
			}
			if l.Kind != "" && l.String() != tc.in {
				t.Errorf("Parse(%q).String(): got %q, want the input back", tc.in, l.String())
			}
		})
	}
}
