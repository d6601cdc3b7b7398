package main

import (
	"context"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/client"

	"github.com/imgslim/imgslim/slim/locations"
)

// writtenDigest is the digest that names what was written at dst, the one
// --digest-file holds and the last stdout line ends with:
//
//   - a registry, an OCI layout or oci-archive: the manifest digest, or the
//     index digest for a multi-platform output: what the registry serves
//     for the tag, what index.json points at;
//   - the daemon: the image ID the daemon gives the loaded image (docker
//     inspect's .Id, what docker build --iidfile writes): the daemon keeps
//     no manifest of its own for a loaded image on the classic store, and
//     on the containerd store its ID is the digest it stored;
//   - a docker-archive: the image ID, sha256 of the config, as docker load
//     names it: a docker save tarball stores no manifest digest.
func writtenDigest(ctx context.Context, dst locations.Location, img v1.Image, idx v1.ImageIndex) (string, error) {
	var (
		d   v1.Hash
		err error
	)
	switch {
	case idx != nil:
		d, err = idx.Digest()
	case dst.Kind == locations.Daemon:
		return daemonImageID(ctx, dst.Ref)
	case dst.Kind == locations.DockerArchive:
		d, err = img.ConfigName()
	default:
		d, err = img.Digest()
	}
	if err != nil {
		return "", fmt.Errorf("computing the digest of %s: %w", dst, err)
	}
	return d.String(), nil
}

// daemonImageID asks the daemon for the ID of the image it now holds
// under ref.
func daemonImageID(ctx context.Context, ref string) (string, error) {
	c, err := client.New(client.FromEnv)
	if err != nil {
		return "", fmt.Errorf("asking the daemon for the image ID of %s: %w", ref, err)
	}
	defer c.Close()
	r, err := c.ImageInspect(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("asking the daemon for the image ID of %s: %w", ref, err)
	}
	return r.ID, nil
}

// pinned is the line a script reads the output by: TARGET@DIGEST. A
// registry target is a plain reference (name:tag@sha256:...), which
// docker, crane and cosign take as they are; the other kinds keep their
// transport.
func pinned(dst locations.Location, digest string) string {
	if dst.Kind == locations.Registry {
		return dst.Ref + "@" + digest
	}
	return dst.String() + "@" + digest
}

// checkWritable finds out, before any work, that path cannot be written,
// rather than fail with the target written.
func checkWritable(flag, path string) error {
	// A device, a directory or a symlink to one is refused as the write
	// would refuse it, but now, before the target is written.
	if err := locations.CheckFile(path); err != nil {
		return fmt.Errorf("cannot write %s %s: %w", flag, path, err)
	}
	return nil
}

// publish writes --digest-file and prints the TARGET@DIGEST line, last on
// stdout. The file holds the digest alone, no newline, as skopeo's
// --digestfile and docker's --iidfile.
func publish(c config, dst locations.Location, digest string, stdout io.Writer) error {
	if c.digestFile != "" {
		err := locations.WriteFile(c.digestFile, func(w io.Writer) error {
			_, err := io.WriteString(w, digest)
			return err
		})
		if err != nil {
			return fmt.Errorf("writing --digest-file %s: %w", c.digestFile, err)
		}
	}
	_, err := fmt.Fprintln(stdout, pinned(dst, digest))
	return err
}
