package main

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/imgslim/imgslim/slim"
	"github.com/imgslim/imgslim/slim/locations"
)

// Annotations the output gets (OCI image spec, annotations.md), and the
// one that says imgslim made it.
const (
	annotationCreated    = "org.opencontainers.image.created"
	annotationBaseName   = "org.opencontainers.image.base.name"
	annotationBaseDigest = "org.opencontainers.image.base.digest"
	annotationImgslim    = "dev.imgslim.slimmed"
)

// keyValue is one K=V of --label, --annotation or --env, in flag order.
type keyValue struct{ key, value string }

// envName is what a shell takes as a variable name: Env entries are read
// by shells (sh -c, entrypoint scripts), and a name they cannot export is
// a typo.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// parseKeyValues reads K=V values of flag. A key is not empty and holds
// no '=', no control characters; an env name is a shell variable name.
func parseKeyValues(flag string, vals []string, env bool) ([]keyValue, error) {
	var out []keyValue
	for _, v := range vals {
		k, val, ok := strings.Cut(v, "=")
		if err := checkKey(flag, k, env); err != nil {
			return nil, err
		}
		if !ok {
			return nil, usagef("bad %s %q: want KEY=VALUE", flag, v)
		}
		if strings.ContainsRune(val, 0) {
			return nil, usagef("bad %s %q: the value holds a NUL byte", flag, v)
		}
		out = append(out, keyValue{k, val})
	}
	return out, nil
}

