// Package slim makes a built container image smaller: it removes what
// the image's program does not need (caches, VCS history, sources, docs,
// build tools, secrets, what the user's patterns name), or copies the
// program with what it needs onto an empty image (Scratch).
//
// It works on go-containerregistry's v1.Image and writes nothing but
// rewritten layer blobs in the work directory: reading the source and
// writing the output are the caller's. The work is a pipeline of phases,
// each with its own files, each handing the next what it found:
//
//	scan      scan.go, scan_spool.go,   every layer's headers, read once,
//	          scan_content.go,          several layers at once; the tars
//	          scan_secrets.go           spooled; contents read back on demand;
//	                                    the text files scanned for secrets
//	overlay   overlay.go, overlay_fs.go the one visible-filesystem model
//	                                    (whiteouts, opaque markers), and the
//	                                    FS the format readers (elfdeps,
//	                                    runtimes) read through
//	protect   protect.go, protect_app.go what the program needs: its
//	                                    entrypoint, ELF closure, runtime
//	                                    trees, and the files every program
//	                                    needs
//	sets      sets.go, set_*.go         the built-in rule sets, each a
//	                                    selection of paths (and package
//	                                    database edits) to remove
//	decide    decide.go, user.go,       per-layer edits, a pure function of
//	          budget.go                 the scan, the selections and the
//	                                    protections: hardlink targets,
//	                                    parent directories, whiteouts, the
//	                                    user; a size budget checked from them
//	build     build.go, build_image.go  the layers rewritten, imgslim's own
//	                                    layer, the image assembled
//	report    report.go, report_build.go what was removed and why, built
//	          verify.go                 from the decisions and the build;
//	                                    the output checked against it
//
// Image (image.go) runs them all for one image, Index (index.go) for
// every platform of an index, DryRun and PlanIndex stop before build,
// Analyze (analyze.go) reports what the sets would remove, and Scratch
// (scratch*.go) is its own flow over the same scan, overlay, protect and
// sets, copying the program's closure onto an empty image. Each entry
// point takes its own option set (options.go): Option, ScratchOption,
// AnalyzeOption.
//
// The format readers below it know no images: elfdeps (ELF closures),
// runtimes (interpreters' run-time files), dpkg, apk and npm (package
// databases), secrets (secrets by content), fsdiff (the output check).
package slim
