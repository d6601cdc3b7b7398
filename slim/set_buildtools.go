package slim

// buildToolsSet removes the build toolchain: the Go toolchain and module
// trees, node-gyp's headers, and, through the package database purge
// (set_purge.go), the compiler packages with what only they needed.
type buildToolsSet struct{}

func (buildToolsSet) choose(p *Plan) (*selection, error) {
	pats := []string{"usr/local/go"}
	pats = append(pats, p.app.homePatterns("go", ".node-gyp", ".cache/node-gyp")...)
	return patternSelection(SetBuildTools, pats)
}