func checkKey(flag, k string, env bool) error {
	switch {
	case k == "":
		return usagef("bad %s: empty key", flag)
	case env && !envName.MatchString(k):
		return usagef("bad %s %q: not a variable name (letters, digits and _, not starting with a digit)", flag, k)
	case strings.IndexFunc(k, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		return usagef("bad %s %q: control character in the key", flag, k)
	}
	return nil
}

// created is the output's creation time: SOURCE_DATE_EPOCH when set (the
// reproducible-builds convention: the same input then gives the same
// digest), else now. The source's own time would claim the slimmed image
// is as old as its source.
func created(now time.Time) (time.Time, error) {
	v, ok := os.LookupEnv("SOURCE_DATE_EPOCH")
	if !ok || v == "" {
		return now.UTC().Truncate(time.Second), nil
	}
	sec, err := strconv.ParseInt(v, 10, 64)
	if err != nil || sec < 0 || sec > 253402300799 { // up to 9999-12-31
		return time.Time{}, usagef("bad SOURCE_DATE_EPOCH %q: want seconds since 1970", v)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// metadata is what the output gets beside its filesystem.
type metadata struct {
	created     time.Time
	labels      []keyValue
	env         []keyValue
	unsetEnv    []string
	annotations map[string]string // the output's manifest or index
}

// newMetadata gathers the metadata flags, checked, and the annotations
// naming the source.
func newMetadata(c config, src locations.Location, srcDigest string, now time.Time) (*metadata, error) {
	m := &metadata{annotations: map[string]string{}}
	var err error
	if m.created, err = created(now); err != nil {
		return nil, err
	}
	if m.labels, err = parseKeyValues("--label", c.labels, false); err != nil {
		return nil, err
	}
	if m.env, err = parseKeyValues("--env", c.env, true); err != nil {
		return nil, err
	}
	for _, k := range c.unsetEnv {
		if err := checkKey("--unset-env", k, true); err != nil {
			return nil, err
		}
	}
	m.unsetEnv = c.unsetEnv
	anns, err := parseKeyValues("--annotation", c.annotations, false)
	if err != nil {
		return nil, err
	}
	m.annotations[annotationCreated] = m.created.Format(time.RFC3339)
	m.annotations[annotationBaseName] = baseName(src)
	if srcDigest != "" {
		m.annotations[annotationBaseDigest] = srcDigest
	}
	m.annotations[annotationImgslim] = describe(c)
	// The user's own come last: they may override any of the above.
	for _, a := range anns {
		m.annotations[a.key] = a.value
	}
	return m, nil
}

// baseName names the source as a reference when it is one (registry,
// daemon), else as the location imgslim read.
func baseName(l locations.Location) string {
	switch l.Kind {
	case locations.Registry, locations.Daemon, locations.Bare:
		return l.Ref
	}
	return l.String()
}

// config applies the config edits to cf, a copy.
func (m *metadata) config(cf *v1.ConfigFile) (warnings []string) {
	cf.Created = v1.Time{Time: m.created}
	// imgslim's own history entry names its version already: slimming's
	// through WithDescription, --scratch's through WithVersion.
	if len(m.labels) > 0 && cf.Config.Labels == nil {
		cf.Config.Labels = map[string]string{}
	}
	for _, l := range m.labels {
		cf.Config.Labels[l.key] = l.value
	}
	for _, k := range m.unsetEnv {
		n := len(cf.Config.Env)
		cf.Config.Env = removeEnv(cf.Config.Env, k)
		if len(cf.Config.Env) == n {
			warnings = append(warnings, fmt.Sprintf("--unset-env %s: the image sets no such variable", k))
		}
	}
	for _, e := range m.env {
		cf.Config.Env = append(removeEnv(cf.Config.Env, e.key), e.key+"="+e.value)
	}
	return warnings
}

func removeEnv(env []string, key string) []string {
	var out []string
	for _, e := range env {
		if k, _, _ := strings.Cut(e, "="); k != key {
			out = append(out, e)
		}
	}
	return out
}

// image gives img with the config edits and, when top, the annotations;
// the manifest annotations img already has (the source's) are kept.
func (m *metadata) image(img v1.Image, top bool, warnf func(string)) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	for _, w := range m.config(cf) {
		warnf(w)
	}
	out, err := mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	if !top {
		return out, nil
	}
	return mutate.Annotations(out, m.annotations).(v1.Image), nil
}

// index gives idx with every platform image edited as image does, the
// other entries as they are, and the annotations on the index: the source
// index's, which slim does not carry, and the ones added.
func (m *metadata) index(src, idx v1.ImageIndex, warnf func(string)) (v1.ImageIndex, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	out := mutate.IndexMediaType(empty.Index, im.MediaType)
	for _, d := range im.Manifests {
		add := mutate.IndexAddendum{Descriptor: v1.Descriptor{MediaType: d.MediaType, Platform: d.Platform, Annotations: d.Annotations}}
		switch {
		case d.MediaType.IsImage():
			img, err := idx.Image(d.Digest)
			if err != nil {
				return nil, err
			}
			if add.Add, err = m.image(img, false, warnf); err != nil {
				return nil, err
			}
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, err
			}
			if add.Add, err = m.index(nil, child, warnf); err != nil {
				return nil, err
			}
		default:
			continue
		}
		out = mutate.AppendManifests(out, add)
	}
	if src == nil {
		return out, nil
	}
	anns := map[string]string{}
	if sm, err := src.IndexManifest(); err == nil {
		for k, v := range sm.Annotations {
			anns[k] = v
		}
	}
	for k, v := range m.annotations {
		anns[k] = v
	}
	return mutate.Annotations(out, anns).(v1.ImageIndex), nil
}

// sourceAnnotations are the manifest annotations of src, which a scratch
// image (built on an empty one) would otherwise lose.
func sourceAnnotations(src v1.Image) map[string]string {
	m, err := src.Manifest()
	if err != nil || m == nil {
		return nil
	}
	return m.Annotations
}

// withSourceAnnotations returns m's annotations under the source's.
func (m *metadata) withSourceAnnotations(src map[string]string) *metadata {
	out := *m
	out.annotations = map[string]string{}
	for k, v := range src {
		out.annotations[k] = v
	}
	for k, v := range m.annotations {
		out.annotations[k] = v
	}
	return &out
}

// digestOf is the digest of img or idx, for the report.
func digestOf(img v1.Image, idx v1.ImageIndex) string {
	var (
		d   v1.Hash
		err error
	)
	if idx != nil {
		d, err = idx.Digest()
	} else {
		d, err = img.Digest()
	}
	if err != nil {
		return ""
	}
	return d.String()
}

// platformDigests maps the platform of each image of idx to its digest,
// so the per-platform reports name the images as written.
func platformDigests(idx v1.ImageIndex) map[string]string {
	out := map[string]string{}
	im, err := idx.IndexManifest()
	if err != nil {
		return out
	}
	for _, d := range im.Manifests {
		if d.Platform != nil && d.MediaType.IsImage() {
			out[d.Platform.String()] = d.Digest.String()
		}
	}
	return out
}

// settle marks the config secrets that --unset-env took out of the output
// as removed: the report says what the output holds.
func (m *metadata) settle(r *slim.Report) {
	for i, s := range r.Secrets {
		if s.Location == slim.SecretInConfig && slices.Contains(m.unsetEnv, s.Key) {
			r.Secrets[i].Status = slim.SecretRemoved
		}
	}
}
