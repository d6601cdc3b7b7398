package elfdeps

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// shebangBuf is the kernel's BINPRM_BUF_SIZE: the bytes of a file that
// binfmt_script looks at.
const shebangBuf = 256

// parseShebang parses a "#!" line as Linux's binfmt_script does: within the
// first 256 bytes, spaces and tabs around the interpreter, at most one
// argument holding everything after it, a NUL ending either. ok is false
// for a file that is not a script; a script the kernel would refuse
// (no interpreter, an interpreter name cut by the 256-byte limit) returns
// an error.
func parseShebang(head []byte) (interp, arg string, ok bool, err error) {
	if len(head) < 2 || head[0] != '#' || head[1] != '!' {
		return "", "", false, nil
	}
	var buf [shebangBuf]byte // zero-padded, as the kernel's buffer is
	copy(buf[:], head)
	isSpaceTab := func(c byte) bool { return c == ' ' || c == '\t' }
	isTerm := func(c byte) bool { return c == ' ' || c == '\t' || c == 0 }
	end := bytes.IndexByte(buf[:], '\n')
	if end < 0 {
		last := shebangBuf - 1 // the kernel keeps the last byte for a NUL
		i := 2
		for i < last && isSpaceTab(buf[i]) {
			i++
		}
		if i == last {
			return "", "", true, errors.New("#! line holds no interpreter")
		}
		for i < last && !isTerm(buf[i]) {
			i++
		}
		if i == last {
			return "", "", true, errors.New("#! line too long: the interpreter path is cut at 256 bytes")
		}
		end = last
	}
	for end > 2 && isSpaceTab(buf[end-1]) {
		end--
	}
	line := buf[2:end]
	name := bytes.TrimLeft(line, " \t")
	if len(name) == 0 {
		return "", "", true, errors.New("#! line holds no interpreter")
	}
	sep := bytes.IndexFunc(name, func(r rune) bool { return r == ' ' || r == '\t' || r == 0 })
	if sep < 0 {
		return string(name), "", true, nil
	}
	interp = string(name[:sep])
	if name[sep] != 0 {
		a := bytes.TrimLeft(name[sep:], " \t")
		if n := bytes.IndexByte(a, 0); n >= 0 {
			a = a[:n]
		}
		arg = string(a)
	}
	if interp == "" {
		return "", "", true, errors.New("#! line holds no interpreter")
	}
	return interp, arg, true, nil
}

// envCommand returns the command that "#!/usr/bin/env ARG" runs: ARG is one
// word unless it starts with -S (--split-string), which env splits on
// spaces; options and NAME=VALUE words before the command are skipped.
// It returns "" when env is given no command.
func envCommand(arg string) string {
	var words []string
	switch {
	case strings.HasPrefix(arg, "--split-string"):
		words = strings.Fields(strings.TrimPrefix(strings.TrimPrefix(arg, "--split-string"), "="))
	case strings.HasPrefix(arg, "-") && !strings.HasPrefix(arg, "--"):
		// An option cluster ("-S cmd", "-iS cmd"): with S in it, env
		// splits what follows; without, env runs no command.
		i := strings.IndexByte(arg, 'S')
		if i < 0 {
			return ""
		}
		words = strings.Fields(arg[i+1:])
	default:
		words = []string{arg}
	}
	for i := 0; i < len(words); i++ {
		w := words[i]
		switch {
		case w == "--":
			if i+1 < len(words) {
				return words[i+1]
			}
			return ""
		case w == "-u" || w == "-C" || w == "--unset" || w == "--chdir":
			i++ // takes the next word
		case strings.HasPrefix(w, "-"):
		case strings.Contains(w, "="):
		default:
			return w
		}
	}
	return ""
}

// defaultPath is the PATH Docker gives a container whose image sets none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// getenv returns the last value of key in env, as a process sees it.
func getenv(env []string, key string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// LookPath resolves argv[0] of a container the way the runtime's exec does,
// through the PATH of env (Docker's default PATH when env has none),
// inside the image: the first PATH directory holding a regular file of
// that name with an execute bit wins. Relative PATH entries, which depend
// on the working directory, are skipped. A file with a slash is checked as
// it is, and must be absolute: join a relative one to the image's working
// directory first. The result is the path exec runs, before symlinks.
func LookPath(fsys FS, file string, env []string) (string, error) {
	if file == "" {
		return "", errors.New("looking up an empty command name")
	}
	if strings.Contains(file, "/") {
		if !strings.HasPrefix(file, "/") {
			return "", fmt.Errorf("command %s is relative to the working directory: join it to the image's WorkingDir first", file)
		}
		if err := executable(fsys, file); err != nil {
			return "", fmt.Errorf("command %s: %w", file, err)
		}
		return file, nil
	}
	p, ok := getenv(env, "PATH")
	if !ok {
		p = defaultPath
	}
	for _, dir := range strings.Split(p, ":") {
		if !strings.HasPrefix(dir, "/") {
			continue
		}
		cand := path.Join(dir, file)
		if err := executable(fsys, cand); err == nil {
			return cand, nil
		} else if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrPermission) && !errors.Is(err, errNotFile) {
			return "", fmt.Errorf("looking up %s: %w", file, err)
		}
	}
	return "", fmt.Errorf("command %s: not found in PATH %s: %w", file, p, fs.ErrNotExist)
}

var errNotFile = errors.New("not a regular file")

// executable checks that name resolves to a regular file with an execute
// bit.
func executable(fsys FS, name string) error {
	_, _, fi, err := walk(fsys, name)
	if err != nil {
		if isLookupFailure(err) {
			return fs.ErrNotExist
		}
		return err
	}
	if !fi.Mode().IsRegular() {
		return errNotFile
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return fs.ErrPermission
	}
	return nil
}
