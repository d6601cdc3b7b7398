package slim

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/imgslim/imgslim/layers"
)

// tarOf writes files as a plain tar with archive/tar.
func tarOf(t testing.TB, files ...file) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := f.Header
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("writing %q: %v", h.Name, err)
		}
		io.WriteString(tw, f.body)
	}
	tw.Close()
	return buf.Bytes()
}

// blobLayer is a layer whose blob is b, of media type mt, whatever b holds:
// its digest is b's, its diff ID that of b decompressed as imgslim reads it.
type blobLayer struct {
	b      []byte
	mt     types.MediaType
	diffID v1.Hash
}

func newBlobLayer(b []byte, mt types.MediaType, uncompressed []byte) *blobLayer {
	sum := sha256.Sum256(uncompressed)
	return &blobLayer{b: b, mt: mt, diffID: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}}
}

func (l *blobLayer) Digest() (v1.Hash, error) {
	sum := sha256.Sum256(l.b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}, nil
}
func (l *blobLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *blobLayer) Size() (int64, error)                { return int64(len(l.b)), nil }
func (l *blobLayer) MediaType() (types.MediaType, error) { return l.mt, nil }
func (l *blobLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.b)), nil
}
func (l *blobLayer) Uncompressed() (io.ReadCloser, error) {
	return nil, errors.New("not used: imgslim reads Compressed")
}

// visibleNames is the set of paths the layers of img present, whiteouts
// applied as the OCI image spec says (in any archive order).
func visibleNames(t *testing.T, img v1.Image) map[string]file {
	t.Helper()
	out := map[string]file{}
	for _, fs := range layerFiles(t, img) {
		for _, f := range fs {
			if target, opaque, ok := layers.Whiteout(&f.Header); ok {
				for n := range out {
					if opaque && layers.Within(n, target) && n != target || !opaque && layers.Within(n, target) {
						delete(out, n)
					}
				}
			}
		}
		for _, f := range fs {
			if _, _, ok := layers.Whiteout(&f.Header); !ok {
				out[layers.Clean(f.Name)] = f
			}
		}
	}
	return out
}

