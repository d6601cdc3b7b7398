package main

import (
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imgslim/imgslim/testdata/dockertest"
)

// pushImage writes img to ref with auth (anonymous when nil).
func pushImage(t testing.TB, ref string, img v1.Image, auth authn.Authenticator) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if auth == nil {
		auth = authn.Anonymous
	}
	if err := remote.Write(r, img, remote.WithAuth(auth)); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
}

// pushIndex writes idx to ref anonymously.
func pushIndex(t testing.TB, ref string, idx v1.ImageIndex) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
}

// pullImage reads ref with auth (anonymous when nil).
func pullImage(t testing.TB, ref string, auth authn.Authenticator) v1.Image {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if auth == nil {
		auth = authn.Anonymous
	}
	img, err := remote.Image(r, remote.WithAuth(auth))
	if err != nil {
		t.Fatalf("reading %s: %v", ref, err)
	}
	return img
}

// remoteDigest returns the digest ref points at, or "" when it is absent.
func remoteDigest(t testing.TB, ref string, auth authn.Authenticator) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if auth == nil {
		auth = authn.Anonymous
	}
	d, err := remote.Head(r, remote.WithAuth(auth))
	if err != nil {
		return ""
	}
	return d.Digest.String()
}

// TestRoundTrip slims the fixture from and to every kind of location, reads
// every output back with code other than imgslim's, and checks it.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	type place struct {
		// put writes the source image and returns its location.
		put func(t *testing.T, img v1.Image) string
		// target returns the target location, and get reads it back.
		target func(t *testing.T) (loc string, get func() v1.Image)
	}
	docker := func(t *testing.T) { dockertest.Require(t) }
	mem := place{
		put: func(t *testing.T, img v1.Image) string {
			ref := memRegistry(t) + "/fixture/src:v1"
			pushImage(t, ref, img, nil)
			return "docker://" + ref
		},
		target: func(t *testing.T) (string, func() v1.Image) {
			ref := memRegistry(t) + "/fixture/slim:v1"
			return "docker://" + ref, func() v1.Image { return pullImage(t, ref, nil) }
		},
	}
	oci := place{
		put: func(t *testing.T, img v1.Image) string {
			dir := filepath.Join(t.TempDir(), "src")
			writeLayout(t, dir, "src", img)
			return "oci:" + dir + ":src"
		},
		target: func(t *testing.T) (string, func() v1.Image) {
			dir := filepath.Join(t.TempDir(), "out")
			return "oci:" + dir + ":slim", func() v1.Image { return readLayout(t, dir, "slim") }
		},
	}
	ociArchive := place{
		put: func(t *testing.T, img v1.Image) string {
			dir := filepath.Join(t.TempDir(), "layout")
			writeLayout(t, dir, "src", img)
			p := filepath.Join(t.TempDir(), "src.tar")
			tarDirFile(t, dir, p)
			return "oci-archive:" + p + ":src"
		},
		target: func(t *testing.T) (string, func() v1.Image) {
			p := filepath.Join(t.TempDir(), "out.tar")
			return "oci-archive:" + p + ":slim", func() v1.Image { return readLayout(t, untarFile(t, p), "slim") }
		},
	}
	dockerArchive := place{
		put: func(t *testing.T, img v1.Image) string {
			p := filepath.Join(t.TempDir(), "src.tar")
			writeArchive(t, p, "example.com/fixture/src:v1", img)
			return "docker-archive:" + p
		},
		target: func(t *testing.T) (string, func() v1.Image) {
			p := filepath.Join(t.TempDir(), "out.tar")
			return "docker-archive:" + p + ":example.com/fixture/slim:v1", func() v1.Image {
				return readArchiveGGCR(t, p, "example.com/fixture/slim:v1")
			}
		},
	}
	// What `docker save` writes: plain-tar layers.
	plainArchive := place{
		put: func(t *testing.T, img v1.Image) string {
			p := filepath.Join(t.TempDir(), "saved.tar")
			writePlainArchive(t, p, "example.com/fixture/src:v1", img)
			return "docker-archive:" + p + ":example.com/fixture/src:v1"
		},
	}
	daemon := place{
		put: func(t *testing.T, img v1.Image) string {
			ref := "imgslim-test/cli-src:" + uniq()
			loadIntoDaemon(t, ref, img)
			return "docker-daemon:" + ref
		},
		target: func(t *testing.T) (string, func() v1.Image) {
			ref := "imgslim-test/cli-out:" + uniq()
			rmiOnCleanup(t, ref)
			return "docker-daemon:" + ref, func() v1.Image { return saveFromDaemon(t, ref) }
		},
	}
	bare := place{
		put: func(t *testing.T, img v1.Image) string {
			ref := "imgslim-test/cli-src:" + uniq()
			loadIntoDaemon(t, ref, img)
			return ref
		},
		target: func(t *testing.T) (string, func() v1.Image) {
			ref := "imgslim-test/cli-out:" + uniq()
			rmiOnCleanup(t, ref)
			return ref, func() v1.Image { return saveFromDaemon(t, ref) }
		},
	}

	for _, tc := range []struct {
		name     string
		oci      bool // OCI media types in the source
		src, dst place
		// plain: the source or the output stores layers as plain tars,
		// so the untouched layer keeps its diff ID, not its blob digest.
		plain bool
		needs func(*testing.T)
	}{
		{name: "registry to registry", src: mem, dst: mem},
		{name: "registry to registry, OCI media types", oci: true, src: mem, dst: mem},
		{name: "oci to oci", oci: true, src: oci, dst: oci},
		{name: "oci to oci, docker media types", src: oci, dst: oci},
		{name: "oci-archive to oci-archive", oci: true, src: ociArchive, dst: ociArchive},
		{name: "docker-archive to docker-archive", src: dockerArchive, dst: dockerArchive, plain: true},
		{name: "docker save archive to docker-archive", src: plainArchive, dst: dockerArchive, plain: true},
		{name: "docker save archive to oci", src: plainArchive, dst: oci, plain: true},
		{name: "registry to oci-archive", src: mem, dst: ociArchive},
		{name: "registry to docker-archive", src: mem, dst: dockerArchive, plain: true},
		{name: "oci to registry", oci: true, src: oci, dst: mem},
		{name: "docker-archive to registry", src: dockerArchive, dst: mem},
		{name: "daemon to daemon", src: daemon, dst: daemon, plain: true, needs: docker},
		{name: "bare daemon ref to bare ref", src: bare, dst: bare, plain: true, needs: docker},
		{name: "registry to daemon", src: mem, dst: daemon, plain: true, needs: docker},
		{name: "daemon to oci", src: daemon, dst: oci, plain: true, needs: docker},
		{name: "daemon to docker-archive", src: daemon, dst: dockerArchive, plain: true, needs: docker},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.needs != nil {
				tc.needs(t)
			}
			img := fixture(t, tc.oci)
			src := tc.src.put(t, img)
			dst, get := tc.dst.target(t)
			args := append(append([]string{"-q"}, fixRemove...), src, dst)
			r := mustSlim(t, args...)
			if r.stderr != "" {
				t.Errorf("stderr with -q: got %q, want nothing", r.stderr)
			}
			checkSlimmed(t, img, get(), checkOpts{plain: tc.plain})
		})
	}
}

