// Package layers reads and rewrites OCI image layers as streams of tar
// entries.
//
// A layer is never held whole in memory: Scan reads the headers of a layer
// and discards the file contents, and Rewrite streams a layer through a tar
// reader and writer into a compressed blob on disk, hashing the compressed
// and uncompressed bytes as it goes so the result needs no second pass.
//
// Paths are compared in one form everywhere: absolute, cleaned, without a
// trailing slash ("/app/.git/HEAD"), whatever form the archive used
// ("./app/.git/HEAD", "app/.git/HEAD").
//
// Whiteouts follow the OCI image spec, "Representing Changes":
// https://github.com/opencontainers/image-spec/blob/main/layer.md#whiteouts
package layers
