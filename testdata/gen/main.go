// Command gen writes a deterministic "bloated single-stage" container image
// as an OCI image layout, for imgslim's demo and benchmark:
//
//	go run ./testdata/gen -out DIR -tag TAG -size 1.2GB
//
// The image is linux/amd64 and looks like a Node.js app built on Debian in one
// stage: a C toolchain, apt lists and .deb caches, the npm cache, the git
// history and the TypeScript sources are all still there (about 30% of the
// bytes), next to what the app needs (node, node_modules, /usr/lib, /app/dist).
// Its layers also hold the tar features a rewriter must keep right: hard links
// (some to files in removed directories), symlinks, setuid files, names over
// 100 bytes (PAX and GNU), whiteouts and an opaque directory.
//
// Every byte is a function of -size alone: two runs give the same digests.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func main() {
	out := flag.String("out", "", "directory to write the OCI image layout to (replaced if it holds one)")
	tag := flag.String("tag", "latest", "tag of the image in the layout (org.opencontainers.image.ref.name)")
	size := flag.String("size", "40MB", "total uncompressed size of the layers, e.g. 20MB, 1.2GB, 512MiB")
	verbose := flag.Bool("v", false, "also print a line per layer")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: go run ./testdata/gen -out DIR [-tag TAG] [-size SIZE]")
		os.Exit(2)
	}
	n, err := parseSize(*size)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(2)
	}
	start := time.Now()
	res, err := generate(*out, *tag, n)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if *verbose {
		for i, l := range res.perLayer {
			fmt.Fprintf(os.Stderr, "gen: layer %d: %6d files, %10s, gzip %10s (%.2f:1), removable %4.1f%% of bytes, %4.1f%% of files: %.60s\n",
				i, l.files, human(l.tarSize), human(l.gzSize), float64(l.tarSize)/float64(l.gzSize),
				100*float64(l.removableBytes)/float64(max(l.bytes, 1)), 100*float64(l.removableFiles)/float64(max(l.files, 1)), res.createdBy[i])
		}
	}
	s := res.stats
	fmt.Fprintf(os.Stderr, "gen: wrote oci:%s:%s: %d layers, %d files, %s uncompressed, %s gzip (%.2f:1), %.0f%% of bytes and %.0f%% of files removable, %s in %.1fs\n",
		*out, *tag, res.layers, s.files, human(s.tarSize), human(s.gzSize), float64(s.tarSize)/float64(s.gzSize),
		100*float64(s.removableBytes)/float64(s.bytes), 100*float64(s.removableFiles)/float64(s.files),
		res.digest, time.Since(start).Seconds())
}

// Generate writes the image of about size uncompressed bytes to the OCI
// layout dir, tagged tag, and returns the manifest digest.
func Generate(dir, tag string, size int64) (v1.Hash, error) {
	res, err := generate(dir, tag, size)
	if err != nil {
		return v1.Hash{}, err
	}
	return res.digest, nil
}

type result struct {
	digest    v1.Hash
	layers    int
	stats     layerStats   // all layers
	perLayer  []layerStats // each layer
	createdBy []string
}

func generate(dir, tag string, size int64) (*result, error) {
	if size < 1<<20 {
		return nil, fmt.Errorf("size %d is too small: give at least 1MB", size)
	}
	if err := prepareDir(dir); err != nil {
		return nil, err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return nil, err
	}
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return nil, err
	}

	ls := specs()
	entries := plan(ls, size)

	// Write the layers in parallel, biggest first.
	order := make([]int, len(ls))
	weight := make([]int64, len(ls))
	for i := range order {
		order[i] = i
		for _, e := range entries[i] {
			weight[i] += e.hdr.Size
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return weight[order[a]] > weight[order[b]] })
	layers := make([]*fileLayer, len(ls))
	stats := make([]layerStats, len(ls))
	errs := make([]error, len(ls))
	next := make(chan int, len(ls))
	for _, i := range order {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(ls)) {
		wg.Go(func() {
			for i := range next {
				layers[i], stats[i], errs[i] = writeLayer(blobs, i, entries[i])
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	img, err := image(ls, layers)
	if err != nil {
		return nil, err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": tag,
	})); err != nil {
		return nil, err
	}
	res := &result{layers: len(layers), perLayer: stats}
	for _, s := range ls {
		res.createdBy = append(res.createdBy, s.createdBy)
	}
	if res.digest, err = img.Digest(); err != nil {
		return nil, err
	}
	for _, s := range stats {
		res.stats.add(s)
	}
	return res, nil
}

// image assembles the OCI image: config, history and layers.
func image(ls []layerSpec, layers []*fileLayer) (v1.Image, error) {
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.ConfigFile(img, &v1.ConfigFile{
		Architecture: "amd64",
		OS:           "linux",
		RootFS:       v1.RootFS{Type: "layers"},
		Config: v1.Config{
			Env: []string{
				"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
				"NODE_VERSION=20.11.1",
			},
			Cmd:          []string{"node", "dist/server.js"},
			WorkingDir:   "/app",
			ExposedPorts: map[string]struct{}{"3000/tcp": {}},
			Labels: map[string]string{
				"org.opencontainers.image.title":    "acme-api",
				"org.opencontainers.image.version":  "1.4.2",
				"org.opencontainers.image.source":   "https://git.example.com/acme/api",
				"org.opencontainers.image.revision": "9c1f3e7a2b4d6c8e0f1a3b5c7d9e1f2a4b6c8d0e",
				"com.example.generator":             "imgslim testdata/gen",
			},
		},
	})
	if err != nil {
		return nil, err
	}
	var adds []mutate.Addendum
	created := epoch
	hist := func(by string, empty bool) v1.History {
		created = created.Add(time.Minute)
		return v1.History{Created: v1.Time{Time: created}, CreatedBy: by, EmptyLayer: empty}
	}
	for i, s := range ls {
		adds = append(adds, mutate.Addendum{Layer: layers[i], History: hist(s.createdBy, false), MediaType: types.OCILayer})
		for _, by := range emptyHistory[i] {
			adds = append(adds, mutate.Addendum{History: hist(by, true)})
		}
	}
	if img, err = mutate.Append(img, adds...); err != nil {
		return nil, err
	}
	return mutate.CreatedAt(img, v1.Time{Time: created})
}

// prepareDir makes dir an empty directory. It replaces an OCI layout left by
// an earlier run, but nothing else.
func prepareDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil || len(ents) == 0 {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
		return fmt.Errorf("%s is not empty and holds no OCI layout: not replacing it", dir)
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.MkdirAll(dir, 0o755)
}

// parseSize reads sizes like 40MB, 1.2GB, 512MiB or 1048576. KB, MB and GB are
// powers of 1000; KiB, MiB and GiB powers of 1024.
func parseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	units := []struct {
		suffix string
		mult   float64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"B", 1}}
	mult := 1.0
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("bad size %q: want e.g. 40MB, 1.2GB, 512MiB", s)
	}
	return int64(f * mult), nil
}

func human(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.1f kB", float64(n)/1e3)
}