// TestHostileLayers is the tar-level part of the hostile-input corpus: every
// layer is generated here. Each case ends in a clear error, or in an output
// that validates, loads back and presents the paths it should.
func TestHostileLayers(t *testing.T) {
	gz := func(b []byte) v1.Layer {
		return rawLayer(t, b)
	}
	plain := func(b []byte) v1.Layer { return newBlobLayer(b, types.OCIUncompressedLayer, b) }
	zst := func(b []byte) v1.Layer {
		var buf bytes.Buffer
		zw, _ := zstd.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		return newBlobLayer(buf.Bytes(), "application/vnd.oci.image.layer.v1.tar+zstd", b)
	}
	good := tarOf(t, reg("keep", "k"), reg("junk", "j"))
	// A header claiming 1 TiB, followed by 512 bytes and the end marker.
	huge := append(append(ustarBlock("big", tar.TypeReg, 1<<40), make([]byte, 512)...), make([]byte, 1024)...)
	// A PAX extended header of 2 MiB of records (archive/tar reads at most
	// 1 MiB of them).
	rec := "2097152 comment=" + strings.Repeat("A", 2097152-len("2097152 comment=")-1) + "\n"
	paxBomb := append(append(ustarBlock("PaxHeaders/x", tar.TypeXHeader, int64(len(rec))), rec...), tarOf(t, reg("x", "x"))...)
	long := strings.Repeat("d/", 60) + strings.Repeat("n", 200)
	xattr := reg("bin/ping", "ping")
	xattr.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": "\x01\x00\x00\x02", "LIBARCHIVE.creationtime": "1", "unknown.vendor.key": "v"}
	global := file{Header: tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header", PAXRecords: map[string]string{"comment": "git archive"}}}
	devices := []file{
		{Header: tar.Header{Typeflag: tar.TypeChar, Name: "dev/null", Mode: 0o666, Devmajor: 1, Devminor: 3}},
		{Header: tar.Header{Typeflag: tar.TypeBlock, Name: "dev/sda", Mode: 0o660, Devmajor: 8}},
		{Header: tar.Header{Typeflag: tar.TypeFifo, Name: "run/fifo", Mode: 0o600}},
	}

	for _, tc := range []struct {
		name    string
		layer   v1.Layer
		rules   []string
		opts    []Option
		wantErr string   // a clear error, or
		present []string // paths the output presents
		absent  []string // and paths it does not
		dups    bool     // the source repeats a path, which validate refuses
	}{
		{name: "plain tar layer", layer: plain(good), rules: []string{"junk"}, present: []string{"/keep"}, absent: []string{"/junk"}},
		{name: "zstd layer", layer: zst(good), rules: []string{"junk"}, present: []string{"/keep"}, absent: []string{"/junk"}},
		{name: "unknown media type, gzip bytes", layer: newBlobLayer(gzipOf(good), "application/x-unknown", good), rules: []string{"junk"}, present: []string{"/keep"}, absent: []string{"/junk"}},
		{name: "traversal in names stays inside the image", layer: gz(tarOf(t, reg("../../etc/evil", "e"), reg("./../x", "x"), reg("junk", "j"))), rules: []string{"junk"}, present: []string{"/etc/evil", "/x"}},
		{name: "absolute names", layer: gz(tarOf(t, reg("/abs/file", "a"), reg("/abs/junk", "j"))), rules: []string{"abs/junk"}, present: []string{"/abs/file"}, absent: []string{"/abs/junk"}},
		{name: "symlinks out of the image pass as links", layer: gz(tarOf(t, symlinkTo("link", "../../../../etc/shadow"), symlinkTo("abs", "/etc/shadow"), reg("junk", "j"))), rules: []string{"junk"}, present: []string{"/link", "/abs"}},
		{name: "hardlink with a climbing target", layer: gz(tarOf(t, reg("etc/f", "f"), hardlink("l", "../../etc/f"), reg("junk", "j"))), rules: []string{"junk"}, present: []string{"/etc/f", "/l"}},
		{name: "hardlink to a removed target is promoted", layer: gz(tarOf(t, reg("junk/lib", "L"), hardlink("app/lib", "junk/lib"))), rules: []string{"junk"}, present: []string{"/app/lib"}, absent: []string{"/junk/lib"}},
		{name: "duplicate entries all go", layer: gz(tarOf(t, reg("dup", "1"), reg("dup", "2"), reg("keep", "k"))), rules: []string{"dup"}, present: []string{"/keep"}, absent: []string{"/dup"}},
		{name: "duplicate entries: the last one shows", layer: gz(tarOf(t, reg("dup", "1"), reg("dup", "2"), reg("junk", "j"))), rules: []string{"junk"}, present: []string{"/dup"}, dups: true},
		{name: "a file over a directory", layer: gz(tarOf(t, dir("x/"), reg("x/in", "i"), reg("x", "file"), reg("junk", "j"))), rules: []string{"junk"}, present: []string{"/x"}},
		{name: "truncated tar", layer: gz(good[:700]), wantErr: "unexpected EOF"},
		{name: "truncated gzip", layer: newBlobLayer(gzipOf(good)[:30], types.OCILayer, good), wantErr: "unexpected EOF"},
		{name: "not a tar", layer: gz([]byte(strings.Repeat("garbage!", 200))), wantErr: "tar"},
		{name: "empty blob", layer: newBlobLayer(nil, types.OCIUncompressedLayer, nil), present: nil},
		{name: "a header claiming 1 TiB is not believed", layer: gz(huge), wantErr: "unexpected EOF"},
		{name: "a 2 MiB PAX header", layer: gz(paxBomb), wantErr: "tar"},
		{name: "decompression bomb", layer: gz(tarOf(t, reg("zeros", strings.Repeat("\x00", 8<<20)))), opts: []Option{SharedOption(func(o *options) error { o.limit = layers.Limit{Ratio: 10, Floor: 1 << 20}; return nil })}, wantErr: "decompression limit"},
		{name: "bytes after the end marker", layer: gz(append(append([]byte(nil), good...), bytes.Repeat([]byte("trailing"), 1000)...)), rules: []string{"junk"}, present: []string{"/keep"}, absent: []string{"/junk"}},
		{name: "long names and PAX records", layer: gz(tarOf(t, reg(long, "l"), xattr, global, reg("junk", "j"))), rules: []string{"junk"}, present: []string{"/" + long, "/bin/ping"}},
		{name: "odd names: newline, escape, invalid UTF-8", layer: gz(tarOf(t, reg("a\nb", "1"), reg("\x1b[2J", "2"), reg("caf\xe9", "3"), reg("junk", "j"))), rules: []string{"junk"}, present: []string{"/a\nb", "/\x1b[2J", "/caf\xe9"}},
		{name: "devices and fifos", layer: gz(tarOf(t, append(devices, reg("junk", "j"))...)), rules: []string{"junk"}, present: []string{"/dev/null", "/dev/sda", "/run/fifo"}},
		{name: "whiteouts in odd places", layer: gz(tarOf(t, reg(".wh..wh..opq", ""), reg("etc/.wh.", ""), dir("w/.wh.d/"), reg("x/.wh.missing", "content"), reg("keep", "k"), reg("junk", "j"))), rules: []string{"junk"}, present: []string{"/keep"}},
		{name: "a whiteout before its target in one layer hides nothing of it", layer: gz(tarOf(t, reg("a/.wh.f", ""), reg("a/f", "f"), reg("junk", "j"))), rules: []string{"junk"}, present: []string{"/a/f"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := testImage(t, v1.Config{User: "1000"}, tc.layer)
			opts := append([]Option{WithRules(mustRules(t, tc.rules...)), WithWorkDir(t.TempDir())}, tc.opts...)
			out, _, err := Image(src, opts...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one mentioning %q", err, tc.wantErr)
				}
				if strings.Count(err.Error(), "\n") > 0 {
					t.Errorf("the error is not one line: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Image: %v", err)
			}
			if err := validate.Image(out, validate.Fast); err != nil {
				t.Fatalf("validate.Image: %v", err)
			}
			if err := validate.Image(out); err != nil && !tc.dups {
				t.Fatalf("validate.Image: %v", err)
			}
			// It loads back from disk as go-containerregistry writes it.
			if err := tarball.Write(nil, out, io.Discard); err != nil {
				t.Fatalf("writing the output as a tarball: %v", err)
			}
			vis := visibleNames(t, out)
			for _, p := range tc.present {
				if _, ok := vis[p]; !ok {
					t.Errorf("%q is missing from the output", p)
				}
			}
			for _, p := range tc.absent {
				if _, ok := vis[p]; ok {
					t.Errorf("%q is still in the output", p)
				}
			}
			if _, err := partial.Descriptor(out); err != nil {
				t.Errorf("descriptor: %v", err)
			}
		})
	}
}

func gzipOf(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// ustarBlock is a USTAR header block as a hostile writer makes it: any
// size, nothing checked but the checksum.
func ustarBlock(name string, typ byte, size int64) []byte {
	b := make([]byte, 512)
	copy(b, name)
	copy(b[100:], "0000644\x00")
	copy(b[108:], "0000000\x00")
	copy(b[116:], "0000000\x00")
	copy(b[124:], fmt.Sprintf("%011o\x00", size))
	copy(b[136:], "00000000000\x00")
	b[156] = typ
	copy(b[257:], "ustar\x0000")
	copy(b[148:156], "        ")
	sum := 0
	for _, c := range b {
		sum += int(c)
	}
	copy(b[148:], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

// A sparse file the --scratch closure keeps (a 20 GiB disk image holding
// 20 KB of data, named on the command line) stays sparse: the layer holds
// its data and a map, not 20 GiB of zeros, and the work directory never
// holds the zeros either. -short uses 64 MiB.
func TestHostileScratchSparse(t *testing.T) {
	tarBin, err := exec.LookPath("tar")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("GNU tar is needed")
		}
		t.Skip("no tar")
	}
	size := int64(20 << 30)
	if testing.Short() {
		size = 64 << 20
	}
	for _, format := range []string{"gnu", "posix"} {
		t.Run(format, func(t *testing.T) {
			src := t.TempDir()
			os.MkdirAll(filepath.Join(src, "app"), 0o755)
			f, err := os.Create(filepath.Join(src, "app", "data.img"))
			if err != nil {
				t.Fatal(err)
			}
			data := map[int64]string{}
			for i := int64(0); i < 20; i++ {
				off := i * (size / 20)
				data[off] = strings.Repeat(fmt.Sprintf("chunk %d ", i), 1024/8)
				if _, err := f.WriteAt([]byte(data[off]), off); err != nil {
					t.Fatal(err)
				}
			}
			if err := f.Truncate(size); err != nil {
				t.Fatal(err)
			}
			f.Close()
			archive := filepath.Join(t.TempDir(), "layer.tar")
			if out, err := exec.Command(tarBin, "--format="+format, "-S", "-cf", archive, "-C", src, "app/data.img").CombinedOutput(); err != nil {
				t.Fatalf("tar: %v: %s", err, out)
			}
			raw, err := os.ReadFile(archive)
			if err != nil {
				t.Fatal(err)
			}
			if len(raw) > 1<<20 {
				t.Fatalf("fixture: GNU tar wrote %d bytes, want a sparse archive", len(raw))
			}
			img := testImage(t, v1.Config{Cmd: []string{"/app/server", "--data", "/app/data.img"}, WorkingDir: "/app"},
				gzLayer(t, dir("app/"), exe("app/server", staticELF())), rawLayer(t, raw))
			work := t.TempDir()
			out, rep, err := Scratch(img, WithWorkDir(work))
			if err != nil {
				t.Fatalf("Scratch: %v", err)
			}
			if rep.After.Uncompressed > 1<<20 {
				t.Errorf("the scratch layer's tar holds %d bytes for %d bytes of data, want it sparse", rep.After.Uncompressed, 20*1024)
			}
			var disk int64
			filepath.WalkDir(work, func(p string, d os.DirEntry, err error) error {
				var st syscall.Stat_t
				if err == nil && syscall.Lstat(p, &st) == nil {
					disk += st.Blocks * 512
				}
				return nil
			})
			if disk > 16<<20 {
				t.Errorf("the work directory holds %d bytes on disk, want the data only", disk)
			}
			var listed bool
			for _, e := range rep.Files {
				if e.Path == "/app/data.img" {
					listed = true
					if e.Size != size {
						t.Errorf("report: /app/data.img is %d bytes, want its logical size %d", e.Size, size)
					}
				}
			}
			if !listed {
				t.Fatalf("/app/data.img is not in the output: %v", rep.Files)
			}
			// GNU tar lists the file at its logical size.
			ls, _ := out.Layers()
			rc, err := ls[0].Uncompressed()
			if err != nil {
				t.Fatal(err)
			}
			blob := filepath.Join(t.TempDir(), "out.tar")
			bf, _ := os.Create(blob)
			io.Copy(bf, rc)
			rc.Close()
			bf.Close()
			list, err := exec.Command(tarBin, "-tvf", blob, "app/data.img").CombinedOutput()
			if err != nil || !strings.Contains(string(list), fmt.Sprint(size)) {
				t.Errorf("GNU tar lists %q (%v), want app/data.img of %d bytes", list, err, size)
			}
			if !testing.Short() {
				return
			}
			// Small enough to read whole: the content is the source's.
			d, ok := find(layerFiles(t, out), "/app/data.img")
			if !ok || int64(len(d.body)) != size {
				t.Fatalf("/app/data.img: got %v, %d bytes, want %d", ok, len(d.body), size)
			}
			for off, s := range data {
				if d.body[off:off+int64(len(s))] != s {
					t.Errorf("/app/data.img at %d: got %q, want %q", off, d.body[off:off+16], s[:16])
				}
			}
		})
	}
}
