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

// visibleFile returns the content of the topmost copy of an account file
// in the filesystem v presents, whiteouts and opaque markers applied as
// the overlay applies them, in any archive order; nil when there is none.
func visibleFile(v *view, ls []*layerPlan, get func(*layerPlan) *captured, name string) []byte {
	n, ok := v.lookup(name)
	if !ok || n.typ != tar.TypeReg {
		return nil
	}
	if c := get(ls[n.layer]); c != nil {
		return c.data
	}
	return nil
}

// decideUser works out whom the output runs as, from --user (want), the
// source's User (current) and the account files the output keeps: the
// account (nil for root), whether the config's User changes, and a
// warning when it runs as root by request.
func decideUser(want, current string, chown bool, passwd, group []byte) (_ *account, setUser bool, warning string, _ error) {
	if name, _, _ := strings.Cut(want, ":"); want != "" && name == "" {
		return nil, false, "", fmt.Errorf("bad user %q: empty name", want)
	}
	setUser = true
	switch {
	case want == "" && !isRoot(current):
		// Already non-root: the user stays, resolved only to know whom
		// --chown hands trees to.
		want, setUser = current, false
	case want == "":
		want = nonrootName
	case isRoot(want):
		warning = "the output runs as root (--user root)"
		// Root needs no passwd line, but the User still changes when the
		// image ran as someone else or a group is asked for (0:GID).
		_, g, hasGID := strings.Cut(want, ":")
		if isRoot(current) && !hasGID {
			return nil, false, warning, nil
		}
		root := &account{name: "root", home: "/root"}
		if !hasGID {
			return root, true, warning, nil
		}
		gid, err := groupID(g, group)
		if err != nil {
			return nil, false, "", fmt.Errorf("bad user %q: %w", want, err)
		}
		root.gid = gid
		return root, true, warning, nil
	}
	if !setUser {
		a := lookupUser(current, passwd)
		if a == nil && chown {
			return nil, false, "", fmt.Errorf("--chown: the image's user %q is not in /etc/passwd", current)
		}
		return a, false, "", nil
	}
	a, err := resolveUser(want, passwd, group)
	if err != nil {
		return nil, false, "", err
	}
	return a, true, "", nil
}
