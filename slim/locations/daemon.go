package locations

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/moby/moby/client"
)

// A daemon location: docker-daemon:REF.

// DaemonClient is the part of the Docker Engine API the daemon locations
// use. *client.Client of github.com/moby/moby/client satisfies it.
type DaemonClient interface {
	ImageInspect(ctx context.Context, image string, _ ...client.ImageInspectOption) (client.ImageInspectResult, error)
	ImageSave(ctx context.Context, images []string, _ ...client.ImageSaveOption) (client.ImageSaveResult, error)
	ImageLoad(ctx context.Context, input io.Reader, _ ...client.ImageLoadOption) (client.ImageLoadResult, error)
	ImageTag(ctx context.Context, options client.ImageTagOptions) (client.ImageTagResult, error)
}

// daemonClient gives the injected client, or one configured from the
// environment as the docker CLI's is.
func (o *options) daemonClient() (DaemonClient, error) {
	if o.daemon != nil {
		return o.daemon, nil
	}
	c, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("connecting to the docker daemon: %w", err)
	}
	// One client serves every later call: it holds no more than an
	// idle HTTP connection.
	o.daemon = c
	return c, nil
}

type daemonSource struct {
	loc Location
	o   *options
}

func (s *daemonSource) Location() Location { return s.loc }

// Open saves the image from the daemon into a file once and reads it as a
// docker-archive: ggcr's daemon.Image would rebuild the config from the
// API (losing history) and compress every layer to compute digests.
func (s *daemonSource) Open(ctx context.Context) (*Contents, error) {
	ref, err := s.o.parseRef(s.loc.Ref)
	if err != nil {
		return nil, err
	}
	c, err := s.o.daemonClient()
	if err != nil {
		return nil, err
	}
	if _, err := c.ImageInspect(ctx, ref.Name()); err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.loc, err)
	}
	rc, err := c.ImageSave(ctx, []string{ref.Name()})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.loc, err)
	}
	defer rc.Close()
	f, err := os.CreateTemp(s.o.workDir, "docker-save-*.tar")
	if err != nil {
		return nil, err
	}
	out := &Contents{}
	out.onClose(func() error { return os.Remove(f.Name()) })
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		out.Close()
		return nil, fmt.Errorf("reading %s: %w", s.loc, err)
	}
	if err := f.Close(); err != nil {
		out.Close()
		return nil, err
	}
	img, closer, err := openArchive(f.Name(), "")
	if err != nil {
		out.Close()
		return nil, fmt.Errorf("reading %s: %w", s.loc, err)
	}
	out.onClose(closerFunc(closer))
	if err := s.o.checkPlatform(img, s.loc); err != nil {
		out.Close()
		return nil, err
	}
	out.Image = img
	return out, nil
}

type daemonTarget struct {
	loc Location
	o   *options
	tag name.Tag
}

func (t *daemonTarget) Location() Location       { return t.loc }
func (t *daemonTarget) Accepts(index bool) error { return onePlatform(t.loc, index) }

// Check asks nothing: the daemon says whether it can load an image only
// when it is sent one, and a client that cannot reach it fails at once.
func (t *daemonTarget) Check(context.Context) error {
	_, err := t.o.daemonClient()
	return err
}

func (t *daemonTarget) WriteIndex(context.Context, v1.ImageIndex) error {
	return onePlatform(t.loc, true)
}

// WriteImage loads img into the daemon, which tags it only once it has
// loaded it whole. An image the daemon already holds (same image ID) is
// only tagged.
func (t *daemonTarget) WriteImage(ctx context.Context, img v1.Image) error {
	c, err := t.o.daemonClient()
	if err != nil {
		return err
	}
	id, err := img.ConfigName()
	if err != nil {
		return fmt.Errorf("computing image ID: %w", err)
	}
	if _, err := c.ImageInspect(ctx, id.String()); err == nil {
		_, err = c.ImageTag(ctx, client.ImageTagOptions{Source: id.String(), Target: t.tag.String()})
		return err
	}
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(tarball.Write(t.tag, img, pw))
	}()
	resp, err := c.ImageLoad(ctx, pr, client.ImageLoadWithQuiet(false))
	if err != nil {
		pr.CloseWithError(err)
		return fmt.Errorf("loading into the daemon: %w", err)
	}
	defer resp.Close()
	if err := loadResult(resp); err != nil {
		pr.CloseWithError(err)
		return fmt.Errorf("loading into the daemon: %w", err)
	}
	return nil
}

// loadResult reads the daemon's answer to a load: a stream of JSON
// messages, where a failure is a message holding an error, not an HTTP
// status.
func loadResult(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var m struct {
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the daemon's answer: %w", err)
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return errors.New(m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
	}
}
