package slim

// vcsSet removes version control data: .git, .svn and .hg anywhere.
type vcsSet struct{}

func (vcsSet) choose(*Plan) (*selection, error) {
	return patternSelection(SetVCS, []string{"**/.git", "**/.svn", "**/.hg"})
}
