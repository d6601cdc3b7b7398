package locations

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestAuthFile(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	p := filepath.Join(t.TempDir(), "auth.json")
	write(t, p, []byte(`{"auths":{
		"quay.io":{"auth":"`+b64("reg:1")+`"},
		"quay.io/org":{"auth":"`+b64("org:2")+`"},
		"https://index.docker.io/v1/":{"auth":"`+b64("hub:3")+`"}}}`))
	kc, err := AuthFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ repo, want string }{
		{"quay.io/org/app", "org:2"},
		{"quay.io/other/app", "reg:1"},
		{"library/busybox", "hub:3"},
		{"ghcr.io/x/y", ""},
	} {
		repo, err := name.NewRepository(tc.repo)
		if err != nil {
			t.Fatal(err)
		}
		a, err := kc.Resolve(repo)
		if err != nil {
			t.Fatal(err)
		}
		cfg, _ := a.Authorization()
		got := ""
		if cfg.Username != "" {
			got = cfg.Username + ":" + cfg.Password
		}
		if got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.repo, got, tc.want)
		}
	}
	if _, err := AuthFile(filepath.Join(t.TempDir(), "nope.json")); err == nil {
		t.Errorf("AuthFile of a missing file: got nil, want an error")
	}
}

func TestStatic(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ok   bool
		user string
	}{
		{"u:p", true, "u"},
		{"u:p:with:colons", true, "u"},
		{"u", false, ""},
		{"u:", false, ""},
		{":p", false, ""},
	} {
		kc, err := Static(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("Static(%q): got %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok {
			repo, _ := name.NewRepository("example.com/a")
			a, _ := kc.Resolve(repo)
			cfg, _ := a.Authorization()
			if cfg.Username != tc.user || !strings.HasPrefix(tc.in, cfg.Username+":"+cfg.Password) {
				t.Errorf("Static(%q): got %+v", tc.in, cfg)
			}
		}
	}
}

// A registry with a private CA is reached with --cert-dir or
// --tls-verify=false, and refused without either.
func TestPrivateCA(t *testing.T) {
	srv := httptest.NewTLSServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "https://")
	ref, err := name.ParseReference(host + "/test/img:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, randomImage(t, 1), remote.WithTransport(srv.Client().Transport)); err != nil {
		t.Fatal(err)
	}
	certDir := t.TempDir()
	write(t, filepath.Join(certDir, "ca.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	emptyDir := t.TempDir()

	ctx := context.Background()
	for _, tc := range []struct {
		name string
		opts []Option
		want string
	}{
		{"system CAs only", nil, "certificate"},
		{"--cert-dir", []Option{WithCertDir(certDir)}, ""},
		{"--tls-verify=false", []Option{WithoutTLSVerify()}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := NewSource(ctx, Location{Kind: Registry, Ref: ref.String()}, append(tc.opts, WithKeychain(staticKeychain{authn.Anonymous}))...)
			if err != nil {
				t.Fatal(err)
			}
			c, err := src.Open(ctx)
			if err == nil {
				err = readAll(c)
				c.Close()
			}
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v, want success", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want an error about the %s", err, tc.want)
			}
		})
	}
	if _, err := NewSource(ctx, Location{Kind: Registry, Ref: ref.String()}, WithCertDir(emptyDir)); err == nil {
		t.Errorf("WithCertDir of an empty directory: got nil, want an error")
	}
	if _, err := NewSource(ctx, Location{Kind: Registry, Ref: ref.String()}, WithCertDir(filepath.Join(emptyDir, "nope"))); err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("WithCertDir of a missing directory: got %v, want not-exist", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}
