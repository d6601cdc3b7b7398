package slim

import (
	"archive/tar"
	"fmt"
	"strconv"
	"strings"
)

// The distroless non-root user: https://github.com/GoogleContainerTools/distroless
const (
	nonrootName = "nonroot"
	nonrootID   = 65532
)

// account is one resolved user.
type account struct {
	name     string
	uid, gid int
	home     string
	// passwd and group are the new contents of /etc/passwd and /etc/group
	// when the user had to be added; nil when the image already has it.
	passwd, group []byte
}

// isRoot reports whether a config User runs as root. Docker treats an
// empty User as root, and "0", "root", "0:0", "root:root" all are.
func isRoot(user string) bool {
	name, _, _ := strings.Cut(user, ":")
	return name == "" || name == "0" || name == "root"
}

type passwdEntry struct {
	name     string
	uid, gid int
	home     string
}

func parsePasswd(b []byte) []passwdEntry {
	var out []passwdEntry
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) < 7 {
			continue
		}
		uid, err1 := strconv.Atoi(f[2])
		gid, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, passwdEntry{name: f[0], uid: uid, gid: gid, home: f[5]})
	}
	return out
}

type groupEntry struct {
	name string
	gid  int
}

func parseGroup(b []byte) []groupEntry {
	var out []groupEntry
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) < 3 {
			continue
		}
		gid, err := strconv.Atoi(f[2])
		if err != nil {
			continue
		}
		out = append(out, groupEntry{name: f[0], gid: gid})
	}
	return out
}

// resolveUser finds or creates the account for want (NAME, UID or
// UID:GID) given the image's /etc/passwd and /etc/group (nil when absent).
func resolveUser(want string, passwd, group []byte) (*account, error) {
	nameOrUID, gidStr, hasGID := strings.Cut(want, ":")
	if nameOrUID == "" {
		return nil, fmt.Errorf("bad user %q: empty name", want)
	}
	wantGID := -1
	if hasGID {
		g, err := strconv.Atoi(gidStr)
		if err != nil || g < 0 {
			// A group name: look it up.
			g = -1
			for _, e := range parseGroup(group) {
				if e.name == gidStr {
					g = e.gid
				}
			}
			if g < 0 {
				return nil, fmt.Errorf("bad user %q: group %q is not in /etc/group", want, gidStr)
			}
		}
		wantGID = g
	}
	wantUID, err := strconv.Atoi(nameOrUID)
	numeric := err == nil
	if numeric && wantUID < 0 {
		return nil, fmt.Errorf("bad user %q: negative uid", want)
	}

	users := parsePasswd(passwd)
	for _, u := range users {
		if (numeric && u.uid == wantUID) || (!numeric && u.name == nameOrUID) {
			gid := u.gid
			if wantGID >= 0 {
				gid = wantGID
			}
			return &account{name: u.name, uid: u.uid, gid: gid, home: u.home}, nil
		}
	}

	// Not there: add it, as `useradd` would, with a home under /home. An
	// image without the files gets root's lines too, as distroless has.
	if len(passwd) == 0 {
		passwd = []byte("root:x:0:0:root:/root:/sbin/nologin\n")
	}
	if len(group) == 0 {
		group = []byte("root:x:0:\n")
	}
	a := &account{name: nameOrUID}
	if numeric {
		a.uid = wantUID
		a.name = nonrootName
		if wantUID != nonrootID || taken(users, nonrootName) {
			a.name = "u" + nameOrUID
		}
	} else {
		a.uid = nonrootID
		for uidTaken(users, a.uid) {
			a.uid++
		}
	}
	a.gid = a.uid
	if wantGID >= 0 {
		a.gid = wantGID
	}
	a.home = "/home/" + a.name
	a.passwd = appendLine(passwd, fmt.Sprintf("%s:x:%d:%d:%s:%s:/sbin/nologin", a.name, a.uid, a.gid, a.name, a.home))
	a.group = group
	if !gidTaken(parseGroup(group), a.gid) {
		a.group = appendLine(group, fmt.Sprintf("%s:x:%d:", a.name, a.gid))
	}
	return a, nil
}

func taken(users []passwdEntry, name string) bool {
	for _, u := range users {
		if u.name == name {
			return true
		}
	}
	return false
}

