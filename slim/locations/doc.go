// Package locations reads and writes container images wherever skopeo
// could: a registry, the Docker daemon, a docker-archive (what `docker
// save` writes), an OCI image layout and an oci-archive (a tar of a
// layout).
//
// A [Location] is the parsed form of a location argument. [NewSource]
// turns one into a [Source], which opens the image (or index) as a
// go-containerregistry v1.Image or v1.ImageIndex; [NewTarget] turns one into
// a [Target], which stores the result. Each kind lives in a file of its own
// (registry.go, daemon.go, dockerarchive.go, layout.go, ociarchive.go).
//
// Every blob that is read is checked against the digest that names it
// before it is used, and nothing appears at a target until the whole image
// is there: files and layouts are written under a temporary name and
// renamed, a registry tag is pushed after every blob, and the daemon tags
// an image only once it has loaded it whole.
//
// The package prints nothing and reads no flags: the caller passes
// [Option]s. The daemon is reached through a [DaemonClient], which tests
// replace with [WithDockerClient].
package locations