// TestRoundTripAuthRegistry reads from and pushes to the real registry,
// which wants a password, with the credentials where docker login puts
// them: $DOCKER_CONFIG/config.json.
func TestRoundTripAuthRegistry(t *testing.T) {
	host, user, pass := dockertest.Registry(t)
	dockerConfig(t, host, user, pass)
	auth := &authn.Basic{Username: user, Password: pass}
	repo := host + "/imgslim-cli/roundtrip-" + uniq()
	img := fixture(t, false)
	pushImage(t, repo+":src", img, auth)

	for _, tc := range []struct {
		name, src, dst string
		get            func(t *testing.T, dst string) v1.Image
	}{
		{"registry to registry", "docker://" + repo + ":src", "docker://" + repo + ":slim",
			func(t *testing.T, dst string) v1.Image { return pullImage(t, repo+":slim", auth) }},
		{"registry to oci", "docker://" + repo + ":src", "oci:" + filepath.Join(t.TempDir(), "out") + ":slim",
			func(t *testing.T, dst string) v1.Image {
				return readLayout(t, dst[len("oci:"):len(dst)-len(":slim")], "slim")
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustSlim(t, append(append([]string{"-q"}, fixRemove...), tc.src, tc.dst)...)
			checkSlimmed(t, img, tc.get(t, tc.dst), checkOpts{})
		})
	}
	if got, want := remoteDigest(t, repo+":src", auth), mustDigest(t, img); got != want {
		t.Errorf("source %s: got digest %s after slimming, want %s unchanged", repo+":src", got, want)
	}
}

func mustDigest(t testing.TB, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// TestDockerArchiveUniformLayers checks that a docker-archive output stores
// its layers one way, all plain or all gzip: ggcr's tarball reader (crane,
// ko…) looks at the first layer only to decide, and misreads the others of
// a mixed archive. A plain source gives plain tars, as docker save does; a
// gzip source keeps its untouched gzip layers, so the rewritten ones are
// gzip too.
func TestDockerArchiveUniformLayers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		write    func(t testing.TB, p, ref string, img v1.Image)
		wantGzip bool
	}{
		{"plain source", writePlainArchive, false},
		{"gzip source", writeArchive, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := fixture(t, false)
			src := filepath.Join(t.TempDir(), "src.tar")
			tc.write(t, src, "example.com/fixture/src:v1", img)
			dst := filepath.Join(t.TempDir(), "out.tar")
			mustSlim(t, append(append([]string{"-q"}, fixRemove...), "docker-archive:"+src, "docker-archive:"+dst)...)
			for i, gz := range archiveCompression(t, dst) {
				if gz != tc.wantGzip {
					t.Errorf("layer %d of the output: got gzip=%v, want gzip=%v like every layer", i, gz, tc.wantGzip)
				}
			}
			checkSlimmed(t, img, readArchiveGGCR(t, dst, ""), checkOpts{plain: true})
		})
	}
}