func uidTaken(users []passwdEntry, uid int) bool {
	for _, u := range users {
		if u.uid == uid {
			return true
		}
	}
	return false
}

func gidTaken(groups []groupEntry, gid int) bool {
	for _, g := range groups {
		if g.gid == gid {
			return true
		}
	}
	return false
}

func appendLine(b []byte, line string) []byte {
	out := append([]byte(nil), b...)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return append(out, line+"\n"...)
}

// lookupUser finds the account a config User names without adding one: a
// numeric user needs no /etc/passwd line to run. It returns nil when a named
// user is missing.
func lookupUser(user string, passwd []byte) *account {
	nameOrUID, gidStr, hasGID := strings.Cut(user, ":")
	uid, err := strconv.Atoi(nameOrUID)
	numeric := err == nil
	var a *account
	for _, u := range parsePasswd(passwd) {
		if (numeric && u.uid == uid) || (!numeric && u.name == nameOrUID) {
			a = &account{name: u.name, uid: u.uid, gid: u.gid, home: u.home}
			break
		}
	}
	if a == nil && numeric {
		a = &account{name: nameOrUID, uid: uid, gid: uid}
	}
	if a != nil && hasGID {
		if g, err := strconv.Atoi(gidStr); err == nil {
			a.gid = g
		}
	}
	return a
}

// groupID resolves a GID or a group name of /etc/group.
func groupID(g string, group []byte) (int, error) {
	if n, err := strconv.Atoi(g); err == nil && n >= 0 {
		return n, nil
	}
	for _, e := range parseGroup(group) {
		if e.name == g {
			return e.gid, nil
		}
	}
	return 0, fmt.Errorf("group %q is not in /etc/group", g)
}

// visible returns the topmost copy of an account file in the filesystem
// the output presents: the overlay of what the plan keeps, whiteouts and
// opaque markers applied as newView applies them, in any archive order.
func (p *Plan) visible(get func(*layerPlan) *captured, name string) *captured {
	v := p.kept
	if v == nil {
		v = p.view // not decided yet: the source's
	}
	n, ok := v.lookup(name)
	if !ok || n.typ != tar.TypeReg {
		return nil
	}
	return get(p.layers[n.layer])
}

func (p *Plan) decideUser() error {
	current := p.cfg.Config.User
	want := p.o.user
	if name, _, _ := strings.Cut(want, ":"); want != "" && name == "" {
		return fmt.Errorf("bad user %q: empty name", want)
	}
	p.setUser = true
	switch {
	case want == "" && !isRoot(current):
		// Already non-root: the user stays, resolved only to know whom
		// --chown hands trees to.
		want, p.setUser = current, false
	case want == "":
		want = nonrootName
	case isRoot(want):
		p.warnings = append(p.warnings, "the output runs as root (--user root)")
		// Root needs no passwd line, but the User still changes when the
		// image ran as someone else or a group is asked for (0:GID).
		_, g, hasGID := strings.Cut(want, ":")
		if isRoot(current) && !hasGID {
			p.setUser = false
			return nil
		}
		p.user = &account{name: "root", home: "/root"}
		if !hasGID {
			return nil
		}
		var group []byte
		if c := p.visible(func(lp *layerPlan) *captured { return lp.group }, "/etc/group"); c != nil {
			group = c.data
		}
		gid, err := groupID(g, group)
		if err != nil {
			return fmt.Errorf("bad user %q: %w", want, err)
		}
		p.user.gid = gid
		return nil
	}
	var passwd, group []byte
	if c := p.visible(func(lp *layerPlan) *captured { return lp.passwd }, "/etc/passwd"); c != nil {
		passwd = c.data
	}
	if c := p.visible(func(lp *layerPlan) *captured { return lp.group }, "/etc/group"); c != nil {
		group = c.data
	}
	if !p.setUser {
		p.user = lookupUser(current, passwd)
		if p.user == nil && len(p.o.chown) > 0 {
			return fmt.Errorf("--chown: the image's user %q is not in /etc/passwd", current)
		}
		return nil
	}
	a, err := resolveUser(want, passwd, group)
	if err != nil {
		return err
	}
	p.user = a
	return nil
}

// owner returns the uid and gid the output runs as.
func (p *Plan) owner() (int, int) {
	if p.user != nil {
		return p.user.uid, p.user.gid
	}
	return 0, 0
}
